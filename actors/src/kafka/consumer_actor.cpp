#include "kafka/consumer_actor.hpp"

#include "kafka/lane_worker.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::kafka {

using poll_atom = caf::atom_constant<caf::atom("gc_poll")>;
using tick_atom = caf::atom_constant<caf::atom("gc_tick")>;

consumer_actor::consumer_actor(caf::actor_config& cfg,
                               std::shared_ptr<consumer_handle> handle,
                               group_consumer_config config,
                               std::map<std::string, handler> handlers,
                               policies::lane_policies lane_policies,
                               std::shared_ptr<consumer_stats> stats)
    : caf::event_based_actor(cfg), rk_(std::move(handle)), cfg_(std::move(config)),
      handlers_(std::move(handlers)), lane_policies_(std::move(lane_policies)),
      stats_(std::move(stats)) {
  rk_->set_listener(this);
  // Checked by the start function (group_consumer_child) already.
  if (auto gate = make_gate_settings(cfg_))
    idempotency_ = *gate;
  find_breakers();
}

caf::behavior consumer_actor::make_behavior() {
  runtime::crash_on_exception(this);
  set_down_handler([this](caf::down_msg& msg) { on_lane_down(msg); });
  set_exit_handler([this](caf::exit_msg& msg) { stop(msg.reason); });
  send(this, poll_atom::value);
  delayed_send(this, cfg_.commit_interval, tick_atom::value);
  return {
      [this](poll_atom) {
        poll_round();
        if (!stopping_)
          send(this, poll_atom::value);
      },
      [this](lane_done_atom, std::uint64_t partition, std::uint32_t lane) {
        on_done(partition, lane);
      },
      [this](tick_atom) {
        refresh_lag();
        if (!stopping_)
          delayed_send(this, cfg_.commit_interval, tick_atom::value);
      },
  };
}

// However the actor ends (stopped, crashed, killed), its lanes end with it and start no
// further record; librdkafka's handle is destroyed when the last record of it is.
void consumer_actor::on_exit() {
  rk_->set_listener(nullptr);
  for (auto& [tp, st] : parts_)
    stop_lanes(st);
  parts_.clear();
  paused_ = 0;
  stats_->breaker_paused.store(0, std::memory_order_relaxed);
  by_id_.clear();
}

void consumer_actor::on_assigned(const std::vector<topic_partition>& tps) {
  rebalanced_ = true;
  last_rkt_ = nullptr;
  for (auto& tp : tps) {
    if (stopping_)
      break; // no new work; the partitions go back to the group on close
    auto [it, fresh] =
        parts_.try_emplace(tp, next_id_, cfg_.key_concurrency, cfg_.max_in_flight, rk_);
    if (!fresh)
      continue;
    it->second.stats = stats_->partitions.of(tp);
    it->second.stats->assigned.store(true, std::memory_order_relaxed);
    by_id_[next_id_++] = {&it->first, &it->second};
    for (std::size_t i = 0; i < it->second.lanes().size(); ++i)
      start_lane(tp, it->second, i);
    spdlog::info("consumer: assigned {}", to_string(tp));
  }
  if (cfg_.on_assigned)
    cfg_.on_assigned(tps);
}

void consumer_actor::on_revoked(const std::vector<topic_partition>& tps, bool lost) {
  rebalanced_ = true;
  last_rkt_ = nullptr;
  if (!lost) {
    // One bound for both: the group waits for this callback. The commit is synchronous:
    // the next owner reads from what it stores.
    auto deadline = clock::now() + cfg_.drain_timeout;
    drain(tps, deadline);
    if (auto status = commit(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
        !status.ok)
      commit_failed(status);
  }
  for (auto& tp : tps) {
    auto it = parts_.find(tp);
    if (it == parts_.end())
      continue;
    spdlog::info("consumer: {} {}; {} records were in flight, {} held", to_string(tp),
                 lost ? "lost" : "revoked", it->second.in_flight(), it->second.held.size());
    stop_lanes(it->second);
    it->second.stats->assigned.store(false, std::memory_order_relaxed);
    it->second.stats->in_flight.store(0, std::memory_order_relaxed);
    paused_ -= it->second.paused ? 1 : 0;
    if (it->second.breaker_paused)
      stats_->breaker_paused.fetch_sub(1, std::memory_order_relaxed);
    by_id_.erase(it->second.id());
    parts_.erase(it);
  }
  if (cfg_.on_revoked)
    cfg_.on_revoked(tps, lost);
}

// Hands a moved watermark to librdkafka's offset store; its commit timer sends it.
void consumer_actor::store(const topic_partition& tp, partition_state& st) {
  if (auto o = st.take_store(); o >= 0)
    rk_->store(tp, o);
}

// Commits now every partition whose watermark the broker has not confirmed. The
// watermark is stored first, so that librdkafka's own commits (timer, unassign, close)
// never send an older offset after this one.
consumer_handle::commit_status consumer_actor::commit(std::chrono::milliseconds retry_for) {
  std::vector<std::pair<topic_partition, std::int64_t>> offsets;
  for (auto& [tp, st] : parts_) {
    st.refresh();
    store(tp, st);
    if (auto o = st.commit_due(); o >= 0)
      offsets.emplace_back(tp, o);
  }
  if (offsets.empty())
    return {};
  auto started = clock::now();
  auto status = rk_->commit(offsets, retry_for);
  stats_->commit_latency.observe(clock::now() - started);
  if (status.ok)
    on_committed(offsets);
  else
    stats_->commit_failures.fetch_add(1, std::memory_order_relaxed);
  return status;
}

void consumer_actor::commit_failed(const consumer_handle::commit_status& status) {
  stats_->handover_commit_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("consumer: {}; uncommitted records are read again by their partitions' next "
               "owners",
               status.message);
}

void consumer_actor::on_committed(
    const std::vector<std::pair<topic_partition, std::int64_t>>& stored) {
  stats_->commits.fetch_add(1, std::memory_order_relaxed);
  for (auto& [tp, offset] : stored) {
    if (auto it = parts_.find(tp); it != parts_.end()) {
      it->second.committed(offset);
      it->second.stats->committed.store(offset, std::memory_order_relaxed);
    }
  }
}

void consumer_actor::on_commit_failed() {
  stats_->commit_failures.fetch_add(1, std::memory_order_relaxed);
}

// Lag needs the log end; librdkafka keeps it from its fetches, so this asks no broker.
// Refreshed every commit interval, also when nothing moved (a stuck partition is when
// lag matters).
void consumer_actor::refresh_lag() {
  for (auto& [tp, st] : parts_)
    st.stats->high_watermark.store(rk_->high_watermark(tp), std::memory_order_relaxed);
}

void consumer_actor::stop(const caf::error& reason) {
  if (stopping_)
    return;
  stopping_ = true;
  std::vector<topic_partition> all;
  for (auto& [tp, st] : parts_)
    all.push_back(tp);
  drain(all, clock::now() + cfg_.drain_timeout);
  final_commit();
  release_records(clock::now() + cfg_.drain_timeout);
  // Leaves the group; the revoke callback finds nothing left to drain or commit.
  rk_->close();
  spdlog::info("consumer stopped");
  quit(reason);
}

// While the group rebalances the coordinator refuses commits, and librdkafka answers
// one that waited behind this member's JoinGroup by dropping the assignment. So the
// rebalance is served first (records polled meanwhile stay uncommitted for the next
// owner; a revoke commits in its callback) and the commit made once it settled.
void consumer_actor::final_commit() {
  auto deadline = clock::now() + cfg_.commit_timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  };
  for (;;) {
    auto status = commit(left());
    if (status.ok)
      return;
    if (!status.rebalancing || left().count() <= 0) {
      commit_failed(status);
      return;
    }
    rebalanced_ = false;
    while (!rebalanced_ && left().count() > 0) {
      rk_->poll(polled_, cfg_.poll_batch, 100);
      for (auto* m : polled_)
        rd_kafka_message_destroy(m); // not handled, not committed: the next owner reads it
    }
  }
}

// Stops every lane and drops every record still held, so that librdkafka's close does
// not wait on them. A lane still inside a handler (the drain ran out) lets go of its
// records when that call returns; it is waited for until `deadline`, after which the
// handle's destruction waits instead (the channels hold the handle).
void consumer_actor::release_records(clock::time_point deadline) {
  std::vector<std::shared_ptr<lane_channel>> channels;
  for (auto& [tp, st] : parts_) {
    for (auto& lane : st.lanes())
      channels.push_back(lane.channel);
    stop_lanes(st);
  }
  parts_.clear();
  paused_ = 0;
  by_id_.clear();
  for (auto& ch : channels)
    while (!ch->released() && clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

} // namespace phoenix::kafka
