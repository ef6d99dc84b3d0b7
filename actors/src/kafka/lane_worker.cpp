#include "kafka/lane_worker.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

// In-place attempts for a record whose handler asks to retry. Backoff and retry topics
// come with the resilience policies.
constexpr int max_attempts = 3;

std::string where(const record_position& p) {
  return p.topic + "[" + std::to_string(p.partition) + "]@" + std::to_string(p.offset);
}

// Counts a handler's answer; false when the record should be attempted again.
bool settle(handler_status status, int attempt, const runtime::envelope& env,
            const record_position& pos, consumer_stats& stats, partition_stats& part) {
  switch (status) {
  case handler_status::done:
    stats.handled.fetch_add(1, std::memory_order_relaxed);
    part.handled.fetch_add(1, std::memory_order_relaxed);
    return true;
  case handler_status::retry:
    if (attempt < max_attempts) {
      stats.retried.fetch_add(1, std::memory_order_relaxed);
      part.retried.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    [[fallthrough]];
  case handler_status::rejected:
    stats.rejected.fetch_add(1, std::memory_order_relaxed);
    part.rejected.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("record {} (id {}) rejected after {} attempt(s)", where(pos), env.id,
                  attempt);
    return true;
  }
  return true;
}

using self_ptr = caf::stateful_actor<lane_state>*;

struct lane_context {
  caf::actor consumer;
  lane_id id;
  lane_progress progress;
  handler h;
  std::shared_ptr<consumer_stats> stats;
  std::shared_ptr<partition_stats> part; // resolved once per lane, not per record
};

void finish(const lane_context& ctx, std::int64_t offset) {
  ctx.progress->last.store(offset, std::memory_order_release);
}

void report(self_ptr self, const lane_context& ctx, std::int64_t last) {
  self->send(ctx.consumer, lane_done_atom::value, ctx.id.tp.topic, ctx.id.tp.partition,
             ctx.id.lane, last);
}

void advance(lane_state& st) {
  if (++st.next == st.batches.front()->records.size()) {
    st.batches.pop_front();
    st.next = 0;
  }
}

void run_queue(self_ptr self, const std::shared_ptr<lane_context>& ctx);

// Sends one record to an actor handler and continues with the queue on its answer.
void ask_actor(self_ptr self, const std::shared_ptr<lane_context>& ctx,
               std::shared_ptr<runtime::envelope> env, record_position pos, int attempt,
               std::chrono::steady_clock::time_point started) {
  self->state.busy = true;
  self->request(ctx->h.actor(), ctx->h.timeout(), handle_atom::value, *env, pos)
      .then(
          [=](handler_status status) {
            if (!settle(status, attempt, *env, pos, *ctx->stats, *ctx->part)) {
              ask_actor(self, ctx, env, pos, attempt + 1, started);
              return;
            }
            ctx->part->handling.observe(std::chrono::steady_clock::now() - started);
            finish(*ctx, pos.offset);
            report(self, *ctx, pos.offset);
            self->state.busy = false;
            advance(self->state);
            run_queue(self, ctx);
          },
          [=](caf::error& err) {
            self->quit(caf::make_error(caf::sec::runtime_error,
                                       "handler actor failed on " + where(pos) + ": " +
                                           runtime::describe(err)));
          });
}

void run_queue(self_ptr self, const std::shared_ptr<lane_context>& ctx) {
  auto& st = self->state;
  std::int64_t last = -1;
  while (!st.busy && !st.batches.empty()) {
    if (ctx->progress->cancelled.load(std::memory_order_acquire)) {
      st.batches.clear(); // revoked: the partition's next owner reads these
      break;
    }
    const auto& r = st.batches.front()->records[st.next];
    if (r.pos.offset <= ctx->progress->last.load(std::memory_order_acquire)) {
      advance(st); // finished before a restart
      continue;
    }
    auto env = runtime::decode_envelope(r.headers, r.value);
    if (!env) {
      ctx->stats->undecodable.fetch_add(1, std::memory_order_relaxed);
      ctx->part->undecodable.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("undecodable record {}: {}", where(r.pos), env.error().message());
    } else if (ctx->h.actor()) {
      if (last >= 0)
        report(self, *ctx, last);
      auto pos = r.pos;
      ask_actor(self, ctx, std::make_shared<runtime::envelope>(std::move(*env)), pos, 1,
                std::chrono::steady_clock::now());
      return;
    } else {
      auto started = std::chrono::steady_clock::now();
      for (int attempt = 1; !settle(ctx->h.function()(*env, r.pos), attempt, *env, r.pos,
                                    *ctx->stats, *ctx->part);
           ++attempt) {
      }
      ctx->part->handling.observe(std::chrono::steady_clock::now() - started);
    }
    finish(*ctx, r.pos.offset);
    last = r.pos.offset;
    advance(st);
  }
  if (last >= 0)
    report(self, *ctx, last);
}

} // namespace

caf::behavior lane_worker(caf::stateful_actor<lane_state>* self, caf::actor consumer,
                          lane_id id, lane_progress progress, handler h,
                          std::shared_ptr<consumer_stats> stats) {
  runtime::crash_on_exception(self);
  auto part = stats->partitions.of(id.tp);
  auto ctx = std::make_shared<lane_context>(
      lane_context{std::move(consumer), std::move(id), std::move(progress), std::move(h),
                   std::move(stats), std::move(part)});
  return {
      [self, ctx](const lane_batch_ptr& batch) {
        if (batch->records.empty())
          return;
        self->state.batches.push_back(batch);
        run_queue(self, ctx);
      },
  };
}

} // namespace phoenix::kafka
