// An idempotent consumer node as a separate process with its SQLite store, killed with
// SIGKILL in the middle of its group-committed batches and started again: the store is
// intact, no key it had completed is lost or handled again, keys it had only claimed
// are handled again (its restart takes them back at once), and nothing is lost.

#include "consumer_fixture.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/runtime/idempotency_key.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "testing/temp_dir.hpp"

#include <signal.h>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::testkit::child_process;

namespace {

using namespace phoenix::itest;

class idempotent_restart_test : public group_consumer_test {
protected:
  persistence::testing::temp_dir dir;
  std::string store_path = dir.file("node");
  std::string out_file = dir.path() + "/handled.log";
  std::string node_group;

  void SetUp() override {
    group_consumer_test::SetUp();
    node_group = unique_name("idem-restart");
  }

  std::unique_ptr<child_process> start_node() {
    // On the real cluster the node connects as phoenix-node, with its certificate.
    const std::string client =
        real() ? "@" + real()->clients + "/phoenix-node.properties" : bootstrap();
    return std::make_unique<child_process>(std::vector<std::string>{
        CONSUMER_NODE_BIN, client, topic, node_group, out_file, "300", store_path});
  }

  std::map<std::string, int> handled() { return count_lines(out_file); }
  std::size_t lines() { return total(handled()); }
};

TEST_F(idempotent_restart_test,
       kill_9_loses_no_completed_key_and_handles_none_of_them_again) {
  constexpr int events = 2000;
  produce_events(0, events);
  auto node = start_node();
  ASSERT_TRUE(eventually([&] { return lines() >= 500; })) << node->err();
  node->signal(SIGKILL);
  EXPECT_EQ(node->wait(30s), 128 + SIGKILL);
  auto before = handled();
  ASSERT_LT(before.size(), static_cast<std::size_t>(events)) << "the kill came too late";

  // What the killed node left: an intact store; every key it completed was handled.
  std::set<std::string> completed;
  std::size_t claimed = 0;
  {
    persistence::store_config cfg;
    cfg.path = store_path;
    auto db = persistence::open_store(cfg);
    ASSERT_TRUE(db) << db.error().describe();
    ASSERT_TRUE((*db)->verify());
    for (int i = 0; i < events; ++i) {
      auto id = "lead-" + std::to_string(i);
      auto k = (*db)->lookup(
          {node_group + "|" + runtime::idempotency_key_from_event("/test", id)});
      ASSERT_TRUE(k);
      if (k->state == persistence::key_state::completed) {
        completed.insert(id);
        EXPECT_TRUE(before.count(id)) << id << " is complete but was never handled";
      } else if (k->state == persistence::key_state::claimed) {
        ++claimed;
      }
    }
  }
  ASSERT_FALSE(completed.empty());

  node = start_node();
  ASSERT_TRUE(eventually([&] { return handled().size() == events; }, 120s)) << node->err();
  node->signal(SIGTERM);
  ASSERT_EQ(node->wait(60s), 0) << node->err();
  auto after = handled();
  std::size_t again = 0;
  for (auto& [id, count] : after) {
    auto earlier = before.count(id) ? before.at(id) : 0;
    if (completed.count(id))
      EXPECT_EQ(count, earlier) << id << " was complete, yet handled again";
    else
      EXPECT_LE(count, earlier + 1) << id;
    again += count > 1 ? 1 : 0;
  }
  // Handled twice: only what the killed run handled without its completion reaching
  // the store (claimed, or not even that when the kill came between claim and write).
  EXPECT_LE(again, before.size() - completed.size());
  expect_all_committed_for(node_group);
  std::printf("kill -9: %zu handled before, %zu of them complete in the store, %zu claimed "
              "only, %zu handled again\n",
              before.size(), completed.size(), claimed, again);
}

} // namespace
