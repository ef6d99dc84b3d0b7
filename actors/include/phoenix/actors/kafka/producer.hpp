#pragma once

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// An idempotent librdkafka producer (`enable.idempotence=true` unless configured
/// otherwise). Thread-compatible: use one from one thread at a time.
class producer {
public:
  /// Errors: errc::config_* for a property librdkafka rejects, errc::kafka_error when
  /// the client cannot be created.
  static result<producer> create(const std::map<std::string, std::string>& properties,
                                 const std::string& origin);

  producer(producer&&) noexcept;
  producer& operator=(producer&&) noexcept;
  ~producer();

  /// Queues one record; waits while librdkafka's queue is full. A view without data
  /// (`std::string_view{}`) is a null key or value; any string, even empty, is bytes.
  /// Errors: errc::kafka_error for an unknown topic or a record librdkafka refuses.
  result<void> produce(const std::string& topic, std::string_view key,
                       std::string_view value, const std::vector<runtime::header>& headers);

  /// Waits until every queued record is acknowledged or failed, at most `timeout`.
  /// Errors: errc::kafka_error if records are still queued at the timeout.
  result<void> flush(std::chrono::milliseconds timeout);

  std::uint64_t delivered() const; ///< Records the brokers acknowledged.
  std::uint64_t failed() const;    ///< Records whose delivery failed for good.

private:
  struct impl;
  explicit producer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace phoenix::kafka
