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

TEST(store_config, full_and_extra_synchronous_are_accepted) {
  store_config c;
  c.synchronous = "full";
  EXPECT_EQ(problem(c), "");
  c.synchronous = "extra";
  EXPECT_EQ(problem(c), "");
}

} // namespace
