// The producer actor's transactions. librdkafka's transactional calls block; the actor
// makes them on its own thread (it is detached), bounded by `flush_timeout`, so a
// record requested after a commit or abort is never mixed into that transaction.

#include "kafka/group_metadata.hpp"
#include "kafka/producer_core.hpp"

#include <caf/make_message.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

txn_errc classify(const rd_kafka_error_t& err) {
  if (rd_kafka_error_is_fatal(&err))
    return txn_errc::fatal;
  if (rd_kafka_error_txn_requires_abort(&err))
    return txn_errc::abortable;
  if (rd_kafka_error_is_retriable(&err))
    return txn_errc::retriable;
  return txn_errc::refused;
}

} // namespace

const char* to_string(txn_errc code) noexcept {
  switch (code) {
  case txn_errc::retriable:
    return "retriable";
  case txn_errc::abortable:
    return "abortable";
  case txn_errc::fatal:
    return "fatal";
  case txn_errc::refused:
    return "refused";
  }
  return "unknown";
}

std::optional<txn_errc> txn_error_code(const caf::error& err) {
  if (!err || err.category() != txn_error_category)
    return std::nullopt;
  return static_cast<txn_errc>(err.code());
}

caf::error make_txn_error(txn_errc code, std::string_view what, std::string_view reason) {
  std::string text{what};
  text += ": ";
  text += reason;
  return caf::error{static_cast<std::uint8_t>(code), txn_error_category,
                    caf::make_message(std::move(text))};
}

int producer_actor::txn_timeout_ms() const {
  return static_cast<int>(core_->cfg.flush_timeout.count());
}

std::optional<caf::error> producer_actor::txn_refusal(std::string_view what) const {
  if (stopping_)
    return make_txn_error(txn_errc::refused, what, "producer stopping");
  if (!core_->cfg.transactional_id)
    return make_txn_error(txn_errc::refused, what, "not a transactional producer");
  return std::nullopt;
}

caf::result<void> producer_actor::txn_result(std::string_view what, rd::error_ptr err) {
  if (!err)
    return caf::unit;
  auto code = classify(*err);
  std::string reason = rd_kafka_error_string(err.get());
  spdlog::warn("producer: {} failed ({}): {}", what, to_string(code), reason);
  if (code == txn_errc::fatal) {
    // Answer first, then stop on the next message: the supervisor starts a new
    // producer, whose init fences this one's transactional id for good.
    fatal_reason_ = std::string{what} + ": " + reason;
    send(this, producer_wake_atom::value);
  }
  return make_txn_error(code, what, reason);
}

caf::result<void> producer_actor::begin_txn() {
  constexpr std::string_view what = "begin transaction";
  if (auto refusal = txn_refusal(what))
    return std::move(*refusal);
  rd::error_ptr err{rd_kafka_begin_transaction(rk())};
  if (!err)
    in_txn_ = true;
  return txn_result(what, std::move(err));
}

caf::result<void> producer_actor::send_offsets(const std::vector<partition_offset>& offsets,
                                               const group_metadata& gm) {
  constexpr std::string_view what = "send offsets to transaction";
  if (auto refusal = txn_refusal(what))
    return std::move(*refusal);
  if (!gm)
    return make_txn_error(txn_errc::refused, what, "no consumer group metadata");
  rd::topic_partition_list_ptr list{
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()))};
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset =
        o.offset;
  return txn_result(
      what, rd::error_ptr{rd_kafka_send_offsets_to_transaction(
                rk(), list.get(), group_metadata_access::native(gm), txn_timeout_ms())});
}

caf::result<void> producer_actor::commit_txn() {
  constexpr std::string_view what = "commit transaction";
  if (auto refusal = txn_refusal(what))
    return std::move(*refusal);
  // Records requested before the commit belong to the transaction, also those still
  // waiting for room in librdkafka's queue.
  if (!make_room(std::chrono::steady_clock::now() + core_->cfg.flush_timeout))
    return make_txn_error(txn_errc::retriable, what,
                          "records still waiting for room in the producer queue");
  // Flushes, serving the delivery reports of the transaction's records on this thread.
  rd::error_ptr err{rd_kafka_commit_transaction(rk(), txn_timeout_ms())};
  if (!err)
    in_txn_ = false;
  return txn_result(what, std::move(err));
}

caf::result<void> producer_actor::abort_txn() {
  constexpr std::string_view what = "abort transaction";
  if (auto refusal = txn_refusal(what))
    return std::move(*refusal);
  fail_backlog("transaction aborted");
  // Purges the transaction's queued records; their reports carry librdkafka's reason.
  rd::error_ptr err{rd_kafka_abort_transaction(rk(), txn_timeout_ms())};
  if (!err)
    in_txn_ = false;
  return txn_result(what, std::move(err));
}

void producer_actor::abort_open_txn(std::chrono::milliseconds bound) {
  fail_backlog("transaction aborted at shutdown");
  rd::error_ptr err{rd_kafka_abort_transaction(rk(), static_cast<int>(bound.count()))};
  if (err)
    spdlog::warn("producer: aborting the open transaction at shutdown: {}",
                 rd_kafka_error_string(err.get()));
  in_txn_ = false;
}

} // namespace phoenix::kafka
