// The lead saga with its node as a separate process: killed with SIGKILL at random
// points of 1,000 running sagas and started again, every saga ends completed or
// compensated and no participant applies a command twice; and 10,000 sagas started at
// once all complete; and, with the node in the test process, a saga gateway that crashes
// is restarted with its consumer and no saga is lost. The participants run in the test
// process, so what they applied outlives the node. On the real cluster of the system
// tier (TLS, replication factor 3) the first two run PHOENIX_SYSTEM_SAGAS sagas
// (default 300), to keep the tier's wall time modest.

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "saga_fixture.hpp"

#include <random>
#include <signal.h>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::testkit::child_process;

namespace {

class saga_kill_test : public itest::saga_node_test {};

TEST_F(saga_kill_test,
       kill_9_at_random_points_of_1000_sagas_loses_none_and_repeats_no_effect) {
  // On the real cluster the killed member keeps its partitions until its session times
  // out (6 s), longer than the 3 s step timeout: sagas time out and compensate steps
  // whose commands are still on their way, which the participants must undo as nothing.
  const int sagas = saga_count(1000);
  opts.failures = {20, 10, 100};
  opts.step_timeout = 3s;
  start_participants();
  produce_leads(sagas);
  std::random_device rd;
  auto seed = rd();
  std::mt19937 rng{seed};
  std::printf("seed %u\n", seed);
  // Each run is killed at a random moment once sagas move (its group join takes a few
  // seconds); the first kill must find sagas in flight.
  for (int kill = 0; kill < 2; ++kill) {
    auto before = finished(sagas).size();
    auto node = start_node();
    ASSERT_TRUE(wait_finished(sagas, before + 1, 120s)) << node->err();
    std::this_thread::sleep_for(
        std::chrono::milliseconds{std::uniform_int_distribution<int>{0, 1500}(rng)});
    node->signal(SIGKILL);
    EXPECT_EQ(node->wait(30s), 128 + SIGKILL);
    auto after = finished(sagas).size();
    std::printf("kill -9 %d with %zu of %d sagas finished\n", kill + 1, after, sagas);
    if (kill == 0)
      ASSERT_LT(after, static_cast<std::size_t>(sagas)) << "the kill came too late";
  }
  auto node = start_node();
  ASSERT_TRUE(wait_finished(sagas, sagas, 180s)) << node->err();
  ASSERT_TRUE(node->wait_for_stderr("node started", 30s)) << node->err();
  node->signal(SIGTERM);
  EXPECT_EQ(node->wait(60s), 0) << node->err();
  expect_consistent(sagas);
  std::printf("%zu duplicate deliveries answered from the participants' memory\n",
              parts->duplicates());
}

TEST_F(saga_kill_test, ten_thousand_concurrent_sagas_complete) {
  const int sagas = saga_count(10000);
  opts.step_timeout = 60s; // a slow machine must not turn load into compensation
  start_participants();
  produce_leads(sagas);
  auto node = start_node();
  ASSERT_TRUE(wait_finished(sagas, sagas, 240s)) << node->err();
  ASSERT_TRUE(node->wait_for_stderr("node started", 30s)) << node->err();
  node->signal(SIGTERM);
  auto code = node->wait(60s);
  auto err = node->err() + node->out();
  EXPECT_EQ(code, 0) << err.substr(err.size() > 4000 ? err.size() - 4000 : 0);
  auto done = finished(sagas);
  for (const auto& [id, status] : done)
    ASSERT_EQ(status, sagas::saga_status::completed) << id;
  expect_consistent(sagas);
}

TEST_F(saga_kill_test, a_crashed_gateway_is_restarted_with_its_consumer_and_loses_no_saga) {
  constexpr int sagas = 300;
  // The first half is produced before the crash, the second after it: however fast the
  // first half finishes, the second one can only go through the restarted gateway.
  constexpr int before_crash = sagas / 2;
  opts.step_timeout = 60s;
  start_participants();
  produce_leads(before_crash);
  lead_pipeline::lead_pipeline_node node;
  node.options = opts;
  persistence::store_link link;
  persistence::store_config store;
  store.path = store_path;
  auto cfg = group_config("sagas-in-process");
  cfg.commit_interval = 200ms;
  cfg.idempotency.store = link;
  auto kafka_children = lead_pipeline::pipeline_kafka_children(node, cfg);
  // producer, gateway, its consumer: the gateway's incarnations are tracked here
  ASSERT_GE(kafka_children.size(), 3u);
  ASSERT_EQ(kafka_children[1].id.rfind("saga-gateway", 0), 0u) << kafka_children[1].id;
  auto gateway = std::make_shared<runtime::actor_slot>();
  kafka_children[1] = runtime::track(std::move(kafka_children[1]), gateway);
  auto sub = [](std::string name, std::vector<runtime::child_spec> children) {
    runtime::supervisor_spec spec;
    spec.name = std::move(name);
    spec.strategy = runtime::restart_strategy::rest_for_one;
    spec.children = std::move(children);
    return runtime::supervisor_child(std::move(spec), std::chrono::seconds{20});
  };
  runtime::supervisor_spec root;
  root.name = "node";
  root.children.push_back(sub("store", {persistence::store_child(store, link)}));
  root.children.push_back(sub("sagas", lead_pipeline::pipeline_saga_children(node, link)));
  root.children.push_back(sub("kafka", std::move(kafka_children)));
  auto tree = runtime::start_supervisor(*sys, std::move(root));
  ASSERT_TRUE(tree.has_value()) << tree.error().describe();

  ASSERT_TRUE(wait_finished(sagas, 1, 120s));
  auto first = gateway->get();
  ASSERT_TRUE(first);
  caf::anon_send_exit(first, caf::exit_reason::unhandled_exception);
  auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until &&
         (!gateway->get() || gateway->get().address() == first.address()))
    std::this_thread::sleep_for(50ms);
  ASSERT_NE(gateway->get().address(), first.address()) << "the gateway was not restarted";
  produce_leads(sagas - before_crash, before_crash);
  ASSERT_TRUE(wait_finished(sagas, sagas, 180s));
  caf::anon_send_exit(*tree, caf::exit_reason::user_shutdown);
  expect_consistent(sagas);
}

} // namespace
