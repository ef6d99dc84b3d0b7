#pragma once

// The group consumer's actor: a detached actor that owns the librdkafka consumer and
// polls in a self-message loop. consumer_actor.cpp holds its life cycle (rebalance,
// commits, stop); consumer_flow.cpp the flow of records (poll, dispatch to lanes,
// backpressure, lane crashes).

#include "kafka/consumer_handle.hpp"
#include "kafka/idempotency.hpp"
#include "kafka/partition_state.hpp"
#include "phoenix/actors/kafka/group_consumer.hpp"
#include "policies/failure_path.hpp"

#include <caf/event_based_actor.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace phoenix::kafka {

class consumer_actor : public caf::event_based_actor, public rebalance_listener {
public:
  consumer_actor(caf::actor_config& cfg, std::shared_ptr<consumer_handle> handle,
                 group_consumer_config config, std::map<std::string, handler> handlers,
                 policies::lane_policies lane_policies,
                 std::shared_ptr<consumer_stats> stats);

  const char* name() const override { return "phoenix.group_consumer"; }
  caf::behavior make_behavior() override;
  void on_exit() override;

  // -- rebalance_listener (called inside poll, on this actor's thread) ----------------
  void on_assigned(const std::vector<topic_partition>& tps) override;
  void on_revoked(const std::vector<topic_partition>& tps, bool lost) override;
  void on_committed(const std::vector<std::pair<topic_partition, std::int64_t>>&) override;
  void on_commit_failed() override;

private:
  using clock = std::chrono::steady_clock;

  // consumer_flow.cpp
  void poll_round();
  void take(rd::message_ptr m);
  void dispatch(partition_state& st);
  void send_outgoing(partition_state& st);
  void flow_control(const topic_partition& tp, partition_state& st);
  void limit_prefetch();
  void pause_fetch(const topic_partition& tp, partition_state& st);
  void on_done(std::uint64_t partition_id, std::uint32_t lane);
  void start_lane(const topic_partition& tp, partition_state& st, std::size_t i);
  void stop_lanes(partition_state& st);
  void on_lane_down(const caf::down_msg& msg);
  void restart_lane(const topic_partition& tp, partition_state& st, std::size_t i,
                    const caf::error& reason);
  void drain(const std::vector<topic_partition>& tps, clock::time_point deadline);

  // consumer_breakers.cpp
  void find_breakers();
  void apply_breakers();

  // consumer_actor.cpp
  void store(const topic_partition& tp, partition_state& st);
  consumer_handle::commit_status commit(std::chrono::milliseconds retry_for);
  void commit_failed(const consumer_handle::commit_status& status);
  void stop(const caf::error& reason);
  void final_commit();
  void release_records(clock::time_point deadline);
  void refresh_lag();

  std::shared_ptr<consumer_handle> rk_;
  group_consumer_config cfg_;
  std::map<std::string, handler> handlers_;
  policies::lane_policies lane_policies_; // per topic, retry topics included
  std::shared_ptr<consumer_stats> stats_;
  std::map<topic_partition, partition_state> parts_;
  std::unordered_map<std::uint64_t, std::pair<const topic_partition*, partition_state*>>
      by_id_;
  std::uint64_t next_id_ = 1;
  std::vector<rd_kafka_message_t*> polled_; // reused by every poll round
  std::vector<partition_state*> touched_;   // partitions that took records this round
  rd_kafka_topic_t* last_rkt_ = nullptr;    // the partition the previous record went to
  std::int32_t last_partition_ = -1;
  std::pair<const topic_partition*, partition_state*> last_part_{nullptr, nullptr};
  std::size_t paused_ = 0;    // partitions paused at their bound (detached)
  std::uint64_t dropped_ = 0; // records of partitions not assigned (logged per round)
  bool stopping_ = false;
  bool rebalanced_ = false; // a rebalance callback ran (see final_commit)
  std::shared_ptr<const gate_settings> idempotency_; // null: not idempotent
  // Topic to the breaker of its handler's downstream (only topics that have one).
  std::map<std::string, std::shared_ptr<policies::circuit_breaker>> breakers_;
};

} // namespace phoenix::kafka
