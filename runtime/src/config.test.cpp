#include "phoenix/runtime/config.hpp"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>

using namespace phoenix::runtime;

namespace {

phoenix::error parse_error(const std::string& text) {
  auto r = parse_config(text, "node.toml");
  EXPECT_FALSE(r.has_value()) << "accepted: " << text;
  return r ? phoenix::error{} : r.error();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(config, empty_file_gives_embedded_defaults) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_TRUE(r->embedded_kafka());
  EXPECT_EQ(r->embedded.brokers, 3);
  EXPECT_EQ(r->log.level, log_level::info);
  EXPECT_EQ(r->log.format, log_format::text);
  EXPECT_EQ(r->supervisor.intensity, 10);
  EXPECT_FALSE(r->node.id.empty());
}

TEST(config, reads_every_section) {
  auto r = parse_config(R"(
[node]
id = "n1"
shutdown_timeout_ms = 2500
[log]
level = "debug"
format = "json"
[supervisor]
intensity = 3
period_ms = 5000
[embedded]
brokers = 1
partitions = 6
[kafka]
"bootstrap.servers" = "127.0.0.1:9092"
"linger.ms" = 5
"enable.idempotence" = true
)",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->node.id, "n1");
  EXPECT_EQ(r->node.shutdown_timeout, std::chrono::milliseconds{2500});
  EXPECT_EQ(r->log.level, log_level::debug);
  EXPECT_EQ(r->log.format, log_format::json);
  EXPECT_EQ(r->supervisor.intensity, 3);
  EXPECT_EQ(r->supervisor.period, std::chrono::milliseconds{5000});
  EXPECT_EQ(r->embedded.brokers, 1);
  EXPECT_EQ(r->embedded.partitions, 6);
  EXPECT_FALSE(r->embedded_kafka());
  EXPECT_EQ(r->kafka.at("linger.ms"), "5");
  EXPECT_EQ(r->kafka.at("enable.idempotence"), "true");
}

TEST(config, unknown_key_is_named_with_file_and_section) {
  auto e = parse_error("[log]\ncolour = \"red\"\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_unknown_key));
  EXPECT_TRUE(contains(e.message(), "node.toml: [log] colour: unknown key (line 2)"))
      << e.message();
}

TEST(config, unknown_section_is_rejected) {
  auto e = parse_error("[logging]\nlevel = \"info\"\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_unknown_key));
  EXPECT_TRUE(contains(e.message(), "[logging]")) << e.message();
}

TEST(config, wrong_type_is_named) {
  auto e = parse_error("[embedded]\nbrokers = \"three\"\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  EXPECT_TRUE(contains(e.message(), "node.toml: [embedded] brokers: expected an integer"))
      << e.message();
}

TEST(config, float_where_integer_expected_is_wrong_type) {
  auto e = parse_error("[supervisor]\nintensity = 2.5\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
}

TEST(config, bad_values_are_named) {
  auto e = parse_error("[log]\nlevel = \"loud\"\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_bad_value));
  EXPECT_TRUE(contains(e.message(), "[log] level: expected one of")) << e.message();
  EXPECT_TRUE(contains(e.message(), "\"loud\"")) << e.message();
  e = parse_error("[embedded]\nbrokers = 0\n");
  EXPECT_TRUE(contains(e.message(), "[embedded] brokers: expected 1 to 16, got 0"))
      << e.message();
  e = parse_error("[node]\nshutdown_timeout_ms = -1\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_bad_value));
  e = parse_error("[log]\nformat = \"xml\"\n");
  EXPECT_TRUE(contains(e.message(), "[log] format")) << e.message();
}

TEST(config, kafka_value_that_is_a_table_is_wrong_type) {
  auto e = parse_error("[kafka]\n\"bootstrap.servers\" = [\"a\", \"b\"]\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  EXPECT_TRUE(contains(e.message(), "[kafka] bootstrap.servers")) << e.message();
}

TEST(config, bus_routes_topics_by_its_lists_and_default) {
  auto r = parse_config(R"(
[bus]
default = "none"
in_process = ["cache.invalidate", "audit"]
kafka = ["lead.detected"]
max_pending = 500
)",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->bus.route_of("audit"), topic_route::in_process);
  EXPECT_EQ(r->bus.route_of("lead.detected"), topic_route::kafka);
  EXPECT_EQ(r->bus.route_of("lead.detecte"), std::nullopt);
  EXPECT_EQ(r->bus.max_pending, 500u);

  auto defaults = parse_config("", "node.toml");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->bus.route_of("anything"), topic_route::kafka);
  auto local =
      parse_config("[bus]\ndefault = \"in_process\"\nkafka = [\"k\"]\n", "node.toml");
  ASSERT_TRUE(local.has_value()) << local.error().describe();
  EXPECT_EQ(local->bus.route_of("anything"), topic_route::in_process);
  EXPECT_EQ(local->bus.route_of("k"), topic_route::kafka);
}

TEST(config, bad_bus_section_is_named_with_file_and_key) {
  struct bad_case {
    std::string text;
    errc code;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {"[bus]\nroutes = []\n", errc::config_unknown_key,
       "node.toml: [bus] routes: unknown key"},
      {"[bus]\ndefault = \"redis\"\n", errc::config_bad_value,
       "node.toml: [bus] default: expected \"kafka\", \"in_process\" or \"none\", got "
       "\"redis\""},
      {"[bus]\nin_process = \"audit\"\n", errc::config_wrong_type,
       "node.toml: [bus] in_process: expected an array of topic names (line 2)"},
      {"[bus]\nkafka = [\"a\", 7]\n", errc::config_wrong_type,
       "node.toml: [bus] kafka: expected an array of topic names"},
      {"[bus]\nin_process = [\"a\"]\nkafka = [\"a\"]\n", errc::config_bad_value,
       "node.toml: [bus] in_process: \"a\" is also listed in kafka"},
      {"[bus]\nkafka = [\"a/b\"]\n", errc::config_bad_value,
       "node.toml: [bus] kafka: \"a/b\" is no valid topic name"},
      {"[bus]\nmax_pending = 0\n", errc::config_bad_value,
       "node.toml: [bus] max_pending: expected 1 to 10000000, got 0"},
      {"[bus]\nmax_pending = 20000000\n", errc::config_bad_value,
       "node.toml: [bus] max_pending: expected 1 to 10000000, got 20000000"},
  };
  for (auto& c : cases) {
    auto e = parse_error(c.text);
    EXPECT_EQ(e.code(), make_error_code(c.code)) << c.text;
    EXPECT_TRUE(contains(e.message(), c.expected)) << e.message();
  }
}

TEST(config, toml_syntax_error_names_line_and_column) {
  auto e = parse_error("[node]\nid = \n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_unreadable));
  EXPECT_TRUE(contains(e.message(), "node.toml:2:")) << e.message();
}

TEST(config, missing_file_is_named) {
  auto r = load_config("/nonexistent/phoenix.toml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), make_error_code(errc::config_unreadable));
  EXPECT_TRUE(contains(r.error().message(), "/nonexistent/phoenix.toml"));
}

TEST(config, load_config_reads_a_file) {
  auto path = ::testing::TempDir() + "/phoenix-config-test.toml";
  std::ofstream{path} << "[node]\nid = \"from-file\"\n";
  auto r = load_config(path);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->node.id, "from-file");
  EXPECT_EQ(r->origin, path);
  std::remove(path.c_str());
}

} // namespace
