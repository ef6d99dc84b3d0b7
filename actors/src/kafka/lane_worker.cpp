#include "kafka/lane_worker.hpp"

#include "kafka/header_views.hpp"
#include "kafka/lane_context.hpp"
#include "phoenix/observability/duration_histogram.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/tick_clock.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

using namespace lane;

// The record's headers as views for the time of one attempt: into the record's own bytes
// (`rd::header_views`), or into librdkafka's parsed copy taken from the message, which is
// freed when the attempt ends (handlers and the failure path copy what they keep), right
// after its allocation, which malloc's per-thread cache serves, instead of with the batch
// of a thousand records.
class record_headers {
public:
  record_headers(rd_kafka_message_t& m, std::vector<runtime::header_view>& views)
      : views_(views) {
    rd::header_views(m, views_, &owned_);
  }
  record_headers(const record_headers&) = delete;
  record_headers& operator=(const record_headers&) = delete;
  ~record_headers() { views_.clear(); }

private:
  rd::headers_ptr owned_;
  std::vector<runtime::header_view>& views_;
};

// Adds what a run did to the shared counters and the handler-time histogram once, also
// when the run ends early (cancelled, waiting for an actor, or a handler threw): a few
// atomic adds per batch instead of three per record on counters every lane shares.
struct handled_count {
  std::atomic<std::uint64_t>& total;
  std::atomic<std::uint64_t>& partition;
  observability::duration_histogram& handling;
  std::uint64_t n = 0;
  observability::duration_tally times{};
  ~handled_count() {
    total.fetch_add(n, std::memory_order_relaxed);
    partition.fetch_add(n, std::memory_order_relaxed);
    handling.add(times);
  }
};

// What a restarted lane skips: what its predecessor finished.
std::int64_t done_upto(const lane_channel& ch) {
  return std::max(ch.last.load(std::memory_order_acquire),
                  ch.handled.load(std::memory_order_acquire));
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

// Sends one record to an actor handler (owning copies); its answer resumes the lane,
// which applies it to the record (state.failure.answer).
void ask_actor(self_ptr self, const std::shared_ptr<lane_context>& ctx,
               runtime::envelope env, record_position pos) {
  self->request(ctx->h.actor(), ctx->h.timeout(), handle_atom::value, std::move(env), pos)
      .then(
          [self, ctx](handler_status status) {
            self->state.failure.answer = status;
            resume(self, ctx);
          },
          [self, ctx, pos](caf::error& err) {
            ctx->guard.failed();
            if (ctx->gate)
              ctx->gate->crashed(self);
            self->quit(caf::make_error(caf::sec::runtime_error,
                                       "handler actor failed on " +
                                           where(pos.topic, pos.partition, pos.offset) +
                                           ": " + runtime::describe(err)));
          });
}

// One record: true when the lane goes on with the next, false when it suspended.
bool handle(self_ptr self, const std::shared_ptr<lane_context>& ctx, rd_kafka_message_t& m,
            std::string_view topic, handled_count& handled) {
  auto& f = self->state.failure;
  auto& headers = self->state.headers;
  const record_headers parsed{m, headers};
  if (tracing(*ctx) && self->state.traced != m.offset) {
    self->state.traced = m.offset;
    trace(*ctx, headers, topic, m.partition, m.offset, stage::received,
          "group " + ctx->policy->group);
  }
  bool moved_on = false;
  if ((ctx->policy->level > 0 || f.offset == m.offset ||
       ctx->channel->crashes_at(m.offset).count > 0) &&
      !prepare(self, ctx, m, moved_on))
    return moved_on;
  const std::string_view value{static_cast<const char*>(m.payload), m.payload ? m.len : 0};
  auto env = runtime::decode_envelope_view(headers.data(), headers.size(), value);
  if (!env) {
    count(ctx->stats->undecodable, ctx->part->undecodable);
    spdlog::warn("undecodable record {}: {}", where(topic, m.partition, m.offset),
                 env.error().message());
    if (f.offset != m.offset)
      f.start(m.offset, *ctx->policy, m.partition, policies::read_marks(headers));
    return failed(self, ctx, m, "undecodable", env.error().message(), true);
  }
  std::optional<handler_status> status;
  std::swap(status, f.answer); // an actor handler's answer: its call was admitted
  if (!status) {
    if (auto wait = ctx->guard.admit(m.offset, env->tenant_id);
        wait > policies::clock::duration::zero()) {
      wait_for_admission(self, *ctx, wait);
      return false;
    }
  }
  // What the handler produces goes into this record's journey (with traceability on).
  const std::string_view cause_id = tracing(*ctx) ? env->id : std::string_view{};
  if (!status && ctx->h.actor()) {
    suspend(self, *ctx);
    auto ev = [&] {
      const runtime::cause_scope cause{cause_id};
      return env->to_envelope();
    }();
    ask_actor(self, ctx, std::move(ev), {std::string(topic), m.partition, m.offset});
    return false;
  }
  if (!status) {
    const record_view rec{topic,
                          m.partition,
                          m.offset,
                          {static_cast<const char*>(m.key), m.key ? m.key_len : 0}};
    // What the handler produces and logs continues the record's trace.
    const runtime::trace_scope span{env->trace ? env->trace->trace_id : std::string_view{},
                                    env->trace ? env->trace->flags : std::uint8_t{0}};
    const runtime::cause_scope cause{cause_id};
    const auto started = runtime::tick_clock::now(); // the TSC: two reads a record
    status = ctx->h.function()(*env, rec);
    handled.times.observe(
        runtime::tick_clock::between(started, runtime::tick_clock::now()));
  }
  if (ctx->guard.hold_after(*status)) { // its breaker opened: wait, then again
    // A failed call all the same (phoenix_record_failed_attempts_total), though it does
    // not use up the record's attempts.
    count(ctx->stats->failed_attempts, ctx->part->failed_attempts);
    wait_for_admission(self, *ctx, std::chrono::milliseconds{1});
    return false;
  }
  if (*status == handler_status::done) {
    ++handled.n;
    if (tracing(*ctx))
      trace(*ctx, headers, topic, m.partition, m.offset, stage::handled,
            f.offset == m.offset ? "attempt " + std::to_string(f.marks.attempts + 1)
                                 : std::string{});
    finished(*ctx, m.offset, true);
    if (f.offset == m.offset)
      f.clear();
    return true;
  }
  if (f.offset != m.offset)
    f.start(m.offset, *ctx->policy, m.partition, {});
  auto rejected = *status == handler_status::rejected;
  return failed(self, ctx, m, rejected ? "handler_rejected" : "handler_retry",
                rejected ? "the handler rejected the record"
                         : "the handler asked for another attempt",
                rejected);
}

} // namespace

namespace lane {

void run(self_ptr self, const std::shared_ptr<lane_context>& ctx) {
  auto& ch = *ctx->channel;
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
    handled_count handled{ctx->stats->handled, ctx->part->handled, ctx->part->handling};
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
          if (tracing(*ctx)) {
            const record_headers parsed{m, self->state.headers};
            trace(*ctx, self->state.headers, topic, m.partition, m.offset, stage::duplicate,
                  "its idempotency key is complete: skipped");
          }
          ch.handled.store(m.offset, std::memory_order_release);
          ch.add_finished();
          continue;
        }
        if (v != verdict::run) { // the gate runs the lane again once it knows more
          ch.release();
          ctx->gate->flush(self);
          report(self, *ctx);
          return;
        }
      }
      ch.current.store(m.offset, std::memory_order_relaxed);
      if (!handle(self, ctx, m, topic, handled))
        return; // suspended: a message resumes the lane
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

} // namespace lane

caf::behavior lane_worker(caf::stateful_actor<lane_state>* self, caf::actor consumer,
                          lane_id id, std::shared_ptr<lane_channel> channel, handler h,
                          std::shared_ptr<consumer_stats> stats,
                          std::shared_ptr<partition_stats> part,
                          std::shared_ptr<const gate_settings> idempotency,
                          std::shared_ptr<const policies::lane_policy> policy,
                          std::shared_ptr<const policies::admission> admission,
                          std::shared_ptr<persistence::trace_log> trace) {
  runtime::crash_on_exception(self);
  self->state.headers.reserve(16);
  runtime::tick_clock::uses_tsc(); // calibrates (once a process) before the first record
  auto ctx = std::make_shared<lane_context>(
      lane_context{std::move(consumer), id, std::move(channel), std::move(h),
                   std::move(stats), std::move(part), std::move(policy)});
  ctx->trace = std::move(trace);
  if (admission)
    ctx->guard = policies::lane_guard{admission.get(), ctx->h.downstream_name()};
  if (idempotency) {
    auto* c = ctx.get(); // the gate lives in the context: no cycle through these hooks
    ctx->gate = std::make_unique<idempotency_gate>(
        std::move(idempotency), *c->channel, c->id.lane, c->stats, c->part,
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
      [self, ctx](lane_retry_atom) { resume(self, ctx); },
      [self, ctx](guard_wake_atom) {
        ctx->guard.woken();
        if (!self->state.awaiting)
          guarded(self, *ctx, [&] { run(self, ctx); });
      },
      [self, ctx](lane_produce_atom) {
        if (self->state.moving)
          produce(self, ctx);
      },
      [self, ctx](gate_tick_atom) {
        if (ctx->gate)
          guarded(self, *ctx, [&] { ctx->gate->on_tick(self); });
      },
  };
}

} // namespace phoenix::kafka
