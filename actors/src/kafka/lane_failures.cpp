#include "kafka/lane_context.hpp"
#include "phoenix/actors/policies/backoff.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::kafka::lane {
namespace {
using step_kind = policies::next_step::kind;
} // namespace

// Sends the record being moved (state.moving) to the producer; on its delivery report
// the record is finished, on a failure it is sent again after a backoff. Until then the
// record is not committable and holds its partition's in-flight records.
void produce(self_ptr self, const std::shared_ptr<lane_context>& ctx) {
  auto& st = self->state;
  auto retry_later = [self, ctx](const std::string& why) {
    auto& st = self->state;
    count(ctx->stats->produce_failures, ctx->part->produce_failures);
    st.produce_backoff =
        std::min(std::max(st.produce_backoff * 2, std::chrono::milliseconds{100}),
                 std::chrono::milliseconds{5000});
    spdlog::warn("lane: moving record {} to {} failed, again in {} ms: {}",
                 where(ctx->policy->topic, st.failure.marks.original_partition,
                       st.failure.marks.original_offset),
                 st.moving->topic, st.produce_backoff.count(), why);
    self->delayed_send(self, st.produce_backoff, lane_produce_atom::value);
  };
  auto producer = ctx->policy->producer->get();
  if (!producer) {
    retry_later("producer unavailable");
    return;
  }
  self->request(producer, ctx->policy->produce_timeout, produce_atom::value, *st.moving)
      .then(
          [self, ctx](const delivery_report&) {
            auto& st = self->state;
            auto dlq = st.moving->topic == policies::dlq_topic(ctx->policy->topic);
            if (dlq)
              count(ctx->stats->dead_lettered, ctx->part->dead_lettered);
            else
              count(ctx->stats->retry_topic_records, ctx->part->retry_topic_records);
            st.moving.reset();
            st.produce_backoff = std::chrono::milliseconds{0};
            finished(*ctx, st.failure.offset, false);
            st.failure.clear();
            resume(self, ctx);
          },
          [retry_later](caf::error& err) { retry_later(runtime::describe(err)); });
}

// Applies `step` to the failing record `m`. True: the lane goes on with the next record;
// false: it suspended (retry timer, or moving the record).
static bool apply(self_ptr self, const std::shared_ptr<lane_context>& ctx,
                  rd_kafka_message_t& m, const policies::next_step& step) {
  auto& st = self->state;
  auto& f = st.failure;
  const auto& pol = *ctx->policy;
  const std::string_view topic = rd_kafka_topic_name(m.rkt);
  auto at = where(topic, m.partition, m.offset);
  auto row = [&](const char* stage, std::string detail) {
    if (tracing(*ctx))
      trace(*ctx, st.headers, topic, m.partition, m.offset, stage,
            "attempt " + std::to_string(f.marks.attempts) + " failed: " +
                f.marks.error_class + ": " + f.marks.error_message + "; " + detail);
  };
  if (step.what == step_kind::retry_in_place) {
    count(ctx->stats->retried, ctx->part->retried);
    row(stage::retried,
        "again in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(step.delay).count()) +
            " ms");
    suspend(self, *ctx);
    self->delayed_send(self, step.delay, lane_retry_atom::value);
    return false;
  }
  if (step.what == step_kind::give_up || !pol.producer) {
    if (f.marks.error_class != "undecodable")
      count(ctx->stats->rejected, ctx->part->rejected);
    spdlog::error("record {} given up after {} attempt(s): {}: {}", at, f.marks.attempts,
                  f.marks.error_class, f.marks.error_message);
    row(stage::given_up,
        pol.producer ? "out of attempts, no DLQ" : "no producer for a DLQ");
    finished(*ctx, m.offset, false);
    f.clear();
    return true;
  }
  spdlog::warn("record {} to {} after {} attempt(s): {}: {}", at,
               step.what == step_kind::dead_letter ? "the DLQ" : "a retry topic",
               f.marks.attempts, f.marks.error_class, f.marks.error_message);
  st.moving = policies::moved_record(
      pol, step, f, {static_cast<const char*>(m.key), m.key ? m.key_len : 0},
      {static_cast<const char*>(m.payload), m.payload ? m.len : 0}, st.headers);
  row(step.what == step_kind::dead_letter ? stage::dead_lettered : stage::retry_topic,
      "to " + st.moving->topic);
  suspend(self, *ctx);
  produce(self, ctx);
  return false;
}

// A failed attempt on `m`: what the policy says next.
bool failed(self_ptr self, const std::shared_ptr<lane_context>& ctx, rd_kafka_message_t& m,
            std::string error_class, std::string message, bool permanent) {
  auto& f = self->state.failure;
  count(ctx->stats->failed_attempts, ctx->part->failed_attempts);
  f.failed(std::move(error_class), std::move(message));
  const auto& p = ctx->policy->policy;
  auto wait = policies::full_jitter(p, f.attempts, self->state.rng());
  auto in_place = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - f.since);
  return apply(self, ctx, m,
               policies::after_failure(p, ctx->policy->level, f.attempts, in_place, wait,
                                       permanent));
}

// Before a record's first attempt in this lane: its retry topic's due time, and the
// crashes of the lanes before this one. True: go on with the attempt; false: the lane
// suspended or the record moved on (then `moved_on` is set).
bool prepare(self_ptr self, const std::shared_ptr<lane_context>& ctx, rd_kafka_message_t& m,
             bool& moved_on) {
  auto& f = self->state.failure;
  const auto& pol = *ctx->policy;
  moved_on = false;
  if (pol.level > 0) { // a retry topic: not before the record is due
    auto marks = policies::read_marks(self->state.headers);
    auto now = policies::wall_ms();
    if (marks.due_ms > now) {
      suspend(self, *ctx);
      self->delayed_send(self, std::chrono::milliseconds{marks.due_ms - now},
                         lane_retry_atom::value);
      return false;
    }
    if (f.offset != m.offset)
      f.start(m.offset, pol, m.partition, std::move(marks));
  } else if (f.offset != m.offset) {
    f.start(m.offset, pol, m.partition, {});
  }
  auto note = ctx->channel->crashes_at(m.offset);
  if (note.count == 0 || f.attempts >= note.count)
    return true;
  // Each restart finds one more crash noted: one more failed attempt.
  count(ctx->stats->failed_attempts, ctx->part->failed_attempts);
  f.attempts = note.count - 1;
  f.failed("crash", note.reason);
  if (tracing(*ctx))
    trace(*ctx, self->state.headers, rd_kafka_topic_name(m.rkt), m.partition, m.offset,
          stage::crashed,
          "attempt " + std::to_string(f.marks.attempts) + ": " + note.reason);
  if (note.count < pol.max_crashes && f.attempts < pol.policy.attempts)
    return true; // tried again at once: the restart was the pause
  auto exhausted = std::max(f.attempts, pol.policy.attempts);
  moved_on =
      apply(self, ctx, m,
            policies::after_failure(pol.policy, pol.level, exhausted, {}, {}, false));
  return false;
}

} // namespace phoenix::kafka::lane
