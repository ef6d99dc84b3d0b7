// A minimal Phoenix node for process-level tests: consumes one topic in one group and
// appends the id of every handled event to a file, until SIGTERM/SIGINT. With a store
// path, the consumer is idempotent through a SQLite store there.
//
//   consumer_node <bootstrap | @client.properties> <topic> <group> <out-file> [delay-us]
//                 [store-path]
//
// `@file`: the client settings (TLS included) from a KEY=VALUE file, as the system tier's
// cluster.sh writes them.

#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/node_runner.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <fcntl.h>
#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace phoenix;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: consumer_node <bootstrap | @client.properties> <topic> <group> "
                 "<out-file> [delay-us] [store-path]\n";
    return 2;
  }
  runtime::block_termination_signals();
  std::string topic = argv[2];
  int out = ::open(argv[4], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) {
    std::cerr << "consumer_node: cannot open " << argv[4] << '\n';
    return 2;
  }
  auto delay = std::chrono::microseconds{argc > 5 ? std::stol(argv[5]) : 0};
  kafka::group_consumer_config cfg;
  if (argv[1][0] == '@') {
    auto client = testkit::read_client_properties(argv[1] + 1);
    if (!client) {
      std::cerr << "consumer_node: " << client.error().message() << '\n';
      return 2;
    }
    cfg.properties = *client;
  } else {
    cfg.properties = {{"bootstrap.servers", argv[1]}};
  }
  cfg.properties.insert({{"group.id", argv[3]},
                         {"session.timeout.ms", "3000"},
                         {"max.poll.interval.ms", "6000"}});
  cfg.origin = "consumer_node";
  cfg.commit_interval = std::chrono::milliseconds{200};
  cfg.max_in_flight = 100; // so that a stop drains only part of the topic
  auto stats = std::make_shared<kafka::consumer_stats>();
  runtime::supervisor_spec root;
  root.name = "node";
  root.strategy = runtime::restart_strategy::rest_for_one;
  if (argc > 6) {
    persistence::store_config store;
    store.path = argv[6];
    persistence::store_link link;
    root.children.push_back(persistence::store_child(store, link));
    cfg.idempotency.store = link;
  }
  root.children.push_back(kafka::group_consumer_child(
      "consumer", cfg, {topic},
      [out, delay](const runtime::envelope_view& env, const kafka::record_view&) {
        std::this_thread::sleep_for(delay);
        // One write per event: the kernel keeps it even if this process is killed next.
        auto line = std::string(env.id) + "\n";
        if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
          throw std::runtime_error("write failed");
        return kafka::handler_status::done;
      },
      stats));
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  runtime::node_run_options opts;
  opts.shutdown_timeout = std::chrono::seconds{20};
  auto code = runtime::run_node(sys, root, opts);
  ::close(out);
  return static_cast<int>(code);
}
