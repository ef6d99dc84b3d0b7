#include "phoenix/runtime/node_runner.hpp"

#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/allocator.hpp"

#include <algorithm>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <csignal>
#include <ctime>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::runtime {
namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void configure_scheduler(caf::actor_system_config& cfg, unsigned cores) {
  if (cores == 0)
    cores = std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(cores));
  // An idle worker spins briefly (the aggressive phase, 100 polls), then parks on its
  // condition variable, which an enqueue from outside the scheduler signals. CAF's
  // default puts 500 polls with a 50 us sleep between them in the middle: a context
  // switch every 50 us for the first 25 ms or more of every pause, which a consumer's
  // lanes (idle between two poll rounds for fractions of a millisecond) pay on every
  // round, on the cores librdkafka's threads need.
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
}

void block_termination_signals() {
  auto set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

node_exit run_node(caf::actor_system& sys, supervisor_spec root, node_run_options opts) {
  auto name = root.name;
  auto started = start_supervisor(sys, std::move(root));
  if (!started) {
    spdlog::critical("node did not start: {}", started.error().message());
    return node_exit::start_failed;
  }
  auto sup = *started;
  caf::scoped_actor self{sys};
  self->monitor(sup);
  // The hook runs first, so that "node started" means up as the hook sees it too (the
  // node's /health turns on there).
  if (opts.on_started)
    opts.on_started(sup);
  spdlog::info("node started: supervisor {} is up (malloc: {})", name, allocator_name());

  // Signals are blocked in every thread; this one takes them synchronously and turns the
  // first into an ordered stop of the tree.
  std::atomic<bool> done{false};
  std::atomic<int> signal_seen{0};
  std::thread watcher{[&] {
    auto set = termination_signals();
    timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig > 0 && signal_seen.exchange(sig) == 0) {
        spdlog::info("received {}, stopping (bound {} ms)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM", opts.shutdown_timeout.count());
        if (opts.on_stopping)
          opts.on_stopping();
        caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
      }
    }
  }};

  caf::error reason;
  bool down = false;
  // Wait without bound until a signal arrives or the tree ends by itself; after a signal,
  // wait at most the shutdown bound.
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;
  while (!down) {
    self->receive(
        [&](caf::down_msg& msg) {
          reason = msg.reason;
          down = true;
        },
        caf::after(std::chrono::milliseconds{100}) >> [] {});
    if (down)
      break;
    if (signal_seen.load() != 0 && !stop_deadline)
      stop_deadline = std::chrono::steady_clock::now() + opts.shutdown_timeout;
    if (stop_deadline && std::chrono::steady_clock::now() > *stop_deadline) {
      spdlog::error("shutdown did not finish within {} ms; killing the tree",
                    opts.shutdown_timeout.count());
      caf::anon_send_exit(sup, caf::exit_reason::kill);
      done = true;
      watcher.join();
      return node_exit::failed;
    }
  }
  done = true;
  watcher.join();
  if (is_normal_exit(reason)) {
    spdlog::info("node stopped");
    return node_exit::stopped;
  }
  spdlog::critical("node failed: {}", describe(reason));
  return node_exit::failed;
}

} // namespace phoenix::runtime
