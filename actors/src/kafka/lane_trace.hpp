#pragma once

// The rows a lane writes into the node's trace log (persistence/trace_log.hpp): gathered
// while it works through a batch and handed over once per batch, so the per-record cost
// is building the rows, never a lock or a store round trip. Private to the kafka actors.

#include "phoenix/persistence/trace_log.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::kafka {

class lane_trace {
public:
  explicit lane_trace(std::shared_ptr<persistence::trace_log> log = nullptr)
      : log_(std::move(log)) {}

  /// False when traceability is off: callers skip building details.
  bool on() const noexcept { return log_ != nullptr; }

  /// One stage of the record at `topic[partition]@offset` whose envelope id is `ce_id`
  /// (empty: not an envelope), at `at`.
  void add(std::string_view ce_id, std::string_view topic, std::int32_t partition,
           std::int64_t offset, const char* stage, std::string detail,
           std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
    if (!log_)
      return;
    persistence::trace_record r;
    r.key.value = persistence::trace_message_id(ce_id, topic, partition, offset);
    r.topic = std::string(topic);
    r.partition = partition;
    r.offset = offset;
    r.stage = stage;
    r.detail = std::move(detail);
    r.at = at;
    rows_.push_back(std::move(r));
  }

  /// Hands what was gathered to the log.
  void flush() {
    if (log_ && !rows_.empty())
      log_->submit(std::exchange(rows_, {}));
  }

  ~lane_trace() { flush(); }

private:
  std::shared_ptr<persistence::trace_log> log_;
  std::vector<persistence::trace_record> rows_;
};

} // namespace phoenix::kafka
