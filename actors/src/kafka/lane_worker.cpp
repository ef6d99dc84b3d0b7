#include "kafka/lane_worker.hpp"

#include "kafka/idempotency.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "policies/lane_guard.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

// In-place attempts for a record whose handler asks to retry. Backoff and retry topics
// come with the resilience policies.
constexpr int max_attempts = 3;

using self_ptr = caf::stateful_actor<lane_state>*;

struct lane_context {
  caf::actor consumer;
  lane_id id;
  std::shared_ptr<lane_channel> channel;
  handler h;
  std::shared_ptr<consumer_stats> stats;
  std::shared_ptr<partition_stats> part;    // this partition's counters, for the metrics
  std::uint64_t reported = 0;               // `finished` when the consumer was last told
  std::unique_ptr<idempotency_gate> gate{}; // null: not idempotent
  policies::lane_guard guard{};             // admits everything when no policy applies
};

std::string where(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  std::string out{topic};
  out += '[' + std::to_string(partition) + "]@" + std::to_string(offset);
  return out;
}

enum class outcome { done, again, rejected };

// What a handler's answer means for the record.
outcome settle(handler_status status, int attempt, std::string_view id,
               const std::string& at, consumer_stats& stats, partition_stats& part) {
  switch (status) {
  case handler_status::done:
    return outcome::done;
  case handler_status::retry:
    if (attempt < max_attempts) {
      stats.retried.fetch_add(1, std::memory_order_relaxed);
      part.retried.fetch_add(1, std::memory_order_relaxed);
      return outcome::again;
    }
    [[fallthrough]];
  case handler_status::rejected:
    stats.rejected.fetch_add(1, std::memory_order_relaxed);
    part.rejected.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("record {} (id {}) rejected after {} attempt(s)", at, id, attempt);
    return outcome::rejected;
  }
  return outcome::done;
}

// The record's headers as views into librdkafka's parsed copy, which the message owns.
void read_headers(rd_kafka_message_t& m, std::vector<runtime::header_view>& out) {
  out.clear();
  rd::for_each_header(m, [&](std::string_view name, std::string_view value) {
    out.push_back({name, value});
  });
}

void finish(lane_channel& ch, std::int64_t offset) {
  ch.last.store(offset, std::memory_order_release);
  ch.finished.fetch_add(1, std::memory_order_release);
}

void report(self_ptr self, lane_context& ctx) {
  auto finished = ctx.channel->finished.load(std::memory_order_acquire);
  if (finished == ctx.reported)
    return;
  ctx.reported = finished;
  self->send(ctx.consumer, lane_done_atom::value, ctx.id.partition, ctx.id.lane);
}

// Adds the records a run handled to the shared counter once, also when the run ends
// early (cancelled, waiting for an actor, or a handler threw): one atomic add per batch
// instead of one per record on a counter every lane shares.
struct handled_count {
  std::atomic<std::uint64_t>& total;
  std::atomic<std::uint64_t>& partition;
  std::uint64_t n = 0;
  ~handled_count() {
    total.fetch_add(n, std::memory_order_relaxed);
    partition.fetch_add(n, std::memory_order_relaxed);
  }
};

void run(self_ptr self, const std::shared_ptr<lane_context>& ctx);

// The record is finished. With the gate it counts as done for the in-flight bound now,
// and becomes committable (`last`) once the gate has made its completion durable.
void finished(lane_context& ctx, std::int64_t offset, bool effect_done) {
  if (!ctx.gate) {
    finish(*ctx.channel, offset);
    return;
  }
  ctx.gate->finished(offset, effect_done);
  ctx.channel->handled.store(offset, std::memory_order_release);
  ctx.channel->finished.fetch_add(1, std::memory_order_release);
}

// What a restarted lane skips: what its predecessor finished.
std::int64_t done_upto(const lane_channel& ch) {
  return std::max(ch.last.load(std::memory_order_acquire),
                  ch.handled.load(std::memory_order_acquire));
}

// Runs `f`; a crash on the way out first hands the gate's unsent completions over.
template <class F>
void guarded(self_ptr self, lane_context& ctx, F f) {
  try {
    f();
  } catch (...) {
    ctx.guard.failed(); // a handler that threw: a failed call of its downstream
    if (ctx.gate)
      ctx.gate->crashed(self);
    throw;
  }
}

// The record must wait for its tenant's token or its breaker: the lane lets go of the
// batch and runs again after `wait` (one delayed message at a time).
void wait_for_admission(self_ptr self, lane_context& ctx, policies::clock::duration wait) {
  ctx.channel->release();
  if (ctx.gate)
    ctx.gate->flush(self);
  report(self, ctx);
  if (ctx.guard.schedule_wake())
    self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(wait),
                       guard_wake_atom::value);
}

// Sends one record to an actor handler (owning copies) and goes on on its answer.
void ask_actor(self_ptr self, const std::shared_ptr<lane_context>& ctx,
               std::shared_ptr<runtime::envelope> env, record_position pos, int attempt,
               std::chrono::steady_clock::time_point started) {
  self->state.awaiting = true;
  self->request(ctx->h.actor(), ctx->h.timeout(), handle_atom::value, *env, pos)
      .then(
          [=](handler_status status) {
            if (ctx->guard.hold_after(status)) { // its breaker opened: wait, then again
              self->state.awaiting = false;
              if (ctx->guard.schedule_wake())
                self->delayed_send(self, std::chrono::milliseconds{1},
                                   guard_wake_atom::value);
              return;
            }
            auto at = where(pos.topic, pos.partition, pos.offset);
            switch (settle(status, attempt, env->id, at, *ctx->stats, *ctx->part)) {
            case outcome::again:
              ask_actor(self, ctx, env, pos, attempt + 1, started);
              return;
            case outcome::done:
              ctx->stats->handled.fetch_add(1, std::memory_order_relaxed);
              ctx->part->handled.fetch_add(1, std::memory_order_relaxed);
              break;
            case outcome::rejected:
              break;
            }
            ctx->part->handling.observe(std::chrono::steady_clock::now() - started);
            finished(*ctx, pos.offset, status == handler_status::done);
            self->state.awaiting = false;
            guarded(self, *ctx, [&] { run(self, ctx); });
          },
          [=](caf::error& err) {
            ctx->guard.failed();
            if (ctx->gate)
              ctx->gate->crashed(self);
            self->quit(caf::make_error(caf::sec::runtime_error,
                                       "handler actor failed on " +
                                           where(pos.topic, pos.partition, pos.offset) +
                                           ": " + runtime::describe(err)));
          });
}

void run(self_ptr self, const std::shared_ptr<lane_context>& ctx) {
  auto& ch = *ctx->channel;
  auto& headers = self->state.headers;
  const auto& fn = ctx->h.function();
  while (const lane_batch* batch = ch.acquire()) {
    if (batch->records.empty()) {
      ch.finish();
      continue;
    }
    if (ctx->gate && !ctx->gate->ready(self, *batch, done_upto(ch))) {
      ch.release(); // its keys are being claimed; the gate runs the lane on the answer
      report(self, *ctx);
      return;
    }
    // A batch holds one partition, so its topic is read once.
    const std::string_view topic = rd_kafka_topic_name(batch->records.front()->rkt);
    handled_count handled{ctx->stats->handled, ctx->part->handled};
    for (const auto& msg : batch->records) {
      auto& m = *msg;
      if (ch.cancelled()) {
        ch.release(); // revoked: the partition's next owner reads the rest
        return;
      }
      if (m.offset <= done_upto(ch))
        continue; // finished before a restart, or given up
      if (ctx->gate) {
        auto v = ctx->gate->check(self, m.offset);
        if (v == verdict::skip) { // a duplicate: its key is complete
          ch.handled.store(m.offset, std::memory_order_release);
          ch.finished.fetch_add(1, std::memory_order_release);
          continue;
        }
        if (v != verdict::run) { // the gate runs the lane again once it knows more
          ch.release();
          ctx->gate->flush(self);
          report(self, *ctx);
          return;
        }
      }
      bool effect_done = false;
      ch.current.store(m.offset, std::memory_order_relaxed);
      read_headers(m, headers);
      const std::string_view value{static_cast<const char*>(m.payload),
                                   m.payload ? m.len : 0};
      auto env = runtime::decode_envelope_view(headers.data(), headers.size(), value);
      if (!env) {
        ctx->stats->undecodable.fetch_add(1, std::memory_order_relaxed);
        ctx->part->undecodable.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("undecodable record {}: {}", where(topic, m.partition, m.offset),
                     env.error().message());
      } else if (auto wait = ctx->guard.admit(m.offset, env->tenant_id);
                 wait > policies::clock::duration::zero()) {
        wait_for_admission(self, *ctx, wait);
        return;
      } else if (ctx->h.actor()) {
        report(self, *ctx);
        ch.release();
        if (ctx->gate)
          ctx->gate->flush(self);
        ask_actor(self, ctx, std::make_shared<runtime::envelope>(env->to_envelope()),
                  {std::string(topic), m.partition, m.offset}, 1,
                  std::chrono::steady_clock::now());
        return;
      } else {
        const record_view rec{topic,
                              m.partition,
                              m.offset,
                              {static_cast<const char*>(m.key), m.key ? m.key_len : 0}};
        // What the handler produces and logs continues the record's trace.
        const runtime::trace_scope span{env->trace ? env->trace->trace_id
                                                   : std::string_view{},
                                        env->trace ? env->trace->flags : std::uint8_t{0}};
        auto started = std::chrono::steady_clock::now();
        for (int attempt = 1;; ++attempt) {
          auto status = fn(*env, rec);
          if (ctx->guard.hold_after(status)) { // its breaker opened: wait, then again
            wait_for_admission(self, *ctx, std::chrono::milliseconds{1});
            return;
          }
          if (status == handler_status::done) {
            ++handled.n;
            effect_done = true;
            break;
          }
          if (settle(status, attempt, env->id, where(topic, m.partition, m.offset),
                     *ctx->stats, *ctx->part) != outcome::again)
            break;
        }
        ctx->part->handling.observe(std::chrono::steady_clock::now() - started);
      }
      finished(*ctx, m.offset, effect_done);
    }
    if (ctx->gate)
      ctx->gate->batch_finished();
    ch.finish(); // destroys the batch's records here, on the lane
    report(self, *ctx);
  }
  if (ctx->gate)
    ctx->gate->flush(self);
  report(self, *ctx);
}

} // namespace

caf::behavior lane_worker(caf::stateful_actor<lane_state>* self, caf::actor consumer,
                          lane_id id, std::shared_ptr<lane_channel> channel, handler h,
                          std::shared_ptr<consumer_stats> stats,
                          std::shared_ptr<partition_stats> part,
                          std::shared_ptr<const gate_settings> idempotency,
                          std::shared_ptr<const policies::admission> admission) {
  runtime::crash_on_exception(self);
  self->state.headers.reserve(16);
  auto ctx = std::make_shared<lane_context>(
      lane_context{std::move(consumer), id, std::move(channel), std::move(h),
                   std::move(stats), std::move(part)});
  if (admission)
    ctx->guard = policies::lane_guard{admission.get(), ctx->h.downstream_name()};
  if (idempotency) {
    auto* c = ctx.get(); // the gate lives in the context: no cycle through these hooks
    ctx->gate = std::make_unique<idempotency_gate>(
        std::move(idempotency), *c->channel, c->id.lane, c->stats,
        idempotency_gate::hooks{[self, weak = std::weak_ptr<lane_context>(ctx)] {
                                  if (auto ctx = weak.lock(); ctx && !self->state.awaiting)
                                    guarded(self, *ctx, [&] { run(self, ctx); });
                                },
                                [self, c](std::int64_t offset) {
                                  c->channel->last.store(offset, std::memory_order_release);
                                  self->send(c->consumer, lane_done_atom::value,
                                             c->id.partition, c->id.lane);
                                }});
  }
  return {
      [self, ctx](lane_wake_atom) {
        if (!self->state.awaiting)
          guarded(self, *ctx, [&] { run(self, ctx); });
      },
      [self, ctx](guard_wake_atom) {
        ctx->guard.woken();
        if (!self->state.awaiting)
          guarded(self, *ctx, [&] { run(self, ctx); });
      },
      [self, ctx](gate_tick_atom) {
        if (ctx->gate)
          guarded(self, *ctx, [&] { ctx->gate->on_tick(self); });
      },
  };
}

} // namespace phoenix::kafka
