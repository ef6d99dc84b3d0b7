// A consumer node as a separate process: stopped gracefully it commits everything it
// handled; killed with SIGKILL and restarted, it loses nothing.

#include "consumer_fixture.hpp"
#include "phoenix/testkit/child_process.hpp"

#include <fstream>
#include <signal.h>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::testkit::child_process;

namespace {

using namespace phoenix::itest;

class consumer_restart_test : public group_consumer_test {
protected:
  std::string out_file = ::testing::TempDir() + "/phoenix-consumer-node-" +
                         std::to_string(::getpid()) + ".log";

  std::string node_group;

  void SetUp() override {
    group_consumer_test::SetUp();
    node_group = unique_name("restart-group");
    std::remove(out_file.c_str());
  }
  void TearDown() override {
    std::remove(out_file.c_str());
    group_consumer_test::TearDown();
  }

  std::unique_ptr<child_process> start_node() {
    // On the real cluster the node connects as phoenix-node, with its certificate.
    const std::string client =
        real() ? "@" + real()->clients + "/phoenix-node.properties" : bootstrap();
    auto node = std::make_unique<child_process>(std::vector<std::string>{
        CONSUMER_NODE_BIN, client, topic, node_group, out_file, "300"});
    return node;
  }

  std::map<std::string, int> handled() { return count_lines(out_file); }
  std::size_t lines() { return total(handled()); }
};

TEST_F(consumer_restart_test, graceful_shutdown_commits_everything_handled) {
  produce_events(0, 2000);
  auto node = start_node();
  ASSERT_TRUE(eventually([&] { return lines() >= 400; })) << node->err() << node->out();
  node->signal(SIGTERM);
  ASSERT_EQ(node->wait(60s), 0) << node->err() << node->out();
  auto first_run = lines();
  ASSERT_LT(first_run, 2000u) << "the first run should stop midway";
  node = start_node();
  ASSERT_TRUE(eventually([&] { return handled().size() == 2000; }, 120s))
      << node->err() << node->out();
  node->signal(SIGTERM);
  ASSERT_EQ(node->wait(60s), 0) << node->err() << node->out();
  for (auto& [id, count] : handled())
    EXPECT_EQ(count, 1) << id << " handled again after a graceful restart";
  expect_all_committed_for(node_group);
}

TEST_F(consumer_restart_test, kill_9_then_restart_loses_nothing) {
  produce_events(0, 2000);
  auto node = start_node();
  ASSERT_TRUE(eventually([&] { return lines() >= 400; })) << node->err() << node->out();
  node->signal(SIGKILL);
  node->wait(30s);
  auto before = handled();
  ASSERT_LT(before.size(), 2000u);
  node = start_node();
  ASSERT_TRUE(eventually([&] { return handled().size() == 2000; }, 120s))
      << node->err() << node->out();
  node->signal(SIGTERM);
  ASSERT_EQ(node->wait(60s), 0) << node->err() << node->out();
  // At-least-once: only records of the killed run that were not committed yet come
  // twice, and none more often.
  std::size_t again = 0;
  for (auto& [id, count] : handled()) {
    EXPECT_LE(count, 2) << id;
    if (count == 2) {
      EXPECT_TRUE(before.count(id)) << id << " handled twice within one run";
      ++again;
    }
  }
  RecordProperty("handled_again_after_kill", static_cast<int>(again));
  expect_all_committed_for(node_group);
}

} // namespace
