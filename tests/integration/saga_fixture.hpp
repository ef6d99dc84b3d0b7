#pragma once

// The lead saga's node as a child process (saga_node) over a store file, with the
// participants in the test process so that what they applied outlives the node: the
// fixture of the saga kill tests and of the shared-store relay tests.

#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/lead_pipeline/lead_pipeline.hpp"
#include "phoenix/lead_pipeline/node.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/sagas/state.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"
#include "saga_topics.hpp"
#include "testing/temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

namespace phoenix::itest {

using namespace std::chrono_literals;
using phoenix::testkit::child_process;

class saga_node_test : public testkit::kafka_cluster_fixture {
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

  // A consumer of the test's cluster in a group of its own (`group` made unique), with
  // the short session and poll limits a test needs to see rebalances in seconds.
  kafka::group_consumer_config group_config(const std::string& group) {
    kafka::group_consumer_config cfg;
    cfg.properties = client_properties();
    cfg.properties.insert({{"group.id", unique_name(group)},
                           {"session.timeout.ms", "6000"},
                           {"max.poll.interval.ms", "10000"}});
    cfg.origin = "test";
    return cfg;
  }

  void start_participants() {
    parts = std::make_shared<lead_pipeline::participants>(opts);
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    replies = std::make_unique<kafka::producer>(std::move(*p));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    auto cfg = group_config("participants");
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

  // A saga node in group `group` (default: one per test), with extra arguments.
  std::unique_ptr<child_process> start_node(std::string group = {},
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{
        SAGA_NODE_BIN,
        real() ? "@" + real()->clients + "/phoenix-node.properties" : bootstrap(),
        store_path,
        group.empty() ? unique_name("sagas") : group,
        std::to_string(opts.step_timeout.count()),
        topic_suffix};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<child_process>(std::move(argv));
  }

  // The nodes' store, opened beside them (null if it cannot be opened now).
  std::unique_ptr<persistence::store> open_node_store() const {
    persistence::store_config cfg;
    cfg.path = store_path;
    auto db = persistence::open_store(cfg);
    return db ? std::move(*db) : nullptr;
  }

  // The stored sagas among lead-0 .. lead-(n-1).
  std::vector<persistence::saga_record> stored_sagas(int n) const {
    std::vector<persistence::saga_record> out;
    auto db = open_node_store();
    for (int i = 0; db && i < n; ++i)
      if (auto r = db->load_saga({"lead-" + std::to_string(i)}); r && *r)
        out.push_back(std::move(**r));
    return out;
  }

  // Final states of sagas lead-0 .. lead-(n-1), as the store has them now.
  std::map<std::string, sagas::saga_status> finished(int n) {
    std::map<std::string, sagas::saga_status> out;
    for (auto& rec : stored_sagas(n)) {
      if (!rec.finished)
        continue;
      const auto& id = rec.id.value;
      auto st = sagas::from_record(rec);
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

} // namespace phoenix::itest
