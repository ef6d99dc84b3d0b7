#pragma once

// The producer actor's state, shared by producer_actor.cpp (records, delivery reports,
// shutdown) and producer_txn.cpp (transactions).

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/persistence/trace_log.hpp"

#include <atomic>
#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace phoenix::kafka {

class producer_actor;

/// Posted to the actor when librdkafka has something for rd_kafka_poll() to serve.
using producer_wake_atom = caf::atom_constant<caf::atom("kp_wake")>;

/// What librdkafka's callbacks reach through the handle's opaque. Members are destroyed
/// in reverse order: the queue handle before the client handle.
struct producer_core {
  producer_config cfg;
  rd::handle_ptr handle;
  rd::queue_ptr main_queue;        ///< The queue rd_kafka_poll() serves (delivery reports).
  producer_actor* owner = nullptr; ///< Null once the actor no longer answers reports.
  caf::actor_addr wake_target;     ///< Set before the queue callback is enabled.
  std::atomic<bool> wake_pending{false};
};

/// Creates the librdkafka producer of `cfg` (and initialises its transactions).
/// Errors: as producer_child().
result<std::unique_ptr<producer_core>> make_producer_core(producer_config cfg);

/// A transaction error: `<what>: <librdkafka's reason>` under txn_error_category.
caf::error make_txn_error(txn_errc code, std::string_view what, std::string_view reason);

class producer_actor : public caf::event_based_actor {
public:
  producer_actor(caf::actor_config& cfg, std::unique_ptr<producer_core> core);

  const char* name() const override { return "phoenix.producer"; }
  caf::behavior make_behavior() override;
  void on_exit() override;

  /// From librdkafka's delivery report callback, inside a poll on this actor's thread.
  void on_delivery(const rd_kafka_message_t& msg);

private:
  // A requester waiting for its delivery report; its address is the message's opaque.
  struct pending_delivery {
    caf::typed_response_promise<delivery_report> promise;
    std::string topic;
    std::string cause; // set only with a trace log
    std::string ce_id;
  };
  using pending_ptr = std::unique_ptr<pending_delivery>;

  caf::result<delivery_report> produce(outgoing_record&& rec);
  void drain_backlog();
  void serve();
  bool check_fatal();
  void begin_stop(caf::error reason);
  void flush_step();
  void release(const std::string& why);
  void submit_trace(); // hands the "produced" rows collected to the trace log
  rd_kafka_t* rk() const { return core_->handle.get(); }

  // Transactions (producer_txn.cpp).
  caf::result<void> begin_txn();
  caf::result<void> send_offsets(const std::vector<partition_offset>& offsets,
                                 const group_metadata& gm);
  caf::result<void> commit_txn();
  caf::result<void> abort_txn();
  caf::result<void> txn_result(std::string_view what, rd::error_ptr err);
  std::optional<caf::error> txn_refusal(std::string_view what) const;
  void abort_open_txn(std::chrono::milliseconds bound);
  bool make_room(std::chrono::steady_clock::time_point deadline);
  void fail_backlog(const std::string& why);
  int txn_timeout_ms() const;

  std::unique_ptr<producer_core> core_;
  std::unordered_map<const pending_delivery*, pending_ptr> pending_;
  // Records librdkafka's queue had no room for, in arrival order.
  std::deque<std::pair<outgoing_record, pending_ptr>> backlog_;
  rd::topic_warmup topics_; // the first record to a topic asks for its metadata at once
  std::vector<persistence::trace_record> trace_rows_;
  bool in_txn_ = false;
  bool stopping_ = false;
  std::string fatal_reason_; // a fatal transaction error, should librdkafka not flag it

  caf::error stop_reason_;
  std::chrono::steady_clock::time_point deadline_;
};

} // namespace phoenix::kafka
