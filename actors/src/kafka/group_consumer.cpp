#include "phoenix/actors/kafka/group_consumer.hpp"

#include "kafka/consumer_handle.hpp"
#include "kafka/partition_state.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <cstring>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::kafka {

std::string to_string(const topic_partition& tp) {
  return tp.topic + "[" + std::to_string(tp.partition) + "]";
}

namespace {

using poll_atom = caf::atom_constant<caf::atom("gc_poll")>;
using commit_atom = caf::atom_constant<caf::atom("gc_commit")>;

class consumer_actor : public caf::event_based_actor, public rebalance_listener {
public:
  consumer_actor(caf::actor_config& cfg, std::unique_ptr<consumer_handle> handle,
                 group_consumer_config config, std::map<std::string, handler> handlers,
                 std::shared_ptr<consumer_stats> stats)
      : caf::event_based_actor(cfg), rk_(std::move(handle)), cfg_(std::move(config)),
        handlers_(std::move(handlers)), stats_(std::move(stats)) {
    rk_->set_listener(this);
    rk_->set_commit_observer([stats = stats_](std::chrono::nanoseconds took, bool ok) {
      stats->commit_latency.observe(took);
      if (!ok)
        stats->commit_failures.fetch_add(1, std::memory_order_relaxed);
    });
  }

  const char* name() const override { return "phoenix.group_consumer"; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    set_down_handler([this](caf::down_msg& msg) { on_lane_down(msg); });
    set_exit_handler([this](caf::exit_msg& msg) { stop(msg.reason); });
    send(this, poll_atom::value);
    delayed_send(this, cfg_.commit_interval, commit_atom::value);
    return {
        [this](poll_atom) { poll_round(); },
        [this](commit_atom) {
          commit(true);
          delayed_send(this, cfg_.commit_interval, commit_atom::value);
        },
        [this](lane_done_atom, const std::string& topic, std::int32_t partition, int lane,
               std::int64_t last) {
          on_done({topic, partition}, static_cast<std::size_t>(lane), last);
        },
    };
  }

  // -- rebalance (called inside poll, on this actor's thread) ------------------------

  void on_assigned(const std::vector<topic_partition>& tps) override {
    for (auto& tp : tps) {
      auto [it, fresh] = parts_.try_emplace(tp, cfg_.key_concurrency, cfg_.max_in_flight);
      it->second.stats = stats_->partitions.of(tp);
      it->second.stats->assigned.store(true, std::memory_order_relaxed);
      if (fresh)
        for (std::size_t i = 0; i < it->second.lanes().size(); ++i)
          start_lane(tp, it->second, i);
      spdlog::info("consumer: assigned {}", to_string(tp));
    }
    if (cfg_.on_assigned)
      cfg_.on_assigned(tps);
  }

  void on_revoked(const std::vector<topic_partition>& tps, bool lost) override {
    if (!lost) {
      drain(tps);
      commit(false);
    }
    for (auto& tp : tps) {
      auto it = parts_.find(tp);
      if (it == parts_.end())
        continue;
      spdlog::info("consumer: {} {}; {} records were in flight, {} held", to_string(tp),
                   lost ? "lost" : "revoked", it->second.in_flight(),
                   it->second.held.size());
      stop_lanes(it->second);
      it->second.stats->assigned.store(false, std::memory_order_relaxed);
      it->second.stats->in_flight.store(0, std::memory_order_relaxed);
      parts_.erase(it);
    }
    if (cfg_.on_revoked)
      cfg_.on_revoked(tps, lost);
  }

private:
  void start_lane(const topic_partition& tp, partition_state& st, std::size_t i) {
    auto& lane = st.lanes()[i];
    auto h = handlers_.count(tp.topic) ? handlers_.at(tp.topic) : handlers_.begin()->second;
    lane.worker =
        spawn(lane_worker, caf::actor_cast<caf::actor>(this),
              lane_id{tp, static_cast<int>(i)}, lane.progress, std::move(h), stats_);
    monitor(lane.worker);
  }

  void stop_lanes(partition_state& st) {
    for (auto& lane : st.lanes()) {
      if (!lane.worker)
        continue;
      demonitor(lane.worker);
      send_exit(lane.worker, caf::exit_reason::user_shutdown);
      lane.worker = nullptr;
    }
  }

  void poll_round() {
    if (stopping_)
      return;
    std::map<topic_partition, std::vector<consumed_record>> polled;
    int timeout_ms = 100;
    for (std::size_t n = 0; n < cfg_.poll_batch; ++n) {
      auto r = rk_->poll(timeout_ms);
      timeout_ms = 0;
      if (!r)
        break;
      polled[{r->pos.topic, r->pos.partition}].push_back(std::move(*r));
    }
    for (auto& [tp, records] : polled) {
      stats_->consumed.fetch_add(records.size(), std::memory_order_relaxed);
      auto it = parts_.find(tp);
      if (it == parts_.end()) {
        // Only reachable if librdkafka hands out a record of a partition it has not
        // assigned; nothing is committed for it, so its next owner reads it again.
        spdlog::warn("consumer: {} records of unassigned {}", records.size(),
                     to_string(tp));
        continue;
      }
      auto& st = it->second;
      st.stats->consumed.fetch_add(records.size(), std::memory_order_relaxed);
      for (auto& r : records)
        st.held.push_back(std::move(r));
      dispatch_held(tp, st);
    }
    send(this, poll_atom::value);
  }

  // Sends held records to their lanes while there is room; pauses the partition at the
  // bound and resumes it once half the bound is free again.
  void dispatch_held(const topic_partition& tp, partition_state& st) {
    std::vector<std::vector<consumed_record>> out(st.lanes().size());
    std::size_t room = st.room();
    while (!st.held.empty() && room > 0) {
      auto& r = st.held.front();
      out[st.lane_of(r.key)].push_back(std::move(r));
      st.held.pop_front();
      --room;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].empty())
        continue;
      auto batch = std::make_shared<const lane_batch>(lane_batch{std::move(out[i])});
      st.dispatched(i, batch);
      send(st.lanes()[i].worker, batch);
    }
    st.stats->in_flight.store(static_cast<std::int64_t>(st.in_flight()),
                              std::memory_order_relaxed);
    auto in_flight = static_cast<std::uint64_t>(st.in_flight());
    auto seen = stats_->max_in_flight.load(std::memory_order_relaxed);
    while (in_flight > seen &&
           !stats_->max_in_flight.compare_exchange_weak(seen, in_flight)) {
    }
    if (!st.paused && !st.held.empty()) {
      if (auto ok = rk_->pause(tp, true); !ok) {
        spdlog::warn("consumer: {}", ok.error().message());
      } else {
        st.paused = true;
        stats_->pauses.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (st.paused && st.held.empty() && st.in_flight() <= st.bound() / 2) {
      if (auto ok = rk_->pause(tp, false); !ok) {
        spdlog::warn("consumer: {}", ok.error().message());
      } else {
        st.paused = false;
        stats_->resumes.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  void on_done(const topic_partition& tp, std::size_t lane, std::int64_t last) {
    auto it = parts_.find(tp);
    if (it == parts_.end() || lane >= it->second.lanes().size())
      return; // revoked meanwhile
    it->second.done(lane, last);
    it->second.stats->in_flight.store(static_cast<std::int64_t>(it->second.in_flight()),
                                      std::memory_order_relaxed);
    if (it->second.paused && it->second.in_flight() <= it->second.bound() / 2)
      dispatch_held(tp, it->second);
  }

  void on_lane_down(const caf::down_msg& msg) {
    for (auto& [tp, st] : parts_) {
      for (std::size_t i = 0; i < st.lanes().size(); ++i) {
        auto& lane = st.lanes()[i];
        if (!lane.worker || lane.worker.address() != msg.source)
          continue;
        lane.worker = nullptr;
        if (stopping_)
          return;
        restart_lane(tp, st, i, msg.reason);
        return;
      }
    }
  }

  // Restarts a crashed lane at its first record not yet done, giving up a record that
  // keeps crashing it.
  void restart_lane(const topic_partition& tp, partition_state& st, std::size_t i,
                    const caf::error& reason) {
    auto& lane = st.lanes()[i];
    stats_->restarts.fetch_add(1, std::memory_order_relaxed);
    // The consumer supervises its partition actors: the health monitor counts this
    // restart like a supervisor's (kind "partition").
    auto lane_name = "partition:" + to_string(tp) + ":" + std::to_string(i);
    for (auto kind : {runtime::supervisor_event::child_exited,
                      runtime::supervisor_event::child_restarted})
      runtime::report_supervision_event(
          system(),
          {kind, name(), lane_name, runtime::describe(reason), stats_->restarts.load()});
    st.apply_progress();
    auto next = lane.next_offset();
    if (next >= 0) {
      lane.crashes = lane.crash_offset == next ? lane.crashes + 1 : 1;
      lane.crash_offset = next;
      spdlog::error("consumer: partition actor {} lane {} crashed at offset {} ({}/{}): {}",
                    to_string(tp), i, next, lane.crashes, cfg_.max_crashes_per_record,
                    runtime::describe(reason));
      if (lane.crashes >= cfg_.max_crashes_per_record) {
        spdlog::error("consumer: giving up {}@{} after {} crashes", to_string(tp), next,
                      lane.crashes);
        stats_->rejected.fetch_add(1, std::memory_order_relaxed);
        st.stats->rejected.fetch_add(1, std::memory_order_relaxed);
        lane.progress->store(next, std::memory_order_release);
        st.done(i, next);
      }
    } else {
      spdlog::error("consumer: partition actor {} lane {} crashed: {}", to_string(tp), i,
                    runtime::describe(reason));
    }
    start_lane(tp, st, i);
    for (auto& batch : lane.pending)
      send(lane.worker, batch); // the lane skips what its progress says is done
  }

  // Waits (bounded) until the lanes of `tps` have finished what they were sent. The
  // lanes run on other threads and publish progress without a message, so waiting here
  // does not stop them.
  void drain(const std::vector<topic_partition>& tps) {
    auto deadline = std::chrono::steady_clock::now() + cfg_.drain_timeout;
    for (;;) {
      bool all = true;
      for (auto& tp : tps) {
        auto it = parts_.find(tp);
        if (it != parts_.end() && !it->second.drained())
          all = false;
      }
      if (all || std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    for (auto& tp : tps) {
      auto it = parts_.find(tp);
      if (it == parts_.end())
        continue;
      it->second.apply_progress();
      if (!it->second.drained())
        spdlog::warn("consumer: {} not drained within {} ms; {} records will be read again "
                     "by its next owner",
                     to_string(tp), cfg_.drain_timeout.count(), it->second.in_flight());
    }
  }

  void commit(bool async) {
    std::vector<std::pair<topic_partition, std::int64_t>> offsets;
    for (auto& [tp, st] : parts_)
      if (auto o = st.take_commit(); o >= 0)
        offsets.emplace_back(tp, o);
    // Lag needs the log end; librdkafka keeps it from its fetches, so this asks no
    // broker. Refreshed with every commit round, also when nothing moved (a stuck
    // partition is when lag matters).
    for (auto& [tp, st] : parts_)
      st.stats->high_watermark.store(rk_->high_watermark(tp), std::memory_order_relaxed);
    if (offsets.empty())
      return;
    if (auto ok = rk_->commit(offsets, async); !ok) {
      spdlog::warn("consumer: {}", ok.error().message());
    } else {
      stats_->commits.fetch_add(1, std::memory_order_relaxed);
      for (auto& [tp, offset] : offsets)
        parts_.at(tp).stats->committed.store(offset, std::memory_order_relaxed);
    }
  }

  void stop(const caf::error& reason) {
    if (stopping_)
      return;
    stopping_ = true;
    std::vector<topic_partition> all;
    for (auto& [tp, st] : parts_)
      all.push_back(tp);
    drain(all);
    commit(false);
    for (auto& [tp, st] : parts_)
      stop_lanes(st);
    // Leaves the group; the revoke callback finds nothing left to drain or commit.
    rk_->close();
    spdlog::info("consumer stopped");
    quit(reason);
  }

  std::unique_ptr<consumer_handle> rk_;
  group_consumer_config cfg_;
  std::map<std::string, handler> handlers_;
  std::shared_ptr<consumer_stats> stats_;
  std::map<topic_partition, partition_state> parts_;
  bool stopping_ = false;
};

} // namespace

runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         std::map<std::string, handler> handlers,
                                         std::shared_ptr<consumer_stats> stats) {
  auto timeout = cfg.shutdown_timeout;
  auto start = [cfg = std::move(cfg), handlers = std::move(handlers),
                stats = std::move(stats)](caf::actor_system& sys) -> result<caf::actor> {
    if (handlers.empty())
      return error{runtime::errc::invalid_argument, "group consumer without handlers"};
    std::vector<std::string> topics;
    for (auto& [topic, h] : handlers)
      topics.push_back(topic);
    auto handle = consumer_handle::open(cfg.properties, cfg.origin, topics);
    if (!handle)
      return handle.error();
    return sys.spawn<consumer_actor, caf::detached>(std::move(*handle), cfg, handlers,
                                                    stats);
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, timeout};
}

runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         const std::vector<std::string>& topics, handler h,
                                         std::shared_ptr<consumer_stats> stats) {
  std::map<std::string, handler> handlers;
  for (auto& t : topics)
    handlers.emplace(t, h);
  return group_consumer_child(std::move(id), std::move(cfg), std::move(handlers),
                              std::move(stats));
}

} // namespace phoenix::kafka
