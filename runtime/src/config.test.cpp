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

TEST(config, app_section_keeps_its_keys_and_each_application_table) {
  auto r = parse_config("[app]\nname = \"lead-pipeline\"\n[app.lead-pipeline]\n"
                        "step_timeout_ms = 3000\ntopic_prefix = \"t1.\"\n",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_TRUE(r->app.present);
  EXPECT_EQ(std::get<std::string>(r->app.settings.at("name").value), "lead-pipeline");
  auto& opts = r->app.options.at("lead-pipeline");
  EXPECT_EQ(std::get<std::int64_t>(opts.at("step_timeout_ms").value), 3000);
  EXPECT_EQ(opts.at("topic_prefix").line, 5);
  EXPECT_FALSE(parse_config("", "node.toml")->app.present);
}

TEST(config, app_option_that_is_no_scalar_is_named) {
  auto e = parse_error("[app]\nname = \"x\"\n[app.x]\nlist = [1, 2]\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  EXPECT_TRUE(contains(e.message(), "node.toml: [app.x] list: expected a string, number or "
                                    "boolean"))
      << e.message();
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

TEST(config, kafka_restart_backoff_is_on_by_default_and_read_from_supervisor) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->supervisor.kafka_backoff.has_value());
  EXPECT_EQ(r->supervisor.kafka_backoff->min, std::chrono::milliseconds{200});
  EXPECT_EQ(r->supervisor.kafka_backoff->max, std::chrono::milliseconds{30000});
  r = parse_config("[supervisor]\nbackoff_min_ms = 50\nbackoff_max_ms = 2000\n"
                   "backoff_jitter = 0.0\nbackoff_reset_ms = 3000\n",
                   "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->supervisor.kafka_backoff->min, std::chrono::milliseconds{50});
  EXPECT_EQ(r->supervisor.kafka_backoff->max, std::chrono::milliseconds{2000});
  EXPECT_EQ(r->supervisor.kafka_backoff->jitter, 0.0);
  EXPECT_EQ(r->supervisor.kafka_backoff->reset_after, std::chrono::milliseconds{3000});
  r = parse_config("[supervisor]\nbackoff = false\n", "node.toml");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->supervisor.kafka_backoff.has_value());
}

TEST(config, bad_restart_backoff_is_named) {
  auto e = parse_error("[supervisor]\nbackoff_min_ms = 5000\nbackoff_max_ms = 1000\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_bad_value));
  EXPECT_TRUE(contains(e.message(), "node.toml: [supervisor] backoff_max_ms: must not be"))
      << e.message();
  e = parse_error("[supervisor]\nbackoff_jitter = 2.0\n");
  EXPECT_TRUE(contains(e.message(), "[supervisor] backoff_jitter: expected 0 to 1"))
      << e.message();
  e = parse_error("[supervisor]\nbackoff_jitter = 1\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  e = parse_error("[supervisor]\nbackoff = \"yes\"\n");
  EXPECT_TRUE(contains(e.message(), "[supervisor] backoff: expected a boolean"))
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

TEST(config, store_section_is_kept_with_types_and_lines_for_its_module) {
  auto r = parse_config("[store]\nbackend = \"postgres\"\nbatch_max = 10\n"
                        "ratio = 0.5\nflag = true\n",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  ASSERT_EQ(r->store.size(), 4u);
  EXPECT_EQ(std::get<std::string>(r->store.at("backend").value), "postgres");
  EXPECT_EQ(r->store.at("backend").line, 2);
  EXPECT_EQ(std::get<std::int64_t>(r->store.at("batch_max").value), 10);
  EXPECT_EQ(std::get<double>(r->store.at("ratio").value), 0.5);
  EXPECT_TRUE(std::get<bool>(r->store.at("flag").value));
  EXPECT_TRUE(parse_config("", "node.toml")->store.empty());
}

TEST(config, store_value_that_is_a_table_or_array_is_wrong_type) {
  auto e = parse_error("[store]\npath = [\"a\"]\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  EXPECT_TRUE(contains(e.message(), "node.toml: [store] path: expected")) << e.message();
  e = parse_error("[store.sub]\nx = 1\n");
  EXPECT_EQ(e.code(), make_error_code(errc::config_wrong_type));
  EXPECT_TRUE(contains(e.message(), "[store] sub")) << e.message();
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

TEST(config, http_defaults_to_loopback_9464_without_auth_or_tls) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->http.enabled);
  EXPECT_EQ(r->http.host, "127.0.0.1");
  EXPECT_EQ(r->http.port, 9464);
  EXPECT_TRUE(r->http.user.empty());
  EXPECT_TRUE(r->http.tls_cert.empty());
  EXPECT_EQ(r->health.storm_restarts, 5);
}

TEST(config, http_reads_listen_auth_tls_relative_to_the_config_file) {
  auto r = parse_config(R"(
[http]
listen = "[::1]:0"
user = "ops"
password_file = "secret/pw"
tls_cert = "/etc/phoenix/cert.pem"
tls_key = "key.pem"
[health]
storm_restarts = 3
storm_window_ms = 1000
)",
                        "/etc/phoenix/node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->http.host, "::1");
  EXPECT_EQ(r->http.port, 0);
  EXPECT_EQ(r->http.password_file, "/etc/phoenix/secret/pw");
  EXPECT_EQ(r->http.tls_cert, "/etc/phoenix/cert.pem");
  EXPECT_EQ(r->http.tls_key, "/etc/phoenix/key.pem");
  EXPECT_EQ(r->health.storm_restarts, 3);
  EXPECT_EQ(r->health.storm_window, std::chrono::milliseconds{1000});
}

TEST(config, empty_listen_turns_the_listener_off) {
  auto r = parse_config("[http]\nlisten = \"\"\n", "node.toml");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->http.enabled);
}

TEST(config, bad_http_settings_name_file_and_key) {
  struct bad_case {
    const char* text;
    const char* expected;
  };
  for (auto c : {
           bad_case{"[http]\nlisten = \"9464\"\n", "node.toml: [http] listen: expected"},
           bad_case{"[http]\nlisten = \"h:70000\"\n", "node.toml: [http] listen: expected"},
           bad_case{"[http]\nlisten = \"h:x1\"\n", "node.toml: [http] listen: expected"},
           bad_case{"[http]\nuser = \"ops\"\n",
                    "node.toml: [http] user: expected exactly one"},
           bad_case{"[http]\npassword_file = \"pw\"\n",
                    "node.toml: [http] password_file: needs a user"},
           bad_case{"[http]\nuser = \"u\"\npassword_sha256 = \"abc\"\n",
                    "node.toml: [http] password_sha256: expected 64 hex digits"},
           bad_case{"[http]\ntls_cert = \"c.pem\"\n",
                    "node.toml: [http] tls_key: tls_cert and"},
           bad_case{"[http]\nport = 1\n", "node.toml: [http] port: unknown key"},
           bad_case{"[health]\nstorm_restarts = 0\n",
                    "node.toml: [health] storm_restarts: expected 1 to"},
       }) {
    auto e = parse_error(c.text);
    EXPECT_TRUE(contains(e.message(), c.expected)) << c.text << " -> " << e.message();
  }
}

} // namespace
