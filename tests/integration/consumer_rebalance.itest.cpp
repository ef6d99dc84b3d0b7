// Several consumers in one group: members join and leave while records are in flight
// (on the mock cluster and, in the system tier, on the real one), brokers go down and
// requests fail (mock only), and nothing is lost.

#include "consumer_fixture.hpp"

#include <atomic>
#include <thread>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

// What happened to each partition, in one order: handler calls (offset, member) and the
// group's committed offset as a watcher saw it.
struct partition_history {
  struct event {
    std::int64_t offset;
    int who; // member of a handler call; 0 for an observed commit
  };
  std::mutex mtx;
  std::map<int, std::vector<event>> events;
  std::set<std::string> ids;

  void call(const runtime::envelope_view& env, const kafka::record_view& pos, int who) {
    std::lock_guard<std::mutex> g{mtx};
    events[pos.partition].push_back({pos.offset, who});
    ids.insert(std::string(env.id));
  }
  void committed(int partition, std::int64_t offset) {
    std::lock_guard<std::mutex> g{mtx};
    events[partition].push_back({offset, 0});
  }
  std::size_t distinct() {
    std::lock_guard<std::mutex> g{mtx};
    return ids.size();
  }
  // The last offset `who` handled in `partition`, or -1.
  std::int64_t last_of(int who, int partition) {
    std::lock_guard<std::mutex> g{mtx};
    auto& ev = events[partition];
    for (auto it = ev.rbegin(); it != ev.rend(); ++it)
      if (it->who == who)
        return it->offset;
    return -1;
  }
};

// Reads the committed offsets of one group with a client of its own (not a member).
class committed_reader {
public:
  committed_reader(std::map<std::string, std::string> client, const std::string& group,
                   const std::string& topic, int partitions)
      : topic_(topic), partitions_(partitions) {
    client["group.id"] = group;
    auto conf = kafka::rd::make_conf(client, "test");
    EXPECT_TRUE(conf.has_value());
    auto rk = kafka::rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "reader");
    EXPECT_TRUE(rk.has_value());
    rk_ = std::move(*rk);
  }

  // Partition -> committed offset (-1001 for none); empty if the query failed.
  std::map<int, std::int64_t> read() {
    std::lock_guard<std::mutex> g{mtx_};
    kafka::rd::topic_partition_list_ptr list{
        rd_kafka_topic_partition_list_new(partitions_)};
    for (int p = 0; p < partitions_; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p);
    std::map<int, std::int64_t> out;
    if (rd_kafka_committed(rk_.get(), list.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return out;
    for (int i = 0; i < list->cnt; ++i)
      out[list->elems[i].partition] = list->elems[i].offset;
    return out;
  }

private:
  std::string topic_;
  int partitions_;
  std::mutex mtx_;
  kafka::rd::handle_ptr rk_;
};

// Produces events lead-0, lead-1, ... in small batches until stopped, so that every
// membership change of the test happens while records arrive and are in flight.
class steady_producer {
public:
  steady_producer(std::map<std::string, std::string> client, const std::string& topic)
      : thread_([this, client, topic] { run(client, topic); }) {}
  ~steady_producer() { stop(); }

  // Stops producing; returns how many events were produced (all acknowledged).
  int stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
    return produced_;
  }
  int produced() const { return produced_; }
  bool failed() const { return failed_; }

private:
  void run(const std::map<std::string, std::string>& client, const std::string& topic) {
    auto p = kafka::producer::create(client, "test");
    if (!p) {
      failed_ = true;
      return;
    }
    while (!done_) {
      int first = produced_;
      for (int i = first; i < first + 20; ++i) {
        runtime::envelope env;
        env.id = "lead-" + std::to_string(i);
        env.source = "/test";
        env.type = "lead.detected";
        env.payload = "{}";
        if (!p->produce(topic, env.id, env.payload, runtime::encode_headers(env)))
          failed_ = true;
      }
      if (!p->flush(10s))
        failed_ = true;
      produced_ = first + 20;
      std::this_thread::sleep_for(50ms);
    }
    if (p->failed() > 0)
      failed_ = true;
  }

  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> produced_{0};
  std::thread thread_;
};

class consumer_rebalance_test : public group_consumer_test {
protected:
  consumer_rebalance_test() { partitions = 6; }

  std::shared_ptr<partition_history> history = std::make_shared<partition_history>();
  std::unique_ptr<committed_reader> reader;
  std::mutex hooks_mtx;
  std::map<int, std::set<int>> assigned; // consumer -> partitions it holds now
  int lost_revokes = 0;
  int graceful_revokes_checked = 0;

  // Consumer `who`: a slow handler so that records are in flight during rebalances, and
  // a small in-flight bound so that a revoke drains within its bound. Its revoke hook
  // checks that a graceful revoke committed every record this member handled.
  caf::actor member(int who, std::shared_ptr<kafka::consumer_stats> counters) {
    auto cfg = config();
    // The mock's coordinator waits session.timeout.ms - 1 s for members to rejoin.
    cfg.properties["session.timeout.ms"] = "3000";
    cfg.properties["heartbeat.interval.ms"] = "500";
    cfg.properties["max.poll.interval.ms"] = "6000";
    cfg.max_in_flight = 50;
    cfg.on_assigned = [this, who](const std::vector<kafka::topic_partition>& tps) {
      std::lock_guard<std::mutex> g{hooks_mtx};
      for (auto& tp : tps)
        assigned[who].insert(tp.partition);
    };
    auto failures_seen = std::make_shared<std::uint64_t>(0);
    cfg.on_revoked = [this, who, counters, failures_seen](
                         const std::vector<kafka::topic_partition>& tps, bool lost) {
      // A commit the coordinator refused (the group rebalancing again meanwhile) is
      // counted; then the records are read again, which the history check allows.
      auto failures = counters->handover_commit_failures.load();
      bool committed = !lost && failures == *failures_seen;
      *failures_seen = failures;
      auto now = committed ? reader->read() : std::map<int, std::int64_t>{};
      std::lock_guard<std::mutex> g{hooks_mtx};
      lost_revokes += lost;
      for (auto& tp : tps) {
        assigned[who].erase(tp.partition);
        auto last = history->last_of(who, tp.partition);
        if (!committed || last < 0 || now.empty())
          continue;
        ++graceful_revokes_checked;
        EXPECT_GE(now[tp.partition], last + 1)
            << "member " << who << " revoked partition " << tp.partition
            << " without committing what it handled";
      }
    };
    auto log = history;
    return start_consumer(
        [log, who](const runtime::envelope_view& env, const kafka::record_view& pos) {
          std::this_thread::sleep_for(2ms);
          log->call(env, pos, who);
          return kafka::handler_status::done;
        },
        cfg, counters);
  }

  // Records the group's committed offsets in `history` every 20 ms, until stop_watching.
  void watch_commits() {
    reader =
        std::make_unique<committed_reader>(client_properties(), group, topic, partitions);
    watcher = std::thread{[this] {
      while (watching) {
        for (auto& [partition, offset] : reader->read())
          if (offset >= 0)
            history->committed(partition, offset);
        std::this_thread::sleep_for(20ms);
      }
    }};
  }
  void stop_watching() {
    watching = false;
    if (watcher.joinable())
      watcher.join();
  }
  void TearDown() override {
    stop_watching();
    group_consumer_test::TearDown();
  }
  std::atomic<bool> watching{true};
  std::thread watcher;

  // Members holding partitions, and how many partitions they hold together.
  std::pair<std::size_t, std::size_t> holders() {
    std::lock_guard<std::mutex> g{hooks_mtx};
    std::size_t members = 0, parts = 0;
    for (auto& [who, ps] : assigned) {
      members += !ps.empty();
      parts += ps.size();
    }
    return {members, parts};
  }

  // The rule, per partition, over calls and observed commits in their order:
  // offsets are handled without gaps (nothing lost), and a record is handled again only
  // if no commit seen before covered it (duplicates only for records handled but not yet
  // committed). Returns the number of repeated calls.
  std::size_t
  check_history(const std::map<int, std::pair<std::int64_t, std::int64_t>>& ends) {
    std::size_t repeats = 0;
    std::lock_guard<std::mutex> g{history->mtx};
    for (auto& [partition, offsets] : ends) {
      std::int64_t done = -1;      // highest offset handled so far
      std::int64_t committed = -1; // highest committed offset seen so far
      for (auto& ev : history->events[partition]) {
        if (ev.who == 0) {
          committed = std::max(committed, ev.offset);
          continue;
        }
        if (ev.offset > done + 1) {
          ADD_FAILURE() << "partition " << partition << ": member " << ev.who
                        << " handled offset " << ev.offset << " after " << done
                        << "; records in between skipped";
          return repeats;
        }
        if (ev.offset <= done) {
          ++repeats;
          if (ev.offset < committed) {
            ADD_FAILURE() << "partition " << partition << ": member " << ev.who
                          << " handled offset " << ev.offset << " again after offset "
                          << committed << " was committed";
            return repeats;
          }
        }
        done = std::max(done, ev.offset);
      }
      EXPECT_EQ(done + 1, offsets.second) << "partition " << partition << ": records lost";
      EXPECT_EQ(offsets.first, offsets.second)
          << "partition " << partition << " not committed";
    }
    return repeats;
  }
};

TEST_F(consumer_rebalance_test, members_join_and_leave_mid_stream_without_loss) {
  // Regression: commits the coordinator refused during a rebalance were taken for done,
  // so revokes committed nothing (rd_kafka_committed read -1001) and the next owners
  // handled a third of the records again; and manual commits sent while this member's
  // JoinGroup was pending came back as an illegal generation, which made librdkafka drop
  // the assignment as lost.
  watch_commits();
  steady_producer producer{client_properties(), topic};
  auto s1 = std::make_shared<kafka::consumer_stats>();
  auto s2 = std::make_shared<kafka::consumer_stats>();
  auto s3 = std::make_shared<kafka::consumer_stats>();
  using held = std::pair<std::size_t, std::size_t>;
  auto c1 = member(1, s1);
  auto c2 = member(2, s2);
  ASSERT_TRUE(eventually([&] {
    return holders() == held{2, 6} && history->distinct() > 300;
  }));
  auto c3 = member(3, s3); // joins while records are in flight
  ASSERT_TRUE(eventually([&] { return holders().first == 3 && s3->handled.load() > 0; }));
  auto before_leave = history->distinct();
  EXPECT_TRUE(runtime::is_normal_exit(stop(c1))); // leaves while records are in flight
  // The others take over c1's partitions and go on.
  ASSERT_TRUE(eventually([&] {
    return holders() == held{2, 6} && history->distinct() > before_leave + 300;
  }));
  auto produced = producer.stop();
  ASSERT_FALSE(producer.failed());
  ASSERT_TRUE(eventually(
      [&] { return history->distinct() == std::size_t(produced) && all_committed(); },
      120s));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c2)));
  ASSERT_TRUE(eventually([&] { return holders() == held{1, 6}; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c3)));
  stop_watching();

  auto repeats = check_history(committed_and_end());
  auto handled = s1->handled.load() + s2->handled.load() + s3->handled.load();
  EXPECT_EQ(handled, std::uint64_t(produced) + repeats);
  EXPECT_GT(graceful_revokes_checked, 0) << "no graceful revoke was checked";
  auto failures = s1->handover_commit_failures.load() +
                  s2->handover_commit_failures.load() + s3->handover_commit_failures.load();
  if (lost_revokes == 0 && failures == 0) // every move was graceful and committed
    EXPECT_EQ(repeats, 0u) << "records handled twice although every revoke committed";
  std::lock_guard<std::mutex> g{hooks_mtx};
  for (auto& [who, parts] : assigned)
    EXPECT_TRUE(parts.empty()) << "consumer " << who << " still holds partitions";
}

TEST_F(consumer_rebalance_test, partitions_paused_at_their_bound_move_without_loss) {
  PHOENIX_MOCK_ONLY();
  // A thousand records a partition, produced before the members start, keep every
  // partition at its in-flight bound (50) while members join and leave: the revokes find
  // partitions paused, with records held and what librdkafka fetched meanwhile in the
  // partitions' own queues (consumer_flow.cpp).
  ASSERT_NO_FATAL_FAILURE(produce_events(0, 6000));
  watch_commits();
  auto s1 = std::make_shared<kafka::consumer_stats>();
  auto s2 = std::make_shared<kafka::consumer_stats>();
  auto s3 = std::make_shared<kafka::consumer_stats>();
  auto paused_now = [](const kafka::consumer_stats& s) {
    return s.pauses.load() > s.resumes.load();
  };
  auto c1 = member(1, s1);
  auto c2 = member(2, s2);
  ASSERT_TRUE(eventually([&] {
    return holders() == std::pair<std::size_t, std::size_t>{2, 6} && paused_now(*s1) &&
           paused_now(*s2);
  }));
  auto c3 = member(3, s3); // takes partitions from members that hold them paused
  ASSERT_TRUE(eventually([&] { return holders().first == 3 && s3->handled.load() > 0; }));
  EXPECT_TRUE(paused_now(*s1) || paused_now(*s2)) << "no partition paused at the leave";
  EXPECT_TRUE(runtime::is_normal_exit(stop(c1)));
  // Every record handled, and committed: a revoke whose commit the group refused while
  // it rebalanced leaves its records to the next owner, which handles them again later.
  ASSERT_TRUE(
      eventually([&] { return history->distinct() == 6000u && all_committed(); }, 120s))
      << history->distinct() << " of 6000 records handled";
  EXPECT_TRUE(runtime::is_normal_exit(stop(c2)));
  EXPECT_TRUE(runtime::is_normal_exit(stop(c3)));
  stop_watching();

  auto repeats = check_history(committed_and_end());
  auto handled = s1->handled.load() + s2->handled.load() + s3->handled.load();
  EXPECT_EQ(handled, 6000u + repeats);
  for (auto* s : {s1.get(), s2.get(), s3.get()})
    EXPECT_LE(s->max_in_flight.load(), 50u) << "in-flight bound exceeded";
  EXPECT_GT(graceful_revokes_checked, 0) << "no graceful revoke was checked";
}

TEST_F(consumer_rebalance_test, broker_down_and_up_while_consuming_loses_nothing) {
  PHOENIX_MOCK_ONLY();
  produce_events(0, 1500);
  auto log = seen;
  auto cfg = config();
  start(
      [log](const runtime::envelope_view& env, const kafka::record_view&) {
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
  start([log](const runtime::envelope_view& env,
              const kafka::record_view&) { return record_done(*log, env); },
        config());
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 1000; }, 120s));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

} // namespace
