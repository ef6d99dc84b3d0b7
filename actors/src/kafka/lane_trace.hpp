#pragma once

// The journey of each record through a lane, as rows of `message_traceability`
// (persistence::trace_log): received, handled, duplicate, retried, crashed, sent to a
// retry topic, dead-lettered, given up. A lane collects its rows in the lane context
// and hands them to the trace log once per batch (when it reports progress), so the
// cost per record is building the row, never a lock or the database. Without a trace
// log (traceability off) nothing is built. Private to the kafka actors.

#include "phoenix/runtime/envelope_view.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::kafka::lane {

struct lane_context;

/// Stage names as `phoenix trace` prints them.
namespace stage {
inline constexpr const char* received = "received";
inline constexpr const char* handled = "handled";
inline constexpr const char* duplicate = "duplicate";
inline constexpr const char* retried = "retried";
inline constexpr const char* crashed = "crashed";
inline constexpr const char* retry_topic = "retry-topic";
inline constexpr const char* dead_lettered = "dead-lettered";
inline constexpr const char* given_up = "given-up";
} // namespace stage

/// Whether the lane writes rows at all.
bool tracing(const lane_context& ctx);

/// Adds a row for the record at `topic[partition]@offset` whose headers are `headers`:
/// its message id is the `ce_id` header, else `topic/partition/offset`.
void trace(lane_context& ctx, const std::vector<runtime::header_view>& headers,
           std::string_view topic, std::int32_t partition, std::int64_t offset,
           const char* stage, std::string detail = {});

/// Hands the collected rows to the trace log.
void submit_trace(lane_context& ctx);

} // namespace phoenix::kafka::lane
