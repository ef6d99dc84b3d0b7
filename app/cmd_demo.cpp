#include "commands.hpp"
#include "node_tree.hpp"
#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/lead_pipeline/node.hpp"
#include "phoenix/runtime/node_runner.hpp"

#include <CLI/CLI.hpp>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace phoenix::app {
namespace {

struct demo_options {
  std::string config;
  std::int64_t events = 10000;
  std::int64_t crash_every = 0;
  std::string topic = "lead.detected";
  bool serve = false;
  lead_pipeline::failures failures{20, 10, 50};
  std::int64_t step_timeout_ms = 5000;
};

// What the sample handler saw; shared between the partition actors and the reporter.
struct demo_state {
  std::mutex mtx;
  std::unordered_set<std::string> seen;    // distinct events handled
  std::unordered_set<std::string> crashed; // events whose first attempt crashed
  std::atomic<std::int64_t> handled{0};    // handler calls that returned done
};

runtime::envelope make_event(std::int64_t i, std::mt19937_64& rng) {
  runtime::envelope env;
  env.id = "lead-" + std::to_string(i);
  env.source = "/phoenix/demo/radar";
  env.type = "lead.detected";
  env.tenant_id = "tenant-" + std::to_string(i % 4);
  char trace[64];
  std::snprintf(trace, sizeof trace, "00-%016llx%016llx-%016llx-01",
                static_cast<unsigned long long>(rng() | 1),
                static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() | 1));
  env.trace = runtime::trace_context::parse(trace).value();
  env.payload =
      nlohmann::json{{"lead", i}, {"tenant", *env.tenant_id}, {"score", i % 100}}.dump();
  return env;
}

// Counts each distinct event once; with --crash-every K, throws on the first attempt
// of every K-th event so that supervision (restart, resume) is visible.
kafka::record_handler sample_handler(std::shared_ptr<demo_state> st,
                                     std::int64_t crash_every) {
  return [st, crash_every](const runtime::envelope_view& env, const kafka::record_view&) {
    std::string id{env.id};
    if (crash_every > 0) {
      auto n = std::stoll(id.substr(id.find('-') + 1));
      if (n % crash_every == 0) {
        std::lock_guard<std::mutex> guard{st->mtx};
        if (st->crashed.insert(id).second)
          throw std::runtime_error("injected crash on " + id);
      }
    }
    {
      std::lock_guard<std::mutex> guard{st->mtx};
      st->seen.insert(std::move(id));
    }
    st->handled.fetch_add(1, std::memory_order_relaxed);
    return kafka::handler_status::done;
  };
}

std::size_t distinct(demo_state& st) {
  std::lock_guard<std::mutex> guard{st.mtx};
  return st.seen.size();
}

int run_demo(const demo_options& opt) {
  runtime::block_termination_signals();
  auto cfg = load_node_config(opt.config);
  if (!cfg) {
    std::cerr << "phoenix: " << cfg.error().message() << '\n';
    return 2;
  }
  auto cluster = start_embedded_kafka(*cfg);
  if (!cluster) {
    std::cerr << "phoenix: " << cluster.error().describe() << '\n';
    return 2;
  }
  // The embedded cluster forgets its topics when the demo ends; a store kept beside it
  // would make the next run's events look like duplicates of this run's. So without a
  // [store] section the demo keeps its store in a temporary directory.
  std::unique_ptr<char, void (*)(char*)> store_dir{nullptr, [](char* p) {
                                                     std::error_code ec;
                                                     std::filesystem::remove_all(p, ec);
                                                     std::free(p);
                                                   }};
  if (cfg->store.empty()) {
    store_dir.reset(strdup(
        (std::filesystem::temp_directory_path() / "phoenix-demo-XXXXXX").string().c_str()));
    if (!mkdtemp(store_dir.get())) {
      std::cerr << "phoenix: cannot create a temporary directory for the demo's store\n";
      return 2;
    }
    cfg->store["path"] = {std::string{store_dir.get()} + "/demo.db", 0};
  }
  lead_pipeline::lead_pipeline_node pipeline;
  pipeline.options.topics.lead_detected = opt.topic;
  pipeline.options.failures = opt.failures;
  pipeline.options.step_timeout = std::chrono::milliseconds{opt.step_timeout_ms};
  pipeline.participants = std::make_shared<lead_pipeline::participants>(pipeline.options);
  if (*cluster) {
    auto ok = (*cluster)->create_topic(opt.topic, cfg->embedded.partitions);
    if (ok)
      ok = lead_pipeline::create_pipeline_topics(**cluster, pipeline.options,
                                                 cfg->embedded.partitions);
    if (!ok) {
      std::cerr << "phoenix: " << ok.error().describe() << '\n';
      return 2;
    }
  }
  auto producer = kafka::producer::create(cfg->kafka, cfg->origin);
  if (!producer) {
    std::cerr << "phoenix: " << producer.error().message() << '\n';
    return 2;
  }

  kafka::group_consumer_config consumer_cfg;
  consumer_cfg.properties = cfg->kafka;
  consumer_cfg.properties.emplace("group.id", "phoenix-demo");
  if (*cluster) {
    // The mock cluster's group coordinator waits max.poll.interval.ms for rejoins.
    consumer_cfg.properties.emplace("session.timeout.ms", "6000");
    consumer_cfg.properties.emplace("max.poll.interval.ms", "10000");
  }
  consumer_cfg.origin = cfg->origin;
  auto svc = make_node_services(*cfg, opt.serve);
  if (!svc) {
    std::cerr << "phoenix: " << svc.error().message() << '\n';
    return 2;
  }
  auto consumer_id = "consumer:" + opt.topic;
  kafka::add_readiness_check(consumer_cfg, *svc->ready, consumer_id);
  consumer_cfg.idempotency.store = svc->store; // effects once per key
  consumer_cfg.admission = svc->admission;     // [breaker."..."], [tenants]
  consumer_cfg.trace = svc->trace;             // [store] traceability
  auto state = std::make_shared<demo_state>();
  auto stats = std::make_shared<kafka::consumer_stats>();
  svc->consumers->add(consumer_id, stats);
  svc->sagas->add("lead", pipeline.stats);
  svc->sagas->add_relay(pipeline.relay_stats);
  auto consumer =
      kafka::group_consumer_child(consumer_id, consumer_cfg, {opt.topic},
                                  sample_handler(state, opt.crash_every), stats);

  caf::actor_system_config sys_cfg;
  runtime::configure_scheduler(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto kafka_children = lead_pipeline::pipeline_kafka_children(pipeline, consumer_cfg);
  kafka_children.insert(kafka_children.begin() + 1, consumer); // after the producer
  auto sagas_done = [&] {
    return pipeline.finished() >= static_cast<std::uint64_t>(opt.events);
  };
  std::atomic<bool> node_ended{false};
  std::atomic<bool> produced_all{false};
  std::thread feeder;
  auto started_at = std::chrono::steady_clock::now();
  runtime::node_run_options run_opts;
  run_opts.shutdown_timeout = cfg->node.shutdown_timeout;
  run_opts.on_started = [&](const caf::actor& root) {
    svc->health->set_tree_up(true);
    feeder = std::thread{[&, root] {
      std::mt19937_64 rng{42};
      auto report = [&](std::int64_t produced) {
        spdlog::info("demo: produced {}/{}, processed {}/{}, sagas finished {}/{}",
                     produced, opt.events, distinct(*state), opt.events,
                     pipeline.finished(), opt.events);
      };
      auto last_report = std::chrono::steady_clock::now();
      for (std::int64_t i = 0; i < opt.events && !node_ended; ++i) {
        auto env = make_event(i, rng);
        if (auto ok = producer->produce(opt.topic, env.id, env.payload,
                                        runtime::encode_headers(env));
            !ok) {
          spdlog::error("demo: {}", ok.error().message());
          break;
        }
        if (std::chrono::steady_clock::now() - last_report >
            std::chrono::milliseconds{500}) {
          report(i + 1);
          last_report = std::chrono::steady_clock::now();
        }
      }
      if (auto ok = producer->flush(std::chrono::seconds{30}); !ok)
        spdlog::error("demo: {}", ok.error().message());
      produced_all = true;
      // Wait for every event, or give up after 30 s without progress.
      auto last_count = distinct(*state) + pipeline.finished();
      auto last_progress = std::chrono::steady_clock::now();
      while (!node_ended &&
             (distinct(*state) < static_cast<std::size_t>(opt.events) || !sagas_done())) {
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
        auto now = std::chrono::steady_clock::now();
        if (auto c = distinct(*state) + pipeline.finished(); c != last_count) {
          last_count = c;
          last_progress = now;
        } else if (now - last_progress > std::chrono::seconds{30}) {
          spdlog::error("demo: no progress for 30 s at {}/{}", c, opt.events);
          break;
        }
        if (now - last_report > std::chrono::milliseconds{500}) {
          report(opt.events);
          last_report = now;
        }
      }
      report(opt.events);
      if (opt.serve)
        spdlog::info("demo: done; serving {} until SIGTERM",
                     svc->http ? svc->http->url() : "no HTTP ([http] listen is off)");
      else
        caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    }};
  };
  auto ended = runtime::run_node(
      sys,
      node_tree(*cfg, *svc, std::move(kafka_children),
                lead_pipeline::pipeline_saga_children(pipeline, svc->store, svc->trace)),
      run_opts);
  svc->health->set_tree_up(false);
  node_ended = true;
  if (feeder.joinable())
    feeder.join();
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();

  auto processed = static_cast<std::int64_t>(distinct(*state));
  nlohmann::json summary{
      {"events", opt.events},
      {"produced", producer->delivered()},
      {"processed", processed},
      {"duplicates", state->handled.load() - processed},
      {"skipped", stats->duplicates.load()},
      {"undecodable", stats->undecodable.load()},
      {"rejected", stats->rejected.load()},
      {"restarts", stats->restarts.load()},
      {"commits", stats->commits.load()},
      {"sagas_completed", pipeline.stats->completed.load()},
      {"sagas_compensated", pipeline.stats->compensated.load()},
      {"sagas_failed", pipeline.stats->compensation_failed.load()},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"events_per_second", seconds > 0 ? std::round(processed / seconds) : 0},
  };
  std::cout << summary.dump() << std::endl;
  if (ended != runtime::node_exit::stopped)
    return static_cast<int>(ended);
  return processed == opt.events && produced_all && sagas_done() ? 0 : 1;
}

} // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<demo_options>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Run a node on the embedded default (in-process mock Kafka cluster), produce\n"
      "N lead events as CloudEvents, handle them under supervision, run the lead\n"
      "saga (examples/lead-pipeline) for each, and print one JSON summary line on\n"
      "stdout. Progress goes to stderr. Exit code 0 when every event was processed\n"
      "and every saga finished.");
  cmd->add_option("-n,--events", opt->events, "Events to produce and process")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
  cmd->add_option("--crash-every", opt->crash_every,
                  "Make the handler throw on the first attempt of every K-th event, to see "
                  "partition actors restarted and resumed (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--topic", opt->topic, "Input topic")->capture_default_str();
  cmd->add_option("--quota-exhausted-every", opt->failures.quota_exhausted_every,
                  "Lead saga: reserving quota fails for every K-th lead (0: never)")
      ->capture_default_str();
  cmd->add_option(
         "--score-fails-every", opt->failures.score_fails_every,
         "Lead saga: scoring fails for every K-th lead, releasing its quota (0: never)")
      ->capture_default_str();
  cmd->add_option(
         "--crm-silent-every", opt->failures.crm_silent_every,
         "Lead saga: the CRM never acknowledges every K-th lead, whose notification "
         "is retracted after the step timeout (0: never)")
      ->capture_default_str();
  cmd->add_option("--step-timeout-ms", opt->step_timeout_ms,
                  "Lead saga: timeout of each step")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600000}));
  cmd->add_option("-c,--config", opt->config, "Node config file (TOML)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--serve", opt->serve,
                "Serve /health, /ready and /metrics at [http] listen, and keep the node "
                "running after the events until SIGTERM/SIGINT (to look at metrics)");
  cmd->callback([opt, &exit_code] { exit_code = run_demo(*opt); });
}

} // namespace phoenix::app
