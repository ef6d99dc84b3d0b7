#include "kafka/lane_trace.hpp"

#include "kafka/lane_context.hpp"
#include "phoenix/persistence/trace_log.hpp"

namespace phoenix::kafka::lane {

bool tracing(const lane_context& ctx) {
  return static_cast<bool>(ctx.trace);
}

void trace(lane_context& ctx, const std::vector<runtime::header_view>& headers,
           std::string_view topic, std::int32_t partition, std::int64_t offset,
           const char* stage, std::string detail) {
  if (!ctx.trace)
    return;
  std::string_view ce_id;
  for (const auto& h : headers)
    if (h.key == "ce_id") {
      ce_id = h.value;
      break;
    }
  persistence::trace_record row;
  row.key.value = persistence::trace_message_id(ce_id, topic, partition, offset);
  row.topic = std::string{topic};
  row.partition = partition;
  row.offset = offset;
  row.stage = stage;
  row.detail = std::move(detail);
  row.at = std::chrono::system_clock::now();
  ctx.rows.push_back(std::move(row));
}

void submit_trace(lane_context& ctx) {
  if (!ctx.trace || ctx.rows.empty())
    return;
  std::vector<persistence::trace_record> rows;
  rows.swap(ctx.rows);
  ctx.trace->submit(std::move(rows));
}

} // namespace phoenix::kafka::lane
