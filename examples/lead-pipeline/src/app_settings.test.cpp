#include "phoenix/lead_pipeline/app_settings.hpp"

#include <gtest/gtest.h>

using namespace phoenix;

namespace {

runtime::config_table table(const std::string& text) {
  auto cfg = runtime::parse_config(
      "[app]\nname = \"lead-pipeline\"\n[app.lead-pipeline]\n" + text, "node.toml");
  EXPECT_TRUE(cfg.has_value()) << cfg.error().describe();
  return cfg ? cfg->app.options["lead-pipeline"] : runtime::config_table{};
}

std::string error_of(const std::string& text) {
  auto s = lead_pipeline::app_settings_from(table(text), "node.toml");
  EXPECT_FALSE(s.has_value()) << "accepted: " << text;
  return s ? std::string{} : s.error().message();
}

TEST(app_settings, defaults_without_options) {
  auto s = lead_pipeline::app_settings_from({}, "node.toml");
  ASSERT_TRUE(s.has_value()) << s.error().describe();
  EXPECT_EQ(s->options.topics.lead_detected, "lead.detected");
  EXPECT_EQ(s->options.step_timeout, std::chrono::milliseconds{5000});
  EXPECT_EQ(s->partitions, 0);
  EXPECT_TRUE(s->participants);
}

TEST(app_settings, prefix_goes_before_every_topic_and_options_are_read) {
  auto s = lead_pipeline::app_settings_from(
      table("topic_prefix = \"t1.\"\npartitions = 4\nstep_timeout_ms = 750\n"
            "participants = false\nscore_fails_every = 10\n"),
      "node.toml");
  ASSERT_TRUE(s.has_value()) << s.error().describe();
  const auto& t = s->options.topics;
  EXPECT_EQ(t.lead_detected, "t1.lead.detected");
  EXPECT_EQ(t.replies, "t1.lead.saga.replies");
  for (auto& c : t.commands())
    EXPECT_EQ(c.rfind("t1.lead.", 0), 0u) << c;
  EXPECT_EQ(s->partitions, 4);
  EXPECT_EQ(s->options.step_timeout, std::chrono::milliseconds{750});
  EXPECT_FALSE(s->participants);
  EXPECT_EQ(s->options.failures.score_fails_every, 10u);
}

TEST(app_settings, every_bad_option_names_file_section_and_key) {
  EXPECT_EQ(error_of("steps = 3\n"),
            "node.toml: [app.lead-pipeline] steps: unknown key (line 4)");
  EXPECT_EQ(
      error_of("partitions = 0\n"),
      "node.toml: [app.lead-pipeline] partitions: expected 1 to 1024, got 0 (line 4)");
  EXPECT_EQ(error_of("step_timeout_ms = \"5s\"\n"),
            "node.toml: [app.lead-pipeline] step_timeout_ms: expected an integer (line 4)");
  EXPECT_EQ(error_of("participants = 1\n"),
            "node.toml: [app.lead-pipeline] participants: expected true or false (line 4)");
  auto bad_prefix = error_of("topic_prefix = \"a b\"\n");
  EXPECT_EQ(bad_prefix.rfind("node.toml: [app.lead-pipeline] topic_prefix: makes a bad "
                             "topic name",
                             0),
            0u)
      << bad_prefix;
}

} // namespace
