// The trace log and its writer, on real threads over a real SQLite store: rows reach
// message_traceability in order, wait while the store is away, are bounded, and are
// written on stop.

#include "phoenix/persistence/trace_log.hpp"

#include "phoenix/persistence/store.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "testing/temp_dir.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <thread>

namespace {

using namespace phoenix::persistence;
using namespace std::chrono_literals;
using phoenix::persistence::testing::temp_dir;

trace_record row(const std::string& id, const std::string& stage, std::int64_t offset) {
  trace_record r;
  r.key = idempotency_key{id};
  r.topic = "lead.detected";
  r.partition = 2;
  r.offset = offset;
  r.stage = stage;
  r.detail = "attempts=1";
  r.at = std::chrono::system_clock::now();
  return r;
}

// Waits for a condition the writer must reach; the bound only stops a broken build
// from hanging, it is not what is tested.
template <class Pred>
bool eventually(Pred pred) {
  for (auto deadline = std::chrono::steady_clock::now() + 30s; !pred();) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class trace_writer_test : public ::testing::Test {
protected:
  temp_dir dir;
  store_config cfg;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<trace_log> log = std::make_shared<trace_log>("node-a", 100);
  store_link link;
  caf::actor store;
  caf::actor writer;

  void SetUp() override {
    cfg.path = dir.file("trace");
    sys = std::make_unique<caf::actor_system>(sys_cfg);
  }

  void TearDown() override {
    for (auto* a : {&writer, &store})
      if (*a) {
        stop(*a);
        *a = nullptr; // a detached actor's thread ends with its last handle
      }
    sys.reset();
  }

  void start_store() {
    auto s = start_store_actor();
    ASSERT_TRUE(s) << s.error().describe();
    store = *s;
  }
  phoenix::result<caf::actor> start_store_actor() {
    return phoenix::persistence::start_store(*sys, cfg, link);
  }

  void start_writer() {
    trace_writer_options opts;
    opts.interval = 20ms;
    opts.max_rows = 3; // several requests for a handful of rows
    auto w = trace_writer_child(log, link, opts).start(*sys);
    ASSERT_TRUE(w) << w.error().describe();
    writer = *w;
  }

  void stop(const caf::actor& a) {
    caf::scoped_actor self{*sys};
    self->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }

  std::vector<trace_record> stored(const std::string& id) {
    auto db = open_store(cfg);
    EXPECT_TRUE(db) << db.error().describe();
    auto rows = (*db)->traces(idempotency_key{id});
    EXPECT_TRUE(rows);
    return rows ? *rows : std::vector<trace_record>{};
  }
};

std::vector<std::string> stages(const std::vector<trace_record>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.stage);
  return out;
}

TEST_F(trace_writer_test, rows_reach_the_store_in_order_with_the_node) {
  start_store();
  start_writer();
  log->submit({row("lead-1", "received", 7), row("lead-2", "received", 8)});
  log->submit({row("lead-1", "handled", 7), row("lead-1", "produced", 7),
               row("lead-2", "rejected", 8)});
  ASSERT_TRUE(eventually([&] { return log->written.load() == 5; }));
  auto one = stored("lead-1");
  EXPECT_EQ(stages(one), (std::vector<std::string>{"received", "handled", "produced"}));
  for (auto& r : one) {
    EXPECT_EQ(r.node, "node-a");
    EXPECT_EQ(r.topic, "lead.detected");
    EXPECT_EQ(r.partition, 2);
    EXPECT_EQ(r.offset, 7);
    EXPECT_EQ(r.detail, "attempts=1");
  }
  EXPECT_EQ(stages(stored("lead-2")), (std::vector<std::string>{"received", "rejected"}));
  EXPECT_EQ(log->pending(), 0u);
  EXPECT_EQ(log->dropped.load(), 0u);
}

TEST_F(trace_writer_test,
       rows_wait_while_the_store_is_away_and_are_written_when_it_returns) {
  start_writer(); // no store actor attached to the link yet
  log->submit({row("lead-1", "received", 1), row("lead-1", "handled", 1)});
  ASSERT_TRUE(eventually([&] { return log->failed_writes.load() >= 2; }));
  EXPECT_EQ(log->pending(), 2u);
  EXPECT_EQ(log->written.load(), 0u);
  start_store(); // attaches itself to the link
  ASSERT_TRUE(eventually([&] { return log->written.load() == 2; }));
  EXPECT_EQ(stages(stored("lead-1")), (std::vector<std::string>{"received", "handled"}));
}

TEST_F(trace_writer_test, beyond_max_pending_the_oldest_rows_are_dropped_and_counted) {
  trace_log small{"n", 3};
  small.submit({row("a", "received", 1), row("b", "received", 2)});
  small.submit({row("c", "received", 3), row("d", "received", 4), row("e", "received", 5)});
  EXPECT_EQ(small.dropped.load(), 2u);
  auto kept = small.take(10);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].key.value, "c");
  EXPECT_EQ(kept[2].key.value, "e");
  // Put back in front of newer rows; what no longer fits goes, oldest first.
  small.submit({row("f", "received", 6)});
  small.put_back(std::move(kept));
  EXPECT_EQ(small.dropped.load(), 3u);
  auto order = small.take(10);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].key.value, "d");
  EXPECT_EQ(order[2].key.value, "f");
}

TEST_F(trace_writer_test, stop_writes_what_is_queued) {
  start_store();
  trace_writer_options opts;
  opts.interval = 1h; // only the stop writes
  auto w = trace_writer_child(log, link, opts).start(*sys);
  ASSERT_TRUE(w);
  log->submit({row("lead-9", "received", 9), row("lead-9", "handled", 9)});
  stop(*w);
  w = caf::actor{};
  EXPECT_EQ(log->written.load(), 2u);
  EXPECT_EQ(stages(stored("lead-9")), (std::vector<std::string>{"received", "handled"}));
}

TEST(trace_message_id, is_the_ce_id_or_the_records_position) {
  EXPECT_EQ(trace_message_id("lead-1", "t", 0, 5), "lead-1");
  EXPECT_EQ(trace_message_id("", "lead.detected", 2, 41), "lead.detected/2/41");
}

} // namespace
