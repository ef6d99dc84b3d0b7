#include "kafka/partition_worker.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

// In-place attempts for a record whose handler asks to retry. Backoff and retry topics
// come with the resilience policies.
constexpr int max_attempts = 3;

void handle_record(const consumed_record& r, const record_handler& handler,
                   consumer_stats& stats) {
  auto env = runtime::decode_envelope(r.headers, r.value);
  if (!env) {
    stats.undecodable.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("undecodable record {}[{}]@{}: {}", r.pos.topic, r.pos.partition,
                 r.pos.offset, env.error().message());
    return;
  }
  for (int attempt = 1;; ++attempt) {
    switch (handler(*env, r.pos)) {
    case handler_status::done:
      stats.handled.fetch_add(1, std::memory_order_relaxed);
      return;
    case handler_status::retry:
      if (attempt < max_attempts) {
        stats.retried.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      [[fallthrough]];
    case handler_status::rejected:
      stats.rejected.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("record {}[{}]@{} (id {}) rejected after {} attempt(s)", r.pos.topic,
                    r.pos.partition, r.pos.offset, env->id, attempt);
      return;
    }
  }
}

} // namespace

caf::behavior partition_worker(caf::event_based_actor* self, caf::actor consumer,
                               std::string topic, std::int32_t partition,
                               std::shared_ptr<std::atomic<std::int64_t>> progress,
                               record_handler handler,
                               std::shared_ptr<consumer_stats> stats) {
  runtime::crash_on_exception(self);
  return {
      [=](const partition_batch_ptr& batch) {
        std::int64_t last = -1;
        for (auto& r : batch->records) {
          if (r.pos.offset <= progress->load(std::memory_order_relaxed))
            continue; // done before a restart
          handle_record(r, handler, *stats);
          progress->store(r.pos.offset, std::memory_order_relaxed);
          last = r.pos.offset;
        }
        if (last >= 0)
          self->send(consumer, partition_done_atom::value, topic, partition, last);
      },
  };
}

} // namespace phoenix::kafka
