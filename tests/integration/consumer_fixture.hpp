#pragma once

// What the consumer integration tests share: a cluster with one topic, an actor system,
// producing CloudEvents, starting a group consumer under a supervisor, and reading the
// group's committed offsets back. The cluster is the mock one in the integration tier
// and the real TLS cluster in the system tier (testkit::kafka_cluster_fixture), so topic
// and group names are unique per test.

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace phoenix::itest {

using namespace std::chrono_literals;

// Handler calls seen, per event id (duplicates counted), shared with the test thread.
struct seen_log {
  std::mutex mtx;
  std::map<std::string, int> calls;
  std::set<std::string> done;

  void add(std::string_view id, bool finished) {
    std::lock_guard<std::mutex> g{mtx};
    ++calls[std::string(id)];
    if (finished)
      done.insert(std::string(id));
  }
  std::size_t done_count() {
    std::lock_guard<std::mutex> g{mtx};
    return done.size();
  }
};

class group_consumer_test : public testkit::kafka_cluster_fixture {
protected:
  std::string topic;
  std::string group;
  int partitions = 3; // set in a derived fixture's constructor to change
  std::shared_ptr<kafka::consumer_stats> stats = std::make_shared<kafka::consumer_stats>();
  std::shared_ptr<seen_log> seen = std::make_shared<seen_log>();
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor root;

  void SetUp() override {
    kafka_cluster_fixture::SetUp();
    if (HasFatalFailure())
      return;
    topic = unique_name("orders");
    group = unique_name("test-group");
    create_topic(topic, partitions);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
  }

  void TearDown() override {
    stop();
    sys.reset();
    kafka_cluster_fixture::TearDown();
  }

  kafka::group_consumer_config config() {
    kafka::group_consumer_config cfg;
    cfg.properties = client_properties();
    cfg.properties.insert({{"group.id", group},
                           {"session.timeout.ms", "6000"},
                           {"max.poll.interval.ms", "10000"}});
    cfg.origin = "test";
    cfg.commit_interval = 100ms;
    // The mock cluster cannot create topics by request (it has no controller); it
    // creates them on first use.
    cfg.policies.topics.create = real() != nullptr;
    return cfg;
  }

  // Produces events lead-<first> .. lead-<first+n-1>, keyed so they spread on partitions.
  void produce_events(int first, int n) {
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    for (int i = first; i < first + n; ++i) {
      runtime::envelope env;
      env.id = "lead-" + std::to_string(i);
      env.source = "/test";
      env.type = "lead.detected";
      env.payload = "{}";
      ASSERT_TRUE(p->produce(topic, env.id, env.payload, runtime::encode_headers(env)));
    }
    ASSERT_TRUE(p->flush(10s));
    ASSERT_EQ(p->delivered(), static_cast<std::uint64_t>(n));
  }

  void start(kafka::handler handler, kafka::group_consumer_config cfg) {
    root = start_consumer(std::move(handler), std::move(cfg), stats);
  }

  // A consumer of `topic` under its own supervisor (one per simulated node).
  caf::actor start_consumer(kafka::handler handler, kafka::group_consumer_config cfg,
                            std::shared_ptr<kafka::consumer_stats> counters) {
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(kafka::group_consumer_child("consumer", std::move(cfg), {topic},
                                                        std::move(handler), counters));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r ? *r : caf::actor{};
  }

  // Starts a consumer with a handler that does nothing, as a start must fail: the result.
  result<caf::actor> try_start(kafka::group_consumer_config cfg) {
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(kafka::group_consumer_child(
        "consumer", std::move(cfg), {topic},
        [](const runtime::envelope_view&, const kafka::record_view&) {
          return kafka::handler_status::done;
        },
        stats));
    return runtime::start_supervisor(*sys, std::move(spec));
  }

  // Ordered stop of the test's main consumer; returns its exit reason.
  caf::error stop() {
    auto reason = stop(root);
    root = nullptr;
    return reason;
  }

  caf::error stop(const caf::actor& sup) {
    if (!sup)
      return {};
    caf::scoped_actor self{*sys};
    self->monitor(sup);
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::error reason;
    self->receive([&](caf::down_msg& m) { reason = m.reason; },
                  caf::after(30s) >> [&] { ADD_FAILURE() << "stop took over 30 s"; });
    return reason;
  }

  // Waits for a condition the pipeline must reach; the bound only keeps a broken build
  // from hanging, it is not what the test measures.
  template <class Pred>
  bool eventually(Pred pred, std::chrono::seconds bound = 60s) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  // Committed offset per partition of the test group, and each partition's end offset.
  std::map<int, std::pair<std::int64_t, std::int64_t>> committed_and_end() {
    return committed_and_end(group);
  }

  std::map<int, std::pair<std::int64_t, std::int64_t>>
  committed_and_end(const std::string& of_group) {
    namespace rd = kafka::rd;
    auto props = client_properties();
    props["group.id"] = of_group;
    auto conf = rd::make_conf(props, "test");
    EXPECT_TRUE(conf.has_value());
    auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "checker");
    EXPECT_TRUE(rk.has_value());
    rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(partitions)};
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    EXPECT_EQ(rd_kafka_committed(rk->get(), list.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::map<int, std::pair<std::int64_t, std::int64_t>> out;
    for (int i = 0; i < list->cnt; ++i) {
      std::int64_t low = 0, high = 0;
      EXPECT_EQ(
          rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), i, &low, &high, 10000),
          RD_KAFKA_RESP_ERR_NO_ERROR);
      out[list->elems[i].partition] = {list->elems[i].offset, high};
    }
    rd_kafka_consumer_close(rk->get());
    return out;
  }

  void expect_all_committed() { expect_all_committed_for(group); }

  /// True once every partition's committed offset is its end.
  bool all_committed() {
    auto c = committed_and_end();
    return std::all_of(c.begin(), c.end(),
                       [](auto& p) { return p.second.first == p.second.second; });
  }

  void expect_all_committed_for(const std::string& of_group) {
    for (auto& [partition, offsets] : committed_and_end(of_group))
      EXPECT_EQ(offsets.first, offsets.second) << "partition " << partition;
  }
};

// How often each line occurs in a file (consumer_node writes one event id per handling).
inline std::map<std::string, int> count_lines(const std::string& path) {
  std::map<std::string, int> out;
  std::ifstream in{path};
  for (std::string line; std::getline(in, line);)
    ++out[line];
  return out;
}

inline std::size_t total(const std::map<std::string, int>& counts) {
  std::size_t n = 0;
  for (auto& [line, count] : counts)
    n += static_cast<std::size_t>(count);
  return n;
}

inline kafka::handler_status record_done(seen_log& seen,
                                         const runtime::envelope_view& env) {
  seen.add(env.id, true);
  return kafka::handler_status::done;
}

} // namespace phoenix::itest
