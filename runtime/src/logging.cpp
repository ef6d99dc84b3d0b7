#include "phoenix/runtime/logging.hpp"

#include "phoenix/runtime/trace_context.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace phoenix::runtime {
namespace {

class json_formatter final : public spdlog::formatter {
public:
  explicit json_formatter(std::string node) : node_(json_escape(node)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto t = system_clock::to_time_t(msg.time);
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[40];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line = "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line.append(level.data(), level.size());
    line += "\",\"node\":\"" + node_ + "\",\"thread\":" + std::to_string(msg.thread_id) +
            ",\"msg\":\"" + json_escape({msg.payload.data(), msg.payload.size()}) + "\"";
    // The span open on the logging thread (a record's handling): ids are hex digits.
    if (auto ids = current_trace_ids(); !ids.trace_id.empty()) {
      line += ",\"trace_id\":\"";
      line += ids.trace_id;
      line += "\",\"span_id\":\"";
      line += ids.span_id;
      line += '"';
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    auto out = std::make_unique<json_formatter>("");
    out->node_ = node_;
    return out;
  }

private:
  std::string node_;
};

// `%*` in the text pattern: ` trace_id=.. span_id=..` while a span is open.
class trace_flag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string fields;
    append_trace_fields(fields);
    dest.append(fields.data(), fields.data() + fields.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<trace_flag>();
  }
};

} // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out;
}

namespace {

void install(std::shared_ptr<spdlog::logger> logger, const log_config& cfg,
             const std::string& node_id) {
  if (cfg.format == log_format::json)
    logger->set_formatter(std::make_unique<json_formatter>(node_id));
  else {
    auto text = std::make_unique<spdlog::pattern_formatter>();
    text->add_flag<trace_flag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [" +
                                                node_id + "] %v%*");
    logger->set_formatter(std::move(text));
  }
  logger->set_level(static_cast<spdlog::level::level_enum>(cfg.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

} // namespace

void configure_logging(const log_config& cfg, const std::string& node_id) {
  // Made outside the registry, which set_default_logger updates, so that configuring
  // again (tests do) replaces the logger instead of clashing with its name.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  install(std::make_shared<spdlog::logger>("phoenix", std::move(sink)), cfg, node_id);
}

void configure_logging(const log_config& cfg, const std::string& node_id,
                       std::ostream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true);
  install(std::make_shared<spdlog::logger>("phoenix", std::move(sink)), cfg, node_id);
}

} // namespace phoenix::runtime
