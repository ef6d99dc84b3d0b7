#pragma once

// What the parts of a lane (lane_worker.cpp: running records; lane_failures.cpp: what
// happens to a record that failed) share. Private to the kafka actors.

#include "kafka/idempotency.hpp"
#include "kafka/lane_trace.hpp"
#include "kafka/lane_worker.hpp"
#include "phoenix/persistence/trace_log.hpp"
#include "policies/lane_guard.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace phoenix::kafka::lane {

using self_ptr = caf::stateful_actor<lane_state>*;

struct lane_context {
  caf::actor consumer;
  lane_id id;
  std::shared_ptr<lane_channel> channel;
  handler h;
  std::shared_ptr<consumer_stats> stats;
  std::shared_ptr<partition_stats> part; // this partition's counters, for the metrics
  std::shared_ptr<const policies::lane_policy> policy;
  std::uint64_t reported = 0;               // `finished` when the consumer was last told
  std::unique_ptr<idempotency_gate> gate{}; // null: not idempotent
  policies::lane_guard guard{};             // admits everything when no policy applies
  std::shared_ptr<persistence::trace_log> trace{}; // null: traceability off
  std::vector<persistence::trace_record> rows{};   // this batch's, until `report`
};

inline std::string where(std::string_view topic, std::int32_t partition,
                         std::int64_t offset) {
  std::string out{topic};
  out += '[' + std::to_string(partition) + "]@" + std::to_string(offset);
  return out;
}

inline void count(std::atomic<std::uint64_t>& total,
                  std::atomic<std::uint64_t>& partition) {
  total.fetch_add(1, std::memory_order_relaxed);
  partition.fetch_add(1, std::memory_order_relaxed);
}

inline void report(self_ptr self, lane_context& ctx) {
  submit_trace(ctx);
  auto finished = ctx.channel->finished.load(std::memory_order_acquire);
  if (finished == ctx.reported)
    return;
  ctx.reported = finished;
  self->send(ctx.consumer, lane_done_atom::value, ctx.id.partition, ctx.id.lane);
}

void run(self_ptr self, const std::shared_ptr<lane_context>& ctx);

// The record is finished. With the gate it counts as done for the in-flight bound now,
// and becomes committable (`last`) once the gate has made its completion durable (a
// record not done, moved on or given up, releases its key instead).
inline void finished(lane_context& ctx, std::int64_t offset, bool effect_done) {
  if (!ctx.gate) {
    ctx.channel->last.store(offset, std::memory_order_release);
    ctx.channel->add_finished();
    return;
  }
  ctx.gate->finished(offset, effect_done);
  ctx.channel->handled.store(offset, std::memory_order_release);
  ctx.channel->add_finished();
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

// Runs the lane again after a suspension.
inline void resume(self_ptr self, const std::shared_ptr<lane_context>& ctx) {
  self->state.awaiting = false;
  guarded(self, *ctx, [&] { run(self, ctx); });
}

// Leaves the batch (the record stays in the channel) until a message resumes the lane.
inline void suspend(self_ptr self, lane_context& ctx) {
  self->state.awaiting = true;
  ctx.channel->release();
  if (ctx.gate)
    ctx.gate->flush(self);
  report(self, ctx);
}

/// Before a record's first attempt in this lane: its retry topic's due time, and the
/// crashes of the lanes before this one. True: go on with the attempt; false: the lane
/// suspended or the record moved on (then `moved_on` is set).
bool prepare(self_ptr self, const std::shared_ptr<lane_context>& ctx, rd_kafka_message_t& m,
             bool& moved_on);

/// A failed attempt on `m`: applies what the policy says next. True: the lane goes on
/// with the next record; false: it suspended (backoff timer, or moving the record).
bool failed(self_ptr self, const std::shared_ptr<lane_context>& ctx, rd_kafka_message_t& m,
            std::string error_class, std::string message, bool permanent);

/// Sends the record being moved (state.moving) to the producer again.
void produce(self_ptr self, const std::shared_ptr<lane_context>& ctx);

} // namespace phoenix::kafka::lane
