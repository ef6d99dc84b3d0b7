#include "kafka/idempotency.hpp"

#include "kafka/header_views.hpp"
#include "kafka/rdkafka.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/idempotency_key.hpp"

#include <algorithm>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>
#include <variant>

namespace phoenix::kafka {
namespace {

constexpr std::size_t repeats_earlier = static_cast<std::size_t>(-1);

} // namespace

result<std::shared_ptr<const gate_settings>>
make_gate_settings(const group_consumer_config& cfg) {
  if (!cfg.idempotency.store)
    return std::shared_ptr<const gate_settings>{};
  auto s = std::make_shared<gate_settings>();
  s->cfg = cfg.idempotency;
  s->scope = cfg.idempotency.scope;
  if (s->scope.empty())
    if (auto it = cfg.properties.find("group.id"); it != cfg.properties.end())
      s->scope = it->second;
  if (s->scope.empty())
    return error{runtime::errc::invalid_argument,
                 cfg.origin + ": idempotency scope: empty, and no group.id to default to"};
  for (unsigned char c : s->scope)
    if (c == '|' || c < 0x20 || c == 0x7f)
      return error{runtime::errc::invalid_argument,
                   cfg.origin + ": idempotency scope \"" + s->scope +
                       "\": must not hold '|' or control characters"};
  return std::shared_ptr<const gate_settings>{std::move(s)};
}

idempotency_gate::idempotency_gate(std::shared_ptr<const gate_settings> settings,
                                   lane_channel& channel, std::uint32_t lane,
                                   std::shared_ptr<consumer_stats> stats,
                                   std::shared_ptr<partition_stats> part, hooks h)
    : settings_(std::move(settings)), channel_(channel), lane_(lane),
      stats_(std::move(stats)), part_(std::move(part)), hooks_(std::move(h)) {
  channel_.gated.store(true, std::memory_order_release);
  // A crashed predecessor's completions: sent before anything of this gate, and the
  // records they finish become committable with them.
  ops_ = std::move(channel_.unsent.ops);
  finished_ = std::move(channel_.unsent.finished);
  channel_.unsent = {};
}

std::string idempotency_gate::key_of(rd_kafka_message_t& m, std::string_view topic) {
  rd::header_views(m, headers_);
  return runtime::idempotency_key_of(headers_.data(), headers_.size(), topic, m.partition,
                                     m.offset);
}

std::string idempotency_gate::scoped(const std::string& key) const {
  std::string out;
  out.reserve(settings_->scope.size() + 1 + key.size());
  out += settings_->scope;
  out += '|';
  out += key;
  return out;
}

bool idempotency_gate::ready(caf::event_based_actor* self, const lane_batch& batch,
                             std::int64_t done_upto) {
  const auto first = batch.records.front()->offset;
  if (admitted_.first == &batch && admitted_.second == first) {
    if (unanswered_ == 0)
      return true;
    flush(self); // its claims may still wait behind a request that failed
    return false;
  }
  admitted_ = {&batch, first};
  const auto& m0 = *batch.records.front();
  const std::string_view topic = rd_kafka_topic_name(m0.rkt);
  if (owner_.empty()) // who holds a claim: the partition's next run takes its keys back
    owner_ = settings_->scope + "/" + std::string(topic) + "/" +
             std::to_string(m0.partition) + "/" + std::to_string(lane_);
  const auto given_up = channel_.given_up.load(std::memory_order_acquire);
  for (const auto& msg : batch.records) {
    auto& m = *msg;
    if (m.offset == given_up) {
      // It crashed its lanes until the consumer gave it up: its key, which a lane of
      // this owner claimed, is released (a later delivery may try again), and the record
      // becomes committable once that is durable.
      ops_.emplace_back(persistence::release_op{{scoped(key_of(m, topic))}});
      finished_.push_back(m.offset);
      channel_.given_up.store(-1, std::memory_order_release);
      continue;
    }
    if (m.offset <= done_upto)
      continue; // finished before a restart
    records_[m.offset] = entry{key_of(m, topic)};
    to_claim_.push_back(m.offset);
    ++unanswered_;
  }
  if (unanswered_ == 0)
    return true;
  flush(self);
  return false;
}

verdict idempotency_gate::check(caf::event_based_actor* self, std::int64_t offset) {
  auto it = records_.find(offset);
  if (it == records_.end())
    return verdict::run; // not admitted: cannot happen, as admit and the lane skip alike
  switch (it->second.v) {
  case verdict::run:
    return verdict::run;
  case verdict::skip:
    stats_->duplicates.fetch_add(1, std::memory_order_relaxed);
    if (part_)
      part_->duplicates.fetch_add(1, std::memory_order_relaxed);
    records_.erase(it);
    if (finished_.empty())    // everything before it is durable: so is this, at once
      hooks_.durable(offset); // (a crash further on then is not laid at its door)
    else
      finished_.push_back(offset);
    return verdict::skip;
  case verdict::recheck:
    if (std::find(to_claim_.begin(), to_claim_.end(), offset) == to_claim_.end())
      to_claim_.push_back(offset); // sent by the flush at the end of the lane's run
    return verdict::recheck;
  case verdict::wait:
    if (waiting_offset_ != offset) {
      waiting_offset_ = offset;
      tick_after(self, settings_->cfg.retry_min);
    }
    return verdict::wait;
  }
  return verdict::run;
}

void idempotency_gate::finished(std::int64_t offset, bool effect_done) {
  auto it = records_.find(offset);
  if (it == records_.end())
    return;
  auto& key = it->second.key;
  if (auto h = held_.find(key); h != held_.end() && --h->second == 0)
    held_.erase(h);
  if (effect_done)
    ops_.emplace_back(persistence::complete_op{{scoped(key)}});
  else // rejected or undecodable: a later delivery may try again
    ops_.emplace_back(persistence::release_op{{scoped(key)}});
  finished_.push_back(offset);
  records_.erase(it);
}

void idempotency_gate::flush(caf::event_based_actor* self) {
  if (in_flight_ || failing_)
    return; // the answer (or the retry) flushes again
  if (ops_.empty() && to_claim_.empty()) {
    if (!finished_.empty()) { // only skipped records: nothing to write first
      auto last = finished_.back();
      finished_.clear();
      hooks_.durable(last);
    }
    return;
  }
  request_ = {};
  request_.ops = std::move(ops_);
  ops_.clear();
  request_finished_ = finished_.size();
  request_claims_.clear();
  std::unordered_map<std::string, std::size_t> claimed_here;
  std::size_t claims = 0;
  for (auto offset : to_claim_) {
    auto it = records_.find(offset);
    if (it == records_.end())
      continue;
    const auto& key = it->second.key;
    // A key an earlier record of this lane holds, or claims in this request, waits for
    // that record to finish: then its completion goes out before this claim again.
    if (held_.count(key) || claimed_here.count(key)) {
      request_claims_.push_back({offset, repeats_earlier});
      continue;
    }
    claimed_here.emplace(key, claims);
    request_.ops.emplace_back(
        persistence::claim_op{{scoped(key)}, settings_->cfg.lease, owner_});
    request_claims_.push_back({offset, claims++});
  }
  to_claim_.clear();
  send(self);
}

void idempotency_gate::send(caf::event_based_actor* self) {
  in_flight_ = true;
  auto store = settings_->cfg.store->actor();
  if (!store) {
    on_failure(self, "the store actor is not running");
    return;
  }
  self->request(store, settings_->cfg.request_timeout, persistence::store_apply_atom::value,
                request_)
      .then([this, self](persistence::reply& rep) { on_reply(self, rep); },
            [this, self](caf::error& err) { on_failure(self, runtime::describe(err)); });
}

void idempotency_gate::on_reply(caf::event_based_actor*, const persistence::reply& rep) {
  in_flight_ = false;
  if (failing_) {
    failing_ = false;
    backoff_ = std::chrono::milliseconds{0};
    stats_->store_waiting.fetch_sub(1, std::memory_order_relaxed);
    spdlog::info("consumer: lane {}: the store answers again", owner_);
  }
  if (request_finished_ > 0) {
    auto last = finished_[request_finished_ - 1];
    finished_.erase(finished_.begin(),
                    finished_.begin() + static_cast<std::ptrdiff_t>(request_finished_));
    request_finished_ = 0;
    hooks_.durable(last);
  }
  for (const auto& t : request_claims_) {
    auto it = records_.find(t.offset);
    if (it == records_.end())
      continue;
    auto& e = it->second;
    if (!e.answered) {
      e.answered = true;
      --unanswered_;
    }
    if (t.claim == repeats_earlier || t.claim >= rep.claims.size()) {
      e.v = verdict::recheck;
      continue;
    }
    switch (rep.claims[t.claim]) {
    case persistence::claim_outcome::claimed:
      e.v = verdict::run;
      ++held_[e.key];
      break;
    case persistence::claim_outcome::completed:
      e.v = verdict::skip;
      break;
    case persistence::claim_outcome::in_progress:
      e.v = verdict::wait;
      break;
    }
  }
  request_claims_.clear();
  waiting_offset_ = -1; // asked again: a record still held elsewhere waits anew
  hooks_.resume();
}

void idempotency_gate::on_failure(caf::event_based_actor* self, const std::string& why) {
  in_flight_ = false;
  stats_->store_retries.fetch_add(1, std::memory_order_relaxed);
  if (!failing_) {
    failing_ = true;
    backoff_ = settings_->cfg.retry_min;
    stats_->store_waiting.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "consumer: lane {}: store request failed, holding commits and retrying: {}", owner_,
        why);
  } else {
    backoff_ = std::min(backoff_ * 2, settings_->cfg.retry_max);
  }
  tick_after(self, backoff_);
}

void idempotency_gate::tick_after(caf::event_based_actor* self,
                                  std::chrono::milliseconds delay) {
  if (tick_due_)
    return;
  tick_due_ = true;
  self->delayed_send(self, delay, gate_tick_atom::value);
}

void idempotency_gate::on_tick(caf::event_based_actor* self) {
  tick_due_ = false;
  if (failing_) {
    if (!in_flight_)
      send(self); // the same request again: every operation in it is idempotent
    return;
  }
  if (waiting_offset_ >= 0) {
    if (records_.count(waiting_offset_))
      to_claim_.push_back(waiting_offset_);
    waiting_offset_ = -1;
    flush(self);
  }
}

void idempotency_gate::crashed(caf::event_based_actor* self) {
  auto& left = channel_.unsent;
  left = {};
  if (in_flight_ || failing_) // its answer (or its retry) is lost with this lane
    for (auto& op : request_.ops)
      if (!std::holds_alternative<persistence::claim_op>(op))
        left.ops.push_back(op);
  left.ops.insert(left.ops.end(), ops_.begin(), ops_.end());
  left.finished = finished_;
  if (left.ops.empty())
    return;
  if (auto store = settings_->cfg.store->actor())
    self->send(store, persistence::store_apply_atom::value,
               persistence::store_request{left.ops});
}

} // namespace phoenix::kafka
