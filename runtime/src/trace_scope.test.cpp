#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/envelope_view.hpp"
#include "phoenix/runtime/logging.hpp"
#include "phoenix/runtime/trace_context.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>
#include <vector>

namespace phoenix::runtime {
namespace {

const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

bool lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(trace_scope, no_span_outside_a_scope) {
  EXPECT_FALSE(current_trace());
  EXPECT_TRUE(current_trace_ids().trace_id.empty());
  envelope env;
  EXPECT_FALSE(env.trace);
}

TEST(trace_scope, continues_the_parent_trace_with_its_own_span_id) {
  auto parent = trace_context::parse(incoming).value();
  trace_scope span{parent};
  ASSERT_TRUE(span.active());
  auto now = current_trace();
  ASSERT_TRUE(now);
  EXPECT_EQ(now->trace_id, trace_id);
  EXPECT_EQ(now->flags, 1);
  ASSERT_EQ(now->parent_id.size(), 16u);
  EXPECT_TRUE(lower_hex(now->parent_id));
  EXPECT_NE(now->parent_id, "0000000000000000");
  EXPECT_NE(now->parent_id, parent.parent_id);           // a child span, not the sender's
  EXPECT_EQ(current_trace()->parent_id, now->parent_id); // one id for the whole span
  // It parses back as a valid traceparent.
  EXPECT_TRUE(trace_context::parse(now->to_header()));
}

TEST(trace_scope, nested_scopes_restore_the_outer_span) {
  trace_scope outer{trace_id, 0};
  auto outer_span = current_trace()->parent_id;
  {
    trace_scope inner{"0af7651916cd43dd8448eb211c80319c", 1};
    EXPECT_EQ(current_trace()->trace_id, "0af7651916cd43dd8448eb211c80319c");
    EXPECT_NE(current_trace()->parent_id, outer_span);
  }
  EXPECT_EQ(current_trace()->trace_id, trace_id);
  EXPECT_EQ(current_trace()->parent_id, outer_span);
}

TEST(trace_scope, spans_are_per_thread) {
  trace_scope span{trace_id, 1};
  bool other_thread_sees_one = true;
  std::thread t{[&] { other_thread_sees_one = current_trace().has_value(); }};
  t.join();
  EXPECT_FALSE(other_thread_sees_one);
}

TEST(cause_scope, names_the_message_being_handled_while_open_and_nests) {
  EXPECT_EQ(current_cause(), "");
  EXPECT_EQ(envelope{}.cause, "");
  {
    cause_scope outer{"lead-1"};
    EXPECT_EQ(current_cause(), "lead-1");
    {
      cause_scope inner{"cmd-9"};
      EXPECT_EQ(envelope{}.cause, "cmd-9");
      cause_scope none{""}; // opens nothing
      EXPECT_EQ(current_cause(), "cmd-9");
    }
    EXPECT_EQ(current_cause(), "lead-1");
    std::string other_thread = "unset";
    std::thread t{[&] { other_thread = std::string{current_cause()}; }};
    t.join();
    EXPECT_EQ(other_thread, "");
  }
  EXPECT_EQ(current_cause(), "");
}

TEST(trace_scope, malformed_or_absent_parents_open_no_span) {
  for (std::string_view bad : {std::string_view{}, std::string_view{"abc"},
                               std::string_view{"00000000000000000000000000000000"},
                               std::string_view{"4BF92F3577B34DA6A3CE929D0E0E4736"}}) {
    trace_scope span{bad, 1};
    EXPECT_FALSE(span.active()) << bad;
    EXPECT_FALSE(current_trace()) << bad;
  }
  trace_scope none{std::optional<trace_context>{}};
  EXPECT_FALSE(current_trace());
}

TEST(trace_scope, opens_a_span_only_for_lowercase_hex_at_every_position) {
  for (std::size_t pos = 0; pos < trace_id.size(); ++pos) {
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      std::string id = trace_id;
      id[pos] = c;
      trace_scope span{id, 1};
      EXPECT_EQ(span.active(), (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
          << "position " << pos << ", byte " << b;
    }
  }
  std::string zeros(32, '0');
  zeros[31] = '1';
  EXPECT_TRUE(trace_scope(zeros, 0).active()); // one nonzero digit, in the last word
}

TEST(trace_scope, new_envelopes_continue_the_span_and_decoded_ones_keep_their_own) {
  trace_scope span{trace_id, 1};
  envelope made;
  ASSERT_TRUE(made.trace);
  EXPECT_EQ(*made.trace, *current_trace());

  // Decoding inside a span keeps what the record says, including "no trace".
  envelope src;
  src.id = "e1";
  src.source = "/s";
  src.type = "t";
  src.trace.reset();
  auto plain = decode_envelope(encode_headers(src), src.payload);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_FALSE(plain->trace);
  src.trace = trace_context::parse(incoming).value();
  auto traced = decode_envelope(encode_headers(src), src.payload);
  ASSERT_TRUE(traced);
  EXPECT_EQ(traced->trace->to_header(), incoming);
}

// Restores stderr logging when a test that logs into a stream ends.
struct log_capture {
  std::ostringstream out;
  explicit log_capture(log_format format) {
    configure_logging(log_config{log_level::info, format}, "n1", out);
  }
  ~log_capture() { configure_logging(log_config{}, "test"); }

  std::vector<std::string> lines() const {
    std::istringstream in{out.str()};
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);)
      all.push_back(line);
    return all;
  }
};

// Logs "during" inside a span of `trace_id`, then "after" outside it; the span's id.
std::string log_during_a_span() {
  std::string span_id;
  {
    trace_scope span{trace_id, 1};
    span_id = current_trace()->parent_id;
    spdlog::info("during");
  }
  spdlog::info("after");
  return span_id;
}

TEST(trace_scope, text_log_lines_name_the_trace_and_span) {
  log_capture log{log_format::text};
  spdlog::info("before");
  auto span_id = log_during_a_span();
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 3u) << log.out.str();
  const auto& before = lines[0];
  const auto& during = lines[1];
  const auto& after = lines[2];
  EXPECT_EQ(before.find("trace_id"), std::string::npos) << before;
  EXPECT_NE(during.find("during trace_id=" + trace_id + " span_id=" + span_id),
            std::string::npos)
      << during;
  EXPECT_EQ(after.find("trace_id"), std::string::npos) << after;
}

TEST(trace_scope, json_log_lines_carry_trace_fields) {
  log_capture log{log_format::json};
  auto span_id = log_during_a_span();
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 2u) << log.out.str();
  const auto& after = lines[1];
  auto d = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(d.at("msg"), "during");
  EXPECT_EQ(d.at("trace_id"), trace_id);
  EXPECT_EQ(d.at("span_id"), span_id);
  auto a = nlohmann::json::parse(after);
  EXPECT_FALSE(a.contains("trace_id"));
}

} // namespace
} // namespace phoenix::runtime
