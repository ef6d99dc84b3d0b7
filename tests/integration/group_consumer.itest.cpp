// The group consumer on librdkafka's mock cluster: every record reaches the handler, a
// crashing handler skips nothing, and commits never pass a record that is not done.

#include "consumer_fixture.hpp"

#include <condition_variable>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

TEST_F(group_consumer_test, every_record_is_handled_and_committed) {
  produce_events(0, 600);
  auto log = seen;
  start([log](const runtime::envelope_view& env,
              const kafka::record_view&) { return record_done(*log, env); },
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
      [log, crashed, mtx](const runtime::envelope_view& env, const kafka::record_view&) {
        auto n = std::stoi(std::string(env.id.substr(5)));
        if (n % 7 == 0) {
          std::lock_guard<std::mutex> g{*mtx};
          if (crashed->insert(std::string(env.id)).second) {
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
      [log](const runtime::envelope_view& env, const kafka::record_view&) {
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
  produce(topic, "k", "not a cloud event"); // no ce_* headers
  produce_events(0, 50);
  auto log = seen;
  start([log](const runtime::envelope_view& env,
              const kafka::record_view&) { return record_done(*log, env); },
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
      [log, g](const runtime::envelope_view& env, const kafka::record_view& pos) {
        if (env.id == "lead-100") {
          std::unique_lock<std::mutex> lk{g->mtx};
          g->blocked = pos.position();
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
  auto r = try_start(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("group.id"), std::string::npos) << r.error().message();
}

} // namespace
