// The lead saga with its node as a separate process: killed with SIGKILL at random
// points of 1,000 running sagas and started again, every saga ends completed or
// compensated and no participant applies a command twice; and 10,000 sagas started at
// once all complete; and, with the node in the test process, a saga gateway that crashes
// is restarted with its consumer and no saga is lost. The participants run in the test
// process, so what they applied outlives the node. On the real cluster of the system
// tier (TLS, replication factor 3) the first two run PHOENIX_SYSTEM_SAGAS sagas
// (default 300), to keep the tier's wall time modest.

#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/lead_pipeline/lead_pipeline.hpp"
#include "phoenix/lead_pipeline/node.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/sagas/state.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"
#include "saga_topics.hpp"
#include "testing/temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <cstdlib>
#include <random>
#include <signal.h>
#include <thread>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::testkit::child_process;

namespace {

class saga_kill_test : public testkit::kafka_cluster_fixture {
protected:
  persistence::testing::temp_dir dir;
  std::string store_path = dir.file("node");
  lead_pipeline::options opts;
  std::shared_ptr<lead_pipeline::participants> parts;
  std::unique_ptr<kafka::producer> replies;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor participants_sup;

  std::string topic_suffix; // on the real cluster, which outlives the test

  // `on_mock` sagas on the mock cluster; on the real one PHOENIX_SYSTEM_SAGAS (300).
  int saga_count(int on_mock) const {
    if (!real())
      return on_mock;
    const char* env = std::getenv("PHOENIX_SYSTEM_SAGAS");
    return env && std::atoi(env) > 0 ? std::atoi(env) : 300;
  }

  void SetUp() override {
    kafka_cluster_fixture::SetUp();
    if (HasFatalFailure())
      return;
    if (real()) {
      topic_suffix = unique_name("");
      itest::add_suffix(opts.topics, topic_suffix);
    }
    create_topic(opts.topics.lead_detected, 3);
    for (const auto& t : opts.topics.commands())
      create_topic(t, 3);
    create_topic(opts.topics.replies, 3);
  }

  void TearDown() override {
    if (participants_sup) {
      caf::anon_send_exit(participants_sup, caf::exit_reason::user_shutdown);
      participants_sup = nullptr;
    }
    sys.reset();
    kafka_cluster_fixture::TearDown();
  }

  void start_participants() {
    parts = std::make_shared<lead_pipeline::participants>(opts);
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    replies = std::make_unique<kafka::producer>(std::move(*p));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    kafka::group_consumer_config cfg;
    cfg.properties = client_properties();
    cfg.properties.insert({{"group.id", unique_name("participants")},
                           {"session.timeout.ms", "6000"},
                           {"max.poll.interval.ms", "10000"}});
    cfg.origin = "test";
    auto* out = replies.get();
    runtime::supervisor_spec spec;
    spec.name = "participants";
    spec.children.push_back(lead_pipeline::participants_child(
        *parts, opts.topics, cfg,
        [out](const std::string& topic, const std::string& key,
              const runtime::envelope& env) {
          auto ok = out->produce(topic, key, env.payload, runtime::encode_headers(env));
          ASSERT_TRUE(ok) << ok.error().describe();
        }));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    participants_sup = *r;
  }

  // Leads lead-<from> .. lead-<from + n - 1>.
  void produce_leads(int n, int from = 0) {
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    for (int i = from; i < from + n; ++i) {
      runtime::envelope env;
      env.id = "lead-" + std::to_string(i);
      env.source = "/test/radar";
      env.type = "lead.detected";
      env.payload = R"({"lead":)" + std::to_string(i) + R"(,"tenant":"t)" +
                    std::to_string(i % 4) + R"("})";
      ASSERT_TRUE(p->produce(opts.topics.lead_detected, env.id, env.payload,
                             runtime::encode_headers(env)));
    }
    ASSERT_TRUE(p->flush(30s));
  }

  std::unique_ptr<child_process> start_node() {
    return std::make_unique<child_process>(std::vector<std::string>{
        SAGA_NODE_BIN,
        real() ? "@" + real()->clients + "/phoenix-node.properties" : bootstrap(),
        store_path, unique_name("sagas"), std::to_string(opts.step_timeout.count()),
        topic_suffix});
  }

  // Final states of sagas lead-0 .. lead-(n-1), as the store has them now.
  std::map<std::string, sagas::saga_status> finished(int n) {
    std::map<std::string, sagas::saga_status> out;
    persistence::store_config cfg;
    cfg.path = store_path;
    auto db = persistence::open_store(cfg);
    if (!db)
      return out;
    for (int i = 0; i < n; ++i) {
      auto id = "lead-" + std::to_string(i);
      auto r = (*db)->load_saga({id});
      if (!r || !*r || !(*r)->finished)
        continue;
      auto st = sagas::from_record(**r);
      EXPECT_TRUE(st.has_value()) << id;
      if (st)
        out.emplace(id, st->status);
    }
    return out;
  }

  bool wait_finished(int n, std::size_t at_least, std::chrono::seconds bound) {
    auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      if (finished(n).size() >= at_least)
        return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // Every saga completed or compensated; every command applied once; the quota held
  // and the CRM's notifications are exactly those of the completed leads.
  void expect_consistent(int n) {
    auto done = finished(n);
    ASSERT_EQ(done.size(), static_cast<std::size_t>(n));
    std::set<std::string> completed;
    for (const auto& [id, status] : done) {
      EXPECT_TRUE(status == sagas::saga_status::completed ||
                  status == sagas::saga_status::compensated)
          << id << " ended " << sagas::to_string(status);
      if (status == sagas::saga_status::completed)
        completed.insert(id);
    }
    for (const auto& [command, times] : parts->applied())
      EXPECT_EQ(times, 1) << command << " applied " << times << " times";
    int held = 0;
    for (const auto& [tenant, q] : parts->quota())
      held += q;
    EXPECT_EQ(held, static_cast<int>(completed.size()));
    EXPECT_EQ(parts->notified(), completed);
  }
};

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
  kafka::group_consumer_config cfg;
  cfg.properties = client_properties();
  cfg.properties.insert({{"group.id", unique_name("sagas-in-process")},
                         {"session.timeout.ms", "6000"},
                         {"max.poll.interval.ms", "10000"}});
  cfg.origin = "test";
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
