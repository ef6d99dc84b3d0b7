#include "kafka/consumer_actor.hpp"
#include "kafka/lane_worker.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <caf/system_messages.hpp>
#include <cstring>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::kafka {

// One poll round: up to poll_batch records, each handed unparsed to its partition, and
// one message per lane that received any.
void consumer_actor::poll_round() {
  if (stopping_)
    return;
  last_rkt_ = nullptr;
  apply_breakers();
  // While a partition is paused, its lanes' progress (lane_done messages, served between
  // polls) is what resumes it: a poll blocking on an empty queue would hold that back
  // and let the lanes run dry.
  rk_->poll(polled_, cfg_.poll_batch, paused_ > 0 ? 1 : 100);
  if (paused_ > 0)
    limit_prefetch();
  stats_->consumed.fetch_add(polled_.size(), std::memory_order_relaxed);
  for (auto* m : polled_)
    take(rd::message_ptr{m});
  polled_.clear();
  for (auto* st : touched_)
    send_outgoing(*st);
  for (auto* st : touched_)
    flow_control(*by_id_.at(st->id()).first, *st);
  touched_.clear();
  if (dropped_ > 0) {
    // Only reachable if librdkafka hands out records of a partition it no longer assigns;
    // nothing is committed for them, so their next owner reads them again.
    spdlog::warn("consumer: {} records of unassigned partitions dropped", dropped_);
    dropped_ = 0;
  }
}

// Finds the record's partition (records come in runs of one partition, so the lookup by
// name runs once per run) and dispatches it, or holds it while the partition is full.
void consumer_actor::take(rd::message_ptr m) {
  if (m->rkt != last_rkt_ || m->partition != last_partition_) {
    last_rkt_ = m->rkt;
    last_partition_ = m->partition;
    auto it = parts_.find(topic_partition{rd_kafka_topic_name(m->rkt), m->partition});
    last_part_ = it == parts_.end() ? std::pair<const topic_partition*, partition_state*>{}
                                    : std::pair{&it->first, &it->second};
  }
  auto* st = last_part_.second;
  if (st == nullptr) {
    ++dropped_;
    return;
  }
  if (m->offset <= st->last_taken())
    return; // already taken (a stale fetch): never twice, never out of order
  st->taken(m->offset);
  st->stats->consumed.fetch_add(1, std::memory_order_relaxed);
  if (st->held.empty() && st->room() > 0) {
    auto lane = st->lane_of({static_cast<const char*>(m->key), m->key ? m->key_len : 0});
    st->dispatched(lane, m->offset);
    auto& out = st->lanes()[lane].outgoing;
    if (out.records.empty() &&
        std::find(touched_.begin(), touched_.end(), st) == touched_.end())
      touched_.push_back(st);
    out.records.push_back(std::move(m));
  } else {
    st->held.push_back(std::move(m));
    if (std::find(touched_.begin(), touched_.end(), st) == touched_.end())
      touched_.push_back(st);
  }
}

// Moves held records into their lanes' outgoing batches while there is room.
void consumer_actor::dispatch(partition_state& st) {
  while (!st.held.empty() && st.room() > 0) {
    auto& m = st.held.front();
    auto lane = st.lane_of({static_cast<const char*>(m->key), m->key ? m->key_len : 0});
    st.dispatched(lane, m->offset);
    st.lanes()[lane].outgoing.records.push_back(std::move(m));
    st.held.pop_front();
  }
}

void consumer_actor::send_outgoing(partition_state& st) {
  for (auto& lane : st.lanes()) {
    if (lane.outgoing.records.empty())
      continue;
    lane.channel->push(std::move(lane.outgoing));
    lane.outgoing = {};
    if (lane.worker)
      send(lane.worker, lane_wake_atom::value);
  }
  st.stats->in_flight.store(static_cast<std::int64_t>(st.in_flight()),
                            std::memory_order_relaxed);
  auto in_flight = static_cast<std::uint64_t>(st.in_flight());
  auto seen = stats_->max_in_flight.load(std::memory_order_relaxed);
  while (in_flight > seen &&
         !stats_->max_in_flight.compare_exchange_weak(seen, in_flight)) {
  }
}

// Pauses a partition that holds records it had no room for, and resumes it once half
// of its bound is free and nothing is held. The pause detaches the partition's fetch
// queue from the consumer queue rather than pausing it at librdkafka, which would drop
// what librdkafka prefetched for it and fetch that again on resume: detached, the
// fetched records wait in the partition's own queue and follow, in order, when it is
// attached again. limit_prefetch pauses it at librdkafka too once that queue passes the
// bound, so what librdkafka fetches for a slow partition stays within about its bound
// (plus one fetch); `held` keeps what the consumer queue already had of it.
void consumer_actor::flow_control(const topic_partition& tp, partition_state& st) {
  if (!st.paused && !st.held.empty()) {
    if (auto ok = rk_->detach(tp); !ok) {
      spdlog::warn("consumer: {}; pausing it instead", ok.error().message());
      pause_fetch(tp, st);
    }
    st.paused = true;
    ++paused_;
    stats_->pauses.fetch_add(1, std::memory_order_relaxed);
  } else if (st.paused && st.held.empty() && st.in_flight() <= st.bound() / 2) {
    if (st.fetch_paused && !st.breaker_paused) {
      if (auto ok = rk_->pause(tp, false); !ok) {
        spdlog::warn("consumer: {}", ok.error().message());
        return;
      }
    }
    rk_->attach(tp);
    st.fetch_paused = false;
    st.paused = false;
    --paused_;
    stats_->resumes.fetch_add(1, std::memory_order_relaxed);
  }
}

// Pauses at librdkafka the paused partitions whose own queue grew past their bound.
void consumer_actor::limit_prefetch() {
  for (auto& [tp, st] : parts_)
    if (st.paused && !st.fetch_paused && rk_->detached_records(tp) > st.bound())
      pause_fetch(tp, st);
}

void consumer_actor::pause_fetch(const topic_partition& tp, partition_state& st) {
  if (!st.breaker_paused) { // else paused already
    if (auto ok = rk_->pause(tp, true); !ok) {
      spdlog::warn("consumer: {}", ok.error().message());
      return;
    }
  }
  st.fetch_paused = true;
  stats_->fetch_pauses.fetch_add(1, std::memory_order_relaxed);
}

void consumer_actor::on_done(std::uint64_t partition_id, std::uint32_t) {
  auto it = by_id_.find(partition_id);
  if (it == by_id_.end())
    return; // revoked meanwhile
  auto& [tp, st] = it->second;
  st->refresh();
  st->stats->in_flight.store(static_cast<std::int64_t>(st->in_flight()),
                             std::memory_order_relaxed);
  store(*tp, *st);
  if (st->paused && st->in_flight() <= st->bound() / 2) {
    dispatch(*st);
    send_outgoing(*st);
    flow_control(*tp, *st);
  }
}

void consumer_actor::start_lane(const topic_partition& tp, partition_state& st,
                                std::size_t i) {
  auto& lane = st.lanes()[i];
  auto h = handlers_.count(tp.topic) ? handlers_.at(tp.topic) : handlers_.begin()->second;
  auto policy = lane_policies_.count(tp.topic) ? lane_policies_.at(tp.topic)
                                               : lane_policies_.begin()->second;
  lane.worker =
      spawn(lane_worker, caf::actor_cast<caf::actor>(this),
            lane_id{st.id(), static_cast<std::uint32_t>(i)}, lane.channel, std::move(h),
            stats_, st.stats, idempotency_, std::move(policy), cfg_.admission, cfg_.trace);
  monitor(lane.worker);
}

void consumer_actor::stop_lanes(partition_state& st) {
  for (auto& lane : st.lanes()) {
    lane.channel->cancel(static_cast<bool>(lane.worker));
    if (!lane.worker)
      continue;
    demonitor(lane.worker);
    send_exit(lane.worker, caf::exit_reason::user_shutdown);
    lane.worker = nullptr;
  }
}

void consumer_actor::on_lane_down(const caf::down_msg& msg) {
  for (auto& [tp, st] : parts_) {
    for (std::size_t i = 0; i < st.lanes().size(); ++i) {
      auto& lane = st.lanes()[i];
      if (!lane.worker || lane.worker.address() != msg.source)
        continue;
      lane.worker = nullptr;
      if (!stopping_)
        restart_lane(tp, st, i, msg.reason);
      return;
    }
  }
}

// Restarts a crashed lane, which resumes at its first record not yet finished (they
// wait in its channel); the crash is noted in the channel for the record's attempts.
void consumer_actor::restart_lane(const topic_partition& tp, partition_state& st,
                                  std::size_t i, const caf::error& reason) {
  auto& lane = st.lanes()[i];
  auto& ch = *lane.channel;
  stats_->restarts.fetch_add(1, std::memory_order_relaxed);
  // The consumer supervises its partition actors: the health monitor counts this
  // restart like a supervisor's (kind "partition").
  auto lane_name = "partition:" + to_string(tp) + ":" + std::to_string(i);
  for (auto kind : {runtime::supervisor_event::child_exited,
                    runtime::supervisor_event::child_restarted})
    runtime::report_supervision_event(
        system(),
        {kind, name(), lane_name, runtime::describe(reason), stats_->restarts.load()});
  auto at = ch.current.load(std::memory_order_acquire);
  if (at > ch.last.load(std::memory_order_acquire)) {
    // The restarted lane counts the crash against the record's attempts (and moves it
    // on to a retry topic or the DLQ when they are used up).
    auto crashes = ch.note_crash(at, runtime::describe(reason));
    spdlog::error("consumer: partition actor {} lane {} crashed at offset {} ({}/{}): {}",
                  to_string(tp), i, at, crashes, cfg_.max_crashes_per_record,
                  runtime::describe(reason));
  } else {
    spdlog::error("consumer: partition actor {} lane {} crashed: {}", to_string(tp), i,
                  runtime::describe(reason));
  }
  start_lane(tp, st, i);
  send(lane.worker, lane_wake_atom::value);
}

// Waits (bounded) until the lanes of `tps` have finished what they were sent. The lanes
// run on other threads and publish progress in their channels, so waiting here does not
// stop them.
void consumer_actor::drain(const std::vector<topic_partition>& tps,
                           clock::time_point deadline) {
  for (;;) {
    bool all = true;
    for (auto& tp : tps)
      if (auto it = parts_.find(tp); it != parts_.end() && !it->second.drained())
        all = false;
    if (all || clock::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  for (auto& tp : tps) {
    auto it = parts_.find(tp);
    if (it == parts_.end())
      continue;
    it->second.refresh();
    if (!it->second.drained())
      spdlog::warn("consumer: {} not drained in time; {} records will be read again by its "
                   "next owner",
                   to_string(tp), it->second.in_flight());
  }
}

} // namespace phoenix::kafka
