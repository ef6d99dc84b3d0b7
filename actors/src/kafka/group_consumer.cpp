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

class consumer_actor : public caf::event_based_actor, public rebalance_listener {
public:
  consumer_actor(caf::actor_config& cfg, std::unique_ptr<consumer_handle> handle,
                 group_consumer_config config, std::map<std::string, handler> handlers,
                 std::shared_ptr<consumer_stats> stats)
      : caf::event_based_actor(cfg), rk_(std::move(handle)), cfg_(std::move(config)),
        handlers_(std::move(handlers)), stats_(std::move(stats)) {
    rk_->set_listener(this);
  }

  const char* name() const override { return "phoenix.group_consumer"; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    set_down_handler([this](caf::down_msg& msg) { on_lane_down(msg); });
    set_exit_handler([this](caf::exit_msg& msg) { stop(msg.reason); });
    send(this, poll_atom::value);
    return {
        [this](poll_atom) { poll_round(); },
        [this](lane_done_atom, const std::string& topic, std::int32_t partition, int lane,
               std::int64_t last) {
          on_done({topic, partition}, static_cast<std::size_t>(lane), last);
        },
    };
  }

  // -- rebalance (called inside poll, on this actor's thread) ------------------------

  void on_assigned(const std::vector<topic_partition>& tps) override {
    rebalanced_ = true;
    for (auto& tp : tps) {
      if (stopping_)
        break; // no new work; the partitions go back to the group on close
      auto [it, fresh] = parts_.try_emplace(tp, cfg_.key_concurrency, cfg_.max_in_flight);
      if (fresh)
        for (std::size_t i = 0; i < it->second.lanes().size(); ++i)
          start_lane(tp, it->second, i);
      spdlog::info("consumer: assigned {}", to_string(tp));
    }
    if (cfg_.on_assigned)
      cfg_.on_assigned(tps);
  }

  void on_revoked(const std::vector<topic_partition>& tps, bool lost) override {
    rebalanced_ = true;
    if (!lost) {
      // One bound for both: the group waits for this callback. The commit is
      // synchronous: the next owner reads from what it stores.
      auto deadline = std::chrono::steady_clock::now() + cfg_.drain_timeout;
      drain(tps, deadline);
      if (auto status = commit(std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - std::chrono::steady_clock::now()));
          !status.ok)
        commit_failed(status);
    }
    for (auto& tp : tps) {
      auto it = parts_.find(tp);
      if (it == parts_.end())
        continue;
      spdlog::info("consumer: {} {}; {} records were in flight, {} held", to_string(tp),
                   lost ? "lost" : "revoked", it->second.in_flight(),
                   it->second.held.size());
      stop_lanes(it->second);
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
      lane.progress->cancelled.store(true, std::memory_order_release);
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
    store(tp, it->second);
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
        lane.progress->last.store(next, std::memory_order_release);
        st.done(i, next);
        store(tp, st);
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
  void drain(const std::vector<topic_partition>& tps,
             std::chrono::steady_clock::time_point deadline) {
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

  // Hands a moved watermark to librdkafka's offset store; its commit timer sends it.
  void store(const topic_partition& tp, partition_state& st) {
    if (auto o = st.take_store(); o >= 0)
      rk_->store(tp, o);
  }

  // Commits now every partition whose watermark the broker has not confirmed. The
  // watermark is stored first, so that librdkafka's own commits (timer, unassign, close)
  // never send an older offset after this one.
  consumer_handle::commit_status commit(std::chrono::milliseconds retry_for) {
    std::vector<std::pair<topic_partition, std::int64_t>> offsets;
    for (auto& [tp, st] : parts_) {
      store(tp, st);
      if (auto o = st.commit_due(); o >= 0)
        offsets.emplace_back(tp, o);
    }
    if (offsets.empty())
      return {};
    auto status = rk_->commit(offsets, retry_for);
    if (status.ok)
      on_committed(offsets);
    return status;
  }

  void commit_failed(const consumer_handle::commit_status& status) {
    stats_->commit_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("consumer: {}; uncommitted records are read again by their partitions' "
                 "next owners",
                 status.message);
  }

  void on_committed(
      const std::vector<std::pair<topic_partition, std::int64_t>>& stored) override {
    stats_->commits.fetch_add(1, std::memory_order_relaxed);
    for (auto& [tp, offset] : stored)
      if (auto it = parts_.find(tp); it != parts_.end())
        it->second.committed(offset);
  }

  void stop(const caf::error& reason) {
    if (stopping_)
      return;
    stopping_ = true;
    std::vector<topic_partition> all;
    for (auto& [tp, st] : parts_)
      all.push_back(tp);
    drain(all, std::chrono::steady_clock::now() + cfg_.drain_timeout);
    final_commit();
    for (auto& [tp, st] : parts_)
      stop_lanes(st);
    // Leaves the group; the revoke callback finds nothing left to drain or commit.
    rk_->close();
    spdlog::info("consumer stopped");
    quit(reason);
  }

  // While the group rebalances the coordinator refuses commits, and librdkafka answers
  // one that waited behind this member's JoinGroup by dropping the assignment. So the
  // rebalance is served first (polled records stay uncommitted for the next owner; a
  // revoke commits in its callback) and the commit is made once it settled.
  void final_commit() {
    auto deadline = std::chrono::steady_clock::now() + cfg_.commit_timeout;
    auto left = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
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
      while (!rebalanced_ && left().count() > 0)
        (void)rk_->poll(100);
    }
  }

  std::unique_ptr<consumer_handle> rk_;
  group_consumer_config cfg_;
  std::map<std::string, handler> handlers_;
  std::shared_ptr<consumer_stats> stats_;
  std::map<topic_partition, partition_state> parts_;
  bool stopping_ = false;
  bool rebalanced_ = false; // a rebalance callback ran (see final_commit)
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
    auto handle =
        consumer_handle::open(cfg.properties, cfg.origin, topics, cfg.commit_interval);
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
