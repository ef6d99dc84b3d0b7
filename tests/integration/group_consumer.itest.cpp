// The group consumer on librdkafka's mock cluster: every record reaches the handler, a
// crashing handler skips nothing, and commits never pass a record that is not done.

#include "phoenix/actors/kafka/group_consumer.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <set>
#include <thread>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

// Handler calls seen, per event id (duplicates counted), shared with the test thread.
struct seen_log {
  std::mutex mtx;
  std::map<std::string, int> calls;
  std::set<std::string> done;

  void add(const std::string& id, bool finished) {
    std::lock_guard<std::mutex> g{mtx};
    ++calls[id];
    if (finished)
      done.insert(id);
  }
  std::size_t done_count() {
    std::lock_guard<std::mutex> g{mtx};
    return done.size();
  }
};

class group_consumer_test : public testkit::mock_cluster_fixture {
protected:
  const std::string topic = "orders";
  std::shared_ptr<kafka::consumer_stats> stats = std::make_shared<kafka::consumer_stats>();
  std::shared_ptr<seen_log> seen = std::make_shared<seen_log>();
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor root;

  void SetUp() override {
    mock_cluster_fixture::SetUp();
    create_topic(topic, 3);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
  }

  void TearDown() override {
    stop();
    sys.reset();
    mock_cluster_fixture::TearDown();
  }

  kafka::group_consumer_config config() {
    kafka::group_consumer_config cfg;
    cfg.properties = {{"bootstrap.servers", bootstrap()},
                      {"group.id", "test-group"},
                      {"session.timeout.ms", "6000"},
                      {"max.poll.interval.ms", "10000"}};
    cfg.origin = "test";
    cfg.commit_interval = 100ms;
    return cfg;
  }

  // Produces events lead-<first> .. lead-<first+n-1>, keyed so they spread on partitions.
  void produce_events(int first, int n) {
    auto p = kafka::producer::create({{"bootstrap.servers", bootstrap()}}, "test");
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
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(kafka::group_consumer_child("consumer", std::move(cfg), {topic},
                                                        std::move(handler), stats));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    root = *r;
  }

  // Ordered stop; returns the root's exit reason.
  caf::error stop() {
    if (!root)
      return {};
    caf::scoped_actor self{*sys};
    self->monitor(root);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    caf::error reason;
    self->receive([&](caf::down_msg& m) { reason = m.reason; },
                  caf::after(30s) >> [&] { ADD_FAILURE() << "stop took over 30 s"; });
    root = nullptr;
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
    namespace rd = kafka::rd;
    auto conf = rd::make_conf(
        {{"bootstrap.servers", bootstrap()}, {"group.id", "test-group"}}, "test");
    EXPECT_TRUE(conf.has_value());
    auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "checker");
    EXPECT_TRUE(rk.has_value());
    rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(3)};
    for (int p = 0; p < 3; ++p)
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

  void expect_all_committed() {
    for (auto& [partition, offsets] : committed_and_end())
      EXPECT_EQ(offsets.first, offsets.second) << "partition " << partition;
  }
};

kafka::handler_status record_done(seen_log& seen, const runtime::envelope& env) {
  seen.add(env.id, true);
  return kafka::handler_status::done;
}

TEST_F(group_consumer_test, every_record_is_handled_and_committed) {
  produce_events(0, 600);
  auto log = seen;
  start([log](const runtime::envelope& env,
              const kafka::record_position&) { return record_done(*log, env); },
        config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 600; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  for (auto& [id, n] : seen->calls)
    EXPECT_EQ(n, 1) << id << " handled more than once without any crash";
  EXPECT_EQ(stats->handled.load(), 600u);
  expect_all_committed();
}

TEST_F(group_consumer_test, crashing_handler_skips_nothing_and_redoes_nothing_done) {
  produce_events(0, 600);
  auto log = seen;
  auto crashed = std::make_shared<std::set<std::string>>();
  auto mtx = std::make_shared<std::mutex>();
  // Every 7th event throws on its first attempt.
  start(
      [log, crashed, mtx](const runtime::envelope& env, const kafka::record_position&) {
        auto n = std::stoi(env.id.substr(5));
        if (n % 7 == 0) {
          std::lock_guard<std::mutex> g{*mtx};
          if (crashed->insert(env.id).second) {
            log->add(env.id, false);
            throw std::runtime_error("injected");
          }
        }
        return record_done(*log, env);
      },
      config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 600; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->restarts.load(), 86u); // 0, 7, ..., 595
  for (auto& [id, n] : seen->calls) {
    auto crashes = std::stoi(id.substr(5)) % 7 == 0 ? 1 : 0;
    EXPECT_EQ(n, 1 + crashes) << id;
  }
  EXPECT_EQ(stats->rejected.load(), 0u);
  expect_all_committed();
}

TEST_F(group_consumer_test,
       record_that_always_crashes_is_given_up_and_the_partition_moves_on) {
  produce_events(0, 200);
  auto log = seen;
  start(
      [log](const runtime::envelope& env, const kafka::record_position&) {
        if (env.id == "lead-42")
          throw std::runtime_error("poison");
        return record_done(*log, env);
      },
      config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 199; }));
  ASSERT_TRUE(eventually([&] { return stats->rejected.load() == 1; }));
  EXPECT_EQ(stats->restarts.load(), 3u);
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

TEST_F(group_consumer_test, undecodable_record_is_counted_and_passed) {
  produce("orders", "k", "not a cloud event"); // no ce_* headers
  produce_events(0, 50);
  auto log = seen;
  start([log](const runtime::envelope& env,
              const kafka::record_position&) { return record_done(*log, env); },
        config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 50; }));
  ASSERT_TRUE(eventually([&] { return stats->undecodable.load() == 1; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

TEST_F(group_consumer_test, commit_never_passes_a_record_still_in_the_handler) {
  produce_events(0, 300);
  auto log = seen;
  struct gate {
    std::mutex mtx;
    std::condition_variable cv;
    bool open = false;
    std::optional<kafka::record_position> blocked;
  };
  auto g = std::make_shared<gate>();
  start(
      [log, g](const runtime::envelope& env, const kafka::record_position& pos) {
        if (env.id == "lead-100") {
          std::unique_lock<std::mutex> lk{g->mtx};
          g->blocked = pos;
          g->cv.wait(lk, [&] { return g->open; });
        }
        return record_done(*log, env);
      },
      config());
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lk{g->mtx};
    return g->blocked.has_value();
  }));
  auto blocked = *g->blocked;
  // Let the other partitions finish and commit while lead-100 is held.
  ASSERT_TRUE(eventually([&] {
    auto offsets = committed_and_end();
    int finished = 0;
    for (auto& [p, o] : offsets)
      finished += p != blocked.partition && o.first == o.second;
    return finished == 2;
  }));
  auto held = committed_and_end()[blocked.partition];
  EXPECT_LE(held.first, blocked.offset) << "committed past a record still being handled";
  {
    std::lock_guard<std::mutex> lk{g->mtx};
    g->open = true;
  }
  g->cv.notify_all();
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 300; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

TEST_F(group_consumer_test, missing_group_id_fails_the_start_naming_the_key) {
  auto cfg = config();
  cfg.properties.erase("group.id");
  runtime::supervisor_spec spec;
  spec.name = "kafka";
  spec.children.push_back(kafka::group_consumer_child(
      "consumer", cfg, {topic},
      [](const runtime::envelope&, const kafka::record_position&) {
        return kafka::handler_status::done;
      },
      stats));
  auto r = runtime::start_supervisor(*sys, std::move(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("group.id"), std::string::npos) << r.error().message();
}

} // namespace
