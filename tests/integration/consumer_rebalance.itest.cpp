// Several consumers in one group on the mock cluster: members join and leave while
// records are in flight, brokers go down and requests fail, and nothing is lost.

#include "consumer_fixture.hpp"

#include <atomic>
#include <cstdlib>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

// Which consumer handled each event, and how often.
struct ownership_log {
  std::mutex mtx;
  std::map<std::string, std::vector<int>> handled_by;

  std::size_t distinct() {
    std::lock_guard<std::mutex> g{mtx};
    return handled_by.size();
  }
  std::size_t total() {
    std::lock_guard<std::mutex> g{mtx};
    std::size_t n = 0;
    for (auto& [id, who] : handled_by)
      n += who.size();
    return n;
  }
};

class consumer_rebalance_test : public group_consumer_test {
protected:
  consumer_rebalance_test() { partitions = 6; }

  std::shared_ptr<ownership_log> owners = std::make_shared<ownership_log>();
  std::mutex hooks_mtx;
  std::map<int, std::set<int>> assigned; // consumer -> partitions it holds now

  // Consumer `who`: a slow handler so that records are in flight during rebalances.
  caf::actor member(int who, std::shared_ptr<kafka::consumer_stats> counters) {
    auto cfg = config();
    cfg.on_assigned = [this, who](const std::vector<kafka::topic_partition>& tps) {
      std::lock_guard<std::mutex> g{hooks_mtx};
      for (auto& tp : tps)
        assigned[who].insert(tp.partition);
    };
    cfg.on_revoked = [this, who](const std::vector<kafka::topic_partition>& tps, bool) {
      std::lock_guard<std::mutex> g{hooks_mtx};
      for (auto& tp : tps)
        assigned[who].erase(tp.partition);
    };
    auto log = owners;
    return start_consumer(
        [log, who](const runtime::envelope& env, const kafka::record_position&) {
          std::this_thread::sleep_for(2ms);
          std::lock_guard<std::mutex> g{log->mtx};
          log->handled_by[env.id].push_back(who);
          return kafka::handler_status::done;
        },
        cfg, counters);
  }

  std::size_t holders() {
    std::lock_guard<std::mutex> g{hooks_mtx};
    std::size_t n = 0;
    for (auto& [who, parts] : assigned)
      n += !parts.empty();
    return n;
  }
};

TEST_F(consumer_rebalance_test,
       members_join_and_leave_mid_stream_without_loss_or_duplicates) {
  // Known open defect (issue "Kafka actors"): with three members on the mock cluster,
  // no offset commit of the group is stored (rd_kafka_committed reads -1001 afterwards)
  // and about a third of the records are handled twice. Nothing is lost. Run with
  // PHOENIX_RUN_KNOWN_FAILURES=1 to reproduce.
  if (!std::getenv("PHOENIX_RUN_KNOWN_FAILURES"))
    GTEST_SKIP() << "known defect: commits lost across cooperative rebalances";
  produce_events(0, 3000);
  auto s1 = std::make_shared<kafka::consumer_stats>();
  auto s2 = std::make_shared<kafka::consumer_stats>();
  auto s3 = std::make_shared<kafka::consumer_stats>();
  auto c1 = member(1, s1);
  auto c2 = member(2, s2);
  ASSERT_TRUE(eventually([&] { return holders() == 2 && owners->distinct() > 300; }));
  auto c3 = member(3, s3); // joins while records are in flight
  ASSERT_TRUE(eventually([&] { return holders() == 3; }));
  ASSERT_TRUE(eventually([&] { return owners->distinct() > 1500; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c1))); // leaves while records are in flight
  ASSERT_TRUE(eventually([&] { return owners->distinct() == 3000; }, 120s));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c2)));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c3)));
  // Graceful revokes drain and commit before the partition moves, so no record is
  // handled twice.
  EXPECT_EQ(owners->total(), 3000u) << "records handled twice across a rebalance";
  EXPECT_GT(s3->handled.load(), 0u) << "the joining member got no partitions";
  EXPECT_EQ(s1->handled.load() + s2->handled.load() + s3->handled.load(), 3000u);
  {
    std::lock_guard<std::mutex> g{hooks_mtx};
    for (auto& [who, parts] : assigned)
      EXPECT_TRUE(parts.empty()) << "consumer " << who << " still holds partitions";
  }
  expect_all_committed();
}

TEST_F(consumer_rebalance_test, broker_down_and_up_while_consuming_loses_nothing) {
  PHOENIX_MOCK_ONLY();
  produce_events(0, 1500);
  auto log = seen;
  auto cfg = config();
  start(
      [log](const runtime::envelope& env, const kafka::record_position&) {
        std::this_thread::sleep_for(200us);
        log->add(env.id, true);
        return kafka::handler_status::done;
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return seen->done_count() > 200; }));
  // Every broker leads some of the 6 partitions; take two of the three down for a while.
  ASSERT_TRUE(mock()->broker_down(1));
  ASSERT_TRUE(mock()->broker_down(2));
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(mock()->broker_up(1));
  ASSERT_TRUE(mock()->broker_up(2));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 1500; }, 120s));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

TEST_F(consumer_rebalance_test, failing_fetch_and_commit_requests_lose_nothing) {
  PHOENIX_MOCK_ONLY();
  produce_events(0, 1000);
  // Retriable errors on Fetch (1) and OffsetCommit (8) requests.
  ASSERT_TRUE(mock()->push_request_errors(1, {6, 6, 6, 6})); // NOT_LEADER_FOR_PARTITION
  ASSERT_TRUE(mock()->push_request_errors(8, {15, 15, 15})); // COORDINATOR_NOT_AVAILABLE
  auto log = seen;
  start([log](const runtime::envelope& env,
              const kafka::record_position&) { return record_done(*log, env); },
        config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 1000; }, 120s));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

} // namespace
