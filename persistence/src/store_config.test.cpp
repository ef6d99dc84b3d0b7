// validate(store_config): every key's check, and the message format the node's config
// loader uses (`<origin>: [store] <key>: <what>`).

#include "phoenix/persistence/store_config.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix::persistence;

std::string problem(const store_config& cfg) {
  auto r = validate(cfg, "node.toml");
  if (r)
    return "";
  EXPECT_EQ(r.error().code(), phoenix::runtime::errc::config_bad_value);
  return r.error().message();
}

TEST(store_config, defaults_are_valid) {
  EXPECT_EQ(problem(store_config{}), "");
}

TEST(store_config, each_bad_value_names_file_section_and_key) {
  store_config c;
  c.backend = "mysql";
  EXPECT_EQ(problem(c),
            "node.toml: [store] backend: expected one of sqlite, postgres; got \"mysql\"");
  c = {};
  c.path = "";
  EXPECT_EQ(problem(c).rfind("node.toml: [store] path: ", 0), 0u);
  c = {};
  c.backend = "postgres";
  EXPECT_EQ(problem(c).rfind("node.toml: [store] dsn: ", 0), 0u);
  c.dsn = "host=db";
  EXPECT_EQ(problem(c), "");
  c = {};
  c.synchronous = "off";
  EXPECT_EQ(problem(c).rfind("node.toml: [store] synchronous: ", 0), 0u);
  c = {};
  c.busy_timeout = std::chrono::milliseconds{-1};
  EXPECT_EQ(problem(c).rfind("node.toml: [store] busy_timeout_ms: ", 0), 0u);
  c = {};
  c.batch_max = 0;
  EXPECT_EQ(problem(c), "node.toml: [store] batch_max: expected 1 to 100000; got 0");
  c = {};
  c.batch_window = std::chrono::seconds{2};
  EXPECT_EQ(problem(c).rfind("node.toml: [store] batch_window_us: ", 0), 0u);
  c = {};
  c.retention = std::chrono::hours{0};
  EXPECT_EQ(problem(c).rfind("node.toml: [store] retention_hours: ", 0), 0u);
}

phoenix::runtime::config_table
table(std::initializer_list<std::pair<const std::string, phoenix::runtime::config_value>>
          xs) {
  return phoenix::runtime::config_table{xs};
}

phoenix::runtime::config_value at_line(phoenix::runtime::config_value v, int line) {
  v.line = line;
  return v;
}

TEST(store_config, an_empty_section_gives_the_embedded_default) {
  auto c = store_config_from({}, "node.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->backend, "sqlite");
  EXPECT_EQ(c->path, "phoenix.db");
  EXPECT_EQ(c->origin, "node.toml");
  EXPECT_EQ(c->batch_max, 1000u);
}

TEST(store_config, reads_every_key) {
  auto c = store_config_from(table({{"backend", {std::string{"postgres"}}},
                                    {"dsn", {std::string{"host=db dbname=p"}}},
                                    {"path", {std::string{"/var/lib/p.db"}}},
                                    {"synchronous", {std::string{"full"}}},
                                    {"busy_timeout_ms", {std::int64_t{250}}},
                                    {"batch_max", {std::int64_t{64}}},
                                    {"batch_window_us", {std::int64_t{0}}},
                                    {"retention_hours", {std::int64_t{48}}},
                                    {"traceability", {false}}}),
                             "node.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->backend, "postgres");
  EXPECT_EQ(c->dsn, "host=db dbname=p");
  EXPECT_EQ(c->path, "/var/lib/p.db");
  EXPECT_EQ(c->synchronous, "full");
  EXPECT_EQ(c->busy_timeout, std::chrono::milliseconds{250});
  EXPECT_EQ(c->batch_max, 64u);
  EXPECT_EQ(c->batch_window, std::chrono::microseconds{0});
  EXPECT_EQ(c->retention, std::chrono::hours{48});
  EXPECT_FALSE(c->traceability);
}

TEST(store_config, traceability_is_on_by_default_and_must_be_a_boolean) {
  auto c = store_config_from(table({}), "node.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_TRUE(c->traceability);
  auto e = store_config_from(table({{"traceability", at_line({std::string{"yes"}}, 4)}}),
                             "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), phoenix::runtime::errc::config_wrong_type);
  EXPECT_EQ(e.error().message(),
            "node.toml: [store] traceability: expected true or false (line 4)");
}

TEST(store_config, unknown_keys_wrong_types_and_bad_values_name_file_key_and_line) {
  auto e = store_config_from(table({{"pth", at_line({std::string{"x"}}, 7)}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), phoenix::runtime::errc::config_unknown_key);
  EXPECT_EQ(e.error().message(), "node.toml: [store] pth: unknown key (line 7)");
  e = store_config_from(table({{"batch_max", at_line({std::string{"many"}}, 3)}}),
                        "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), phoenix::runtime::errc::config_wrong_type);
  EXPECT_EQ(e.error().message(),
            "node.toml: [store] batch_max: expected an integer (line 3)");
  e = store_config_from(table({{"backend", {true}}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "node.toml: [store] backend: expected a string (line 0)");
  e = store_config_from(table({{"backend", {std::string{"redis"}}}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), phoenix::runtime::errc::config_bad_value);
  EXPECT_EQ(e.error().message().rfind("node.toml: [store] backend: expected one of", 0),
            0u);
  e = store_config_from(table({{"batch_max", {std::int64_t{-5}}}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "node.toml: [store] batch_max: expected 1 to 100000; got -5");
  e = store_config_from(table({{"retention_hours", {std::int64_t{1} << 40}}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(
      e.error().message().rfind("node.toml: [store] retention_hours: expected 1 to", 0),
      0u);
  e = store_config_from(table({{"backend", {std::string{"postgres"}}}}), "node.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message().rfind("node.toml: [store] dsn: ", 0), 0u);
}

TEST(store_config, full_and_extra_synchronous_are_accepted) {
  store_config c;
  c.synchronous = "full";
  EXPECT_EQ(problem(c), "");
  c.synchronous = "extra";
  EXPECT_EQ(problem(c), "");
}

} // namespace
