// Trace context through the pipeline: what a handler produces and logs while it handles a
// record continues that record's W3C trace (issue: observability, trace context).

#include "consumer_fixture.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/runtime/logging.hpp"

#include <spdlog/spdlog.h>
#include <sstream>

namespace phoenix::itest {
namespace {

const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string incoming_trace = "4bf92f3577b34da6a3ce929d0e0e4736";

// Logs into a stream for the test's duration, then back to stderr.
struct log_capture {
  std::ostringstream out;
  log_capture() {
    runtime::configure_logging(
        runtime::log_config{runtime::log_level::info, runtime::log_format::text}, "n1",
        out);
  }
  ~log_capture() { runtime::configure_logging(runtime::log_config{}, "test"); }
  std::string line_with(const std::string& text) const {
    std::istringstream lines{out.str()};
    for (std::string line; std::getline(lines, line);)
      if (line.find(text) != std::string::npos)
        return line;
    return {};
  }
};

std::optional<std::string> header(const testkit::consumed_record& r,
                                  const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return std::nullopt;
}

class trace_context_test : public group_consumer_test {};

TEST_F(trace_context_test, records_and_log_lines_made_while_handling_continue_the_trace) {
  log_capture log;
  const auto out = unique_name("out");
  create_topic(out, 1);
  kafka::producer_config pcfg;
  pcfg.properties = client_properties();
  pcfg.origin = "test";
  auto producer = kafka::producer_child("producer", pcfg).start(*sys);
  ASSERT_TRUE(producer.has_value()) << producer.error().describe();

  // lead-1 carries a traceparent, lead-2 none.
  for (int i : {1, 2}) {
    runtime::envelope env;
    env.id = "lead-" + std::to_string(i);
    env.source = "/test";
    env.type = "lead.detected";
    if (i == 1)
      env.trace = runtime::trace_context::parse(incoming).value();
    testkit::header_list headers;
    for (auto& h : runtime::encode_headers(env))
      headers.emplace_back(h.key, h.value);
    produce(topic, env.id, "{}", headers);
  }

  start(
      [p = *producer, out](const runtime::envelope_view& ev, const kafka::record_view&) {
        spdlog::info("handling {}", ev.id);
        // No trace given: the record takes the handling span's.
        caf::anon_send(p, kafka::produce_atom::value,
                       kafka::outgoing_record{out, std::string(ev.id), "effect", {}, {}});
        return kafka::handler_status::done;
      },
      config());
  auto produced = consume_all(out, unique_name("reader"), 2);
  stop();
  caf::anon_send_exit(*producer, caf::exit_reason::user_shutdown);
  ASSERT_EQ(produced.size(), 2u);

  for (auto& r : produced) {
    auto tp = header(r, "traceparent");
    auto line = log.line_with("handling " + r.key);
    ASSERT_FALSE(line.empty()) << log.out.str();
    if (r.key == "lead-2") {
      EXPECT_FALSE(tp) << "a record without a trace starts none: " << *tp;
      EXPECT_EQ(line.find("trace_id="), std::string::npos) << line;
      continue;
    }
    ASSERT_TRUE(tp) << "no traceparent on the record produced for " << r.key;
    auto ctx = runtime::trace_context::parse(*tp);
    ASSERT_TRUE(ctx) << *tp;
    EXPECT_EQ(ctx->trace_id, incoming_trace);
    EXPECT_EQ(ctx->flags, 1);
    EXPECT_NE(ctx->parent_id, "00f067aa0ba902b7") << "the handling span is a new span";
    // The log line names the same trace and the span the produced record points to.
    EXPECT_NE(line.find("trace_id=" + incoming_trace + " span_id=" + ctx->parent_id),
              std::string::npos)
        << line;
  }
}

} // namespace
} // namespace phoenix::itest
