// The group consumer's librdkafka consumer (`kafka::consumer_handle`, private to the
// actors module) against the mock cluster: a detached partition keeps what librdkafka
// fetched for it and hands it out in order when attached again, and a partition detached
// when it was revoked is fetched again when it comes back.

#include "kafka/consumer_handle.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace {

namespace kafka = phoenix::kafka;
namespace rd = phoenix::kafka::rd;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct listener : kafka::rebalance_listener {
  std::function<void(const std::vector<kafka::topic_partition>&)> assigned;
  std::vector<kafka::topic_partition> owned;
  void on_assigned(const std::vector<kafka::topic_partition>& tps) override {
    owned.insert(owned.end(), tps.begin(), tps.end());
    if (assigned)
      assigned(tps);
  }
  void on_revoked(const std::vector<kafka::topic_partition>& tps, bool) override {
    for (auto& tp : tps)
      owned.erase(std::remove(owned.begin(), owned.end(), tp), owned.end());
  }
  void on_committed(
      const std::vector<std::pair<kafka::topic_partition, std::int64_t>>&) override {}
};

class consumer_handle_test : public phoenix::testkit::mock_cluster_fixture {
protected:
  // Produces `n` records to `partition` of `topic`, values "<partition>:<i>".
  void produce_n(const std::string& topic, std::int32_t partition, int n) {
    auto conf = rd::make_conf({{"bootstrap.servers", bootstrap()}}, "test producer");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "test producer");
    ASSERT_TRUE(rk) << rk.error().describe();
    for (int i = 0; i < n; ++i) {
      auto value = std::to_string(partition) + ":" + std::to_string(i);
      rd_kafka_vu_t vus[4] = {};
      vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vus[0].u.cstr = topic.c_str();
      vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vus[1].u.i32 = partition;
      vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[2].u.mem = {value.data(), value.size()};
      vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[3].u.i = RD_KAFKA_MSG_F_COPY;
      rd::error_ptr queued{rd_kafka_produceva(rk->get(), vus, 4)};
      ASSERT_EQ(queued, nullptr) << rd_kafka_error_string(queued.get());
    }
    ASSERT_EQ(rd_kafka_flush(rk->get(), 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::unique_ptr<kafka::consumer_handle> open(const std::string& topic,
                                               const std::string& group, listener& l) {
    auto h = kafka::consumer_handle::open({{"bootstrap.servers", bootstrap()},
                                           {"group.id", group},
                                           {"session.timeout.ms", "6000"},
                                           {"max.poll.interval.ms", "10000"}},
                                          "test", {topic}, 1000ms);
    EXPECT_TRUE(h) << h.error().describe();
    if (!h)
      return nullptr;
    (*h)->set_listener(&l);
    return std::move(*h);
  }

  using polled = std::vector<std::vector<rd::message_ptr>>; // per handle, in order

  // Polls every handle (20 ms each) until `done` or `timeout`; what they returned.
  polled poll_until(const std::vector<kafka::consumer_handle*>& handles,
                    const std::function<bool(const polled&)>& done,
                    std::chrono::milliseconds timeout) {
    polled got(handles.size());
    std::vector<rd_kafka_message_t*> batch;
    auto deadline = clock_type::now() + timeout;
    while (!done(got) && clock_type::now() < deadline)
      for (std::size_t i = 0; i < handles.size(); ++i) {
        handles[i]->poll(batch, 100, 20);
        for (auto* m : batch)
          got[i].emplace_back(m);
      }
    return got;
  }
};

std::string value_of(const rd::message_ptr& m) {
  return {static_cast<const char*>(m->payload), m->len};
}

TEST_F(consumer_handle_test,
       a_detached_partition_keeps_its_records_and_hands_them_out_in_order) {
  create_topic("ch.detach", 1);
  ASSERT_NO_FATAL_FAILURE(produce_n("ch.detach", 0, 500));
  const kafka::topic_partition tp{"ch.detach", 0};
  listener l;
  auto h = open("ch.detach", "ch-detach", l);
  ASSERT_TRUE(h);
  l.assigned = [&](const std::vector<kafka::topic_partition>& tps) {
    for (auto& p : tps)
      EXPECT_TRUE(h->detach(p)) << kafka::to_string(p);
  };

  auto before = poll_until(
      {h.get()}, [&](auto&) { return h->detached_records(tp) >= 500; }, 30s);
  // The queue's length counts librdkafka's events for the partition too.
  ASSERT_GE(h->detached_records(tp), 500u) << "librdkafka did not fetch into the own queue";
  EXPECT_TRUE(before[0].empty()) << "a detached partition handed out records";

  h->attach(tp);
  EXPECT_EQ(h->detached_records(tp), 0u);
  auto after = poll_until(
      {h.get()}, [](auto& got) { return got[0].size() >= 500; }, 30s);
  ASSERT_EQ(after[0].size(), 500u);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(after[0][i]->offset, i);
    EXPECT_EQ(value_of(after[0][i]), "0:" + std::to_string(i));
  }
  after.clear();
  h->close();
}

TEST_F(consumer_handle_test,
       a_partition_detached_when_revoked_is_fetched_when_it_comes_back) {
  create_topic("ch.back", 2);
  ASSERT_NO_FATAL_FAILURE(produce_n("ch.back", 0, 10));
  ASSERT_NO_FATAL_FAILURE(produce_n("ch.back", 1, 10));
  listener la;
  auto a = open("ch.back", "ch-back", la);
  ASSERT_TRUE(a);
  bool first = true;
  la.assigned = [&](const std::vector<kafka::topic_partition>& tps) {
    if (first)
      for (auto& p : tps)
        EXPECT_TRUE(a->detach(p)) << kafka::to_string(p);
    first = false;
  };
  auto queued = [&](auto&...) {
    return a->detached_records({"ch.back", 0}) >= 10 &&
           a->detached_records({"ch.back", 1}) >= 10;
  };
  auto got = poll_until({a.get()}, queued, 30s);
  ASSERT_TRUE(queued()) << "both partitions detached and fetched";
  EXPECT_TRUE(got[0].empty());

  // A second member takes one partition away from the first, then leaves: the first
  // gets it back and must see its records, though it detached it in its first life.
  listener lb;
  auto b = open("ch.back", "ch-back", lb);
  ASSERT_TRUE(b);
  got = poll_until(
      {a.get(), b.get()},
      [&](auto&) { return la.owned.size() == 1 && lb.owned.size() == 1; }, 60s);
  ASSERT_EQ(lb.owned.size(), 1u) << "the second member got no partition";
  const auto moved = lb.owned.front();
  got.clear();
  b->close();
  b.reset();
  got = poll_until(
      {a.get()}, [&](auto&) { return la.owned.size() == 2; }, 60s);
  ASSERT_EQ(la.owned.size(), 2u) << "the partition did not come back";
  // It reads on from what the group committed for it (none, or the second member's
  // position), so what it polls must end with the 5 new records and have no gap.
  ASSERT_NO_FATAL_FAILURE(produce_n("ch.back", moved.partition, 5));
  std::size_t others = 0;
  std::vector<std::int64_t> offsets;
  auto note = [&](const rd::message_ptr& m) {
    if (m->partition == moved.partition)
      offsets.push_back(m->offset);
    else
      ++others;
  };
  for (auto& m : got[0])
    note(m);
  auto rest = poll_until(
      {a.get()},
      [&](auto& more) { return !more[0].empty() && more[0].back()->offset >= 14; }, 30s);
  for (auto& m : rest[0])
    note(m);
  ASSERT_FALSE(offsets.empty()) << "no record of the partition that came back";
  EXPECT_EQ(offsets.back(), 14) << "the new records did not arrive";
  EXPECT_LE(offsets.front(), 10);
  for (std::size_t i = 1; i < offsets.size(); ++i)
    EXPECT_EQ(offsets[i], offsets[i - 1] + 1) << "a gap or a repeat at " << i;
  EXPECT_EQ(others, 0u) << "the partition still detached handed out records";
  rest.clear();
  got.clear();
  a->close();
}

} // namespace
