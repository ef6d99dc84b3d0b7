#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/node_runner.hpp"
#include "sides.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <chrono>
#include <mutex>
#include <spdlog/spdlog.h>

namespace phoenix::bench {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// When the handler first ran. The handler checks `seen` with one relaxed load per
// record; only the first call takes the clock.
struct first_record {
  std::atomic<bool> seen{false};
  std::once_flag once;
  clock::time_point at;
  cpu_sample cpu;

  void mark() {
    std::call_once(once, [this] {
      at = clock::now();
      cpu = sample_cpu();
      seen.store(true, std::memory_order_release);
    });
  }
};

std::string counters(const kafka::consumer_stats& s) {
  return "handled " + std::to_string(s.handled.load()) + ", consumed " +
         std::to_string(s.consumed.load()) + ", undecodable " +
         std::to_string(s.undecodable.load()) + ", rejected " +
         std::to_string(s.rejected.load()) + ", restarts " +
         std::to_string(s.restarts.load());
}

} // namespace

side_outcome run_phoenix_side(const std::map<std::string, std::string>& props,
                              const dataset& ds, const consume_options& opts) {
  side_outcome out;
  auto fail = [&](std::string why) {
    out.error = "phoenix: " + std::move(why);
    return out;
  };
  auto stats = std::make_shared<kafka::consumer_stats>();
  auto first = std::make_shared<first_record>();
  kafka::handler noop{[first](const runtime::envelope_view&, const kafka::record_view&) {
    if (!first->seen.load(std::memory_order_relaxed))
      first->mark();
    return kafka::handler_status::done;
  }};
  kafka::group_consumer_config cfg;
  cfg.properties = props;
  cfg.origin = "bench";
  if (opts.max_in_flight > 0)
    cfg.max_in_flight = opts.max_in_flight;

  runtime::supervisor_spec spec;
  spec.name = "bench";
  spec.children.push_back(kafka::group_consumer_child(
      "consumer:" + ds.topic, std::move(cfg), {ds.topic}, std::move(noop), stats));

  // A fresh actor system per round: its scheduler threads exist only while Phoenix is
  // measured, so they take nothing from the raw side's rounds.
  caf::actor_system_config sys_cfg;
  runtime::configure_scheduler(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto root = runtime::start_supervisor(sys, std::move(spec));
  if (!root)
    return fail(root.error().describe());

  const std::uint64_t n = ds.records;
  caf::scoped_actor self{sys};
  self->monitor(*root);
  bool root_down = false;
  caf::error down_reason;
  // Watches the counter every millisecond (the end time is late by at most that much),
  // and the root supervisor's exit.
  std::uint64_t handled = 0;
  std::uint64_t handled_at_check = 0;
  auto checked_at = clock::now();
  clock::time_point last;
  cpu_sample last_cpu;
  for (;;) {
    self->receive(
        [&](caf::down_msg& msg) {
          root_down = true;
          down_reason = msg.reason;
        },
        caf::after(1ms) >> [] {});
    handled = stats->handled.load(std::memory_order_relaxed);
    auto now = clock::now();
    if (handled >= n) {
      last = now;
      last_cpu = sample_cpu();
      break;
    }
    if (root_down)
      break;
    if (handled != handled_at_check) {
      handled_at_check = handled;
      checked_at = now;
    } else if (now - checked_at > (handled == 0 ? opts.join_timeout : opts.stall_timeout)) {
      break;
    }
  }

  if (!root_down) {
    caf::anon_send_exit(*root, caf::exit_reason::user_shutdown);
    bool stopped = false;
    self->receive([&](caf::down_msg&) { stopped = true; },
                  caf::after(std::chrono::seconds{60}) >> [] {});
    if (!stopped) {
      caf::anon_send_exit(*root, caf::exit_reason::kill);
      return fail("the supervisor did not stop within 60 s (" + counters(*stats) + ")");
    }
  }

  spdlog::info("bench: phoenix counters: {}, commits {}, pauses {} (of them at librdkafka "
               "{}), resumes {}, most in flight in one partition {}",
               counters(*stats), stats->commits.load(), stats->pauses.load(),
               stats->fetch_pauses.load(), stats->resumes.load(),
               stats->max_in_flight.load());
  out.result.records = stats->handled.load();
  if (first->seen.load(std::memory_order_acquire) && handled >= n) {
    out.result.seconds = std::chrono::duration<double>(last - first->at).count();
    set_cpu(out.result, first->cpu, last_cpu);
  }
  if (root_down)
    return fail("the supervisor exited before the last record: " +
                runtime::describe(down_reason) + " (" + counters(*stats) + ")");
  if (handled < n)
    return fail("records missing: handled " + std::to_string(handled) + " of " +
                std::to_string(n) + " with no progress for " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   handled == 0 ? opts.join_timeout : opts.stall_timeout)
                                   .count()) +
                " ms (" + counters(*stats) + ")");
  if (stats->handled.load() != n || stats->consumed.load() != n ||
      stats->undecodable.load() != 0 || stats->rejected.load() != 0)
    return fail("expected exactly " + std::to_string(n) +
                " records handled and consumed, " +
                "none undecodable or rejected: " + counters(*stats));
  return out;
}

} // namespace phoenix::bench
