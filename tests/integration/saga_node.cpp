// A node that runs the lead saga (coordinator, outbox relay, saga consumer) without its
// participants, for the saga kill -9 tests: the participants run in the test process,
// so that what they applied survives the node.
//
//   saga_node <bootstrap | @client.properties> <store-path> <group> <step-timeout-ms>
//             [topic-suffix] [--no-relay]
// The suffix is appended to every topic name of the pipeline (unique names on the real
// cluster, which outlives a test). --no-relay: the node runs no outbox relay (a node
// that dies before publishing what it wrote). Each partition of lead.detected the saga
// consumer gets or gives up is printed on stderr ("saga_node: owns lead.detected[1]",
// "saga_node: gave up lead.detected[1]").

#include "phoenix/lead_pipeline/node.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/node_runner.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"
#include "saga_topics.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <iostream>

using namespace phoenix;

int main(int argc, char** argv) {
  bool relay = true;
  if (argc > 1 && std::string{argv[argc - 1]} == "--no-relay") {
    relay = false;
    --argc;
  }
  if (argc < 5) {
    std::cerr << "usage: saga_node <bootstrap | @client.properties> <store-path> <group> "
                 "<step-timeout-ms> [topic-suffix]\n";
    return 2;
  }
  runtime::block_termination_signals();
  lead_pipeline::lead_pipeline_node node;
  node.options.step_timeout = std::chrono::milliseconds{std::stol(argv[4])};
  persistence::store_link link;
  persistence::store_config store;
  store.path = argv[2];
  if (argc > 5)
    itest::add_suffix(node.options.topics, argv[5]);
  kafka::group_consumer_config cfg;
  if (argv[1][0] == '@') {
    auto client = testkit::read_client_properties(argv[1] + 1);
    if (!client) {
      std::cerr << "saga_node: " << client.error().message() << '\n';
      return 2;
    }
    cfg.properties = *client;
  } else {
    cfg.properties = {{"bootstrap.servers", argv[1]}};
  }
  cfg.properties.insert({{"group.id", argv[3]},
                         {"session.timeout.ms", "6000"},
                         {"max.poll.interval.ms", "10000"}});
  cfg.origin = "saga_node";
  cfg.commit_interval = std::chrono::milliseconds{200};
  cfg.idempotency.store = link;
  node.prepare_consumer = [start = node.options.topics.lead_detected](
                              kafka::group_consumer_config& c, const std::string& id) {
    if (id != "consumer:sagas")
      return;
    c.on_assigned = [start](const std::vector<kafka::topic_partition>& tps) {
      for (const auto& tp : tps)
        if (tp.topic == start)
          std::cerr << "saga_node: owns " << tp.topic << '[' << tp.partition << "]\n";
    };
    c.on_revoked = [start](const std::vector<kafka::topic_partition>& tps, bool) {
      for (const auto& tp : tps)
        if (tp.topic == start)
          std::cerr << "saga_node: gave up " << tp.topic << '[' << tp.partition << "]\n";
    };
  };

  caf::actor_system_config sys_cfg;
  runtime::configure_scheduler(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto sub = [](std::string name, std::vector<runtime::child_spec> children) {
    runtime::supervisor_spec spec;
    spec.name = std::move(name);
    spec.strategy = runtime::restart_strategy::rest_for_one;
    spec.children = std::move(children);
    return runtime::supervisor_child(std::move(spec), std::chrono::seconds{20});
  };
  runtime::supervisor_spec root;
  root.name = "node";
  root.strategy = runtime::restart_strategy::one_for_one;
  root.children.push_back(sub("store", {persistence::store_child(store, link)}));
  auto saga_children = lead_pipeline::pipeline_saga_children(node, link);
  if (!relay) // the first child is the relay; the coordinator finds none and kicks no one
    saga_children.erase(saga_children.begin());
  root.children.push_back(sub("sagas", std::move(saga_children)));
  root.children.push_back(sub("kafka", lead_pipeline::pipeline_kafka_children(node, cfg)));
  runtime::node_run_options opts;
  opts.shutdown_timeout = std::chrono::seconds{20};
  opts.on_started = [](const caf::actor&) {
    std::cerr << "saga_node: node started" << std::endl;
  };
  auto code = runtime::run_node(sys, root, opts);
  return static_cast<int>(code);
}
