// The `phoenix` command driven from the outside: demo, run (signals, config errors) and
// mock-cluster, each as a child process with its stdout and stderr captured.

#include "cli_helpers.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <signal.h>
#include <sstream>
#include <unistd.h>

using namespace std::chrono_literals;
using phoenix::testkit::child_process;
using phoenix::testkit::run_process;
using namespace phoenix::itest;

namespace {

// -- phoenix demo ---------------------------------------------------------------------

TEST(phoenix_demo, processes_every_event_and_prints_one_json_summary_line) {
  auto r = run_process({PHOENIX_BIN, "demo", "--events", "500"}, 120s);
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), 1u) << "stdout holds only the summary:\n" << r.out;
  auto summary = nlohmann::json::parse(out[0]);
  EXPECT_EQ(summary["events"], 500);
  EXPECT_EQ(summary["produced"], 500);
  EXPECT_EQ(summary["processed"], 500);
  EXPECT_EQ(summary["duplicates"], 0);
  EXPECT_EQ(summary["undecodable"], 0);
  // The lead saga per event, with the default failure injection by lead number: quota
  // exhausted for every 20th (25), scoring failed for every 10th (50), the CRM silent
  // for every 50th (10, retracted after the timeout).
  EXPECT_EQ(summary["sagas_completed"], 415);
  EXPECT_EQ(summary["sagas_compensated"], 85);
  EXPECT_EQ(summary["sagas_failed"], 0);
  EXPECT_TRUE(contains(r.err, "processed")) << "progress goes to stderr";
}

TEST(phoenix_demo, crashing_handler_is_restarted_and_every_event_processed) {
  auto r =
      run_process({PHOENIX_BIN, "demo", "--events", "500", "--crash-every", "25"}, 120s);
  ASSERT_EQ(r.code, 0) << r.err;
  auto summary = nlohmann::json::parse(lines_of(r.out).at(0));
  EXPECT_EQ(summary["processed"], 500);
  EXPECT_EQ(summary["restarts"], 20);
  EXPECT_EQ(summary["duplicates"], 0);
  EXPECT_TRUE(contains(r.err, "injected crash on lead-25")) << r.err;
}

// -- phoenix sagas ---------------------------------------------------------------------

TEST(phoenix_sagas, lists_and_shows_what_the_demo_left_in_its_store) {
  auto store = ::testing::TempDir() + "/phoenix-cli-sagas.db";
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(store + suffix); // left by an earlier run
  auto cfg = write_config("sagas.toml", "[store]\npath = \"" + store + "\"\n");
  auto demo = run_process({PHOENIX_BIN, "demo", "--events", "40", "-c", cfg}, 120s);
  ASSERT_EQ(demo.code, 0) << demo.err;

  auto all = run_process({PHOENIX_BIN, "sagas", "list", "-c", cfg}, 30s);
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(lines_of(all.out).size(), 40u);
  // lead-1 and lead-21: quota exhausted; lead-3, 13, 23, 33: scoring failed; lead-7:
  // the CRM never answered.
  auto compensated =
      run_process({PHOENIX_BIN, "sagas", "list", "--state", "compensated", "-c", cfg}, 30s);
  ASSERT_EQ(compensated.code, 0) << compensated.err;
  auto rows = lines_of(compensated.out);
  ASSERT_EQ(rows.size(), 7u) << compensated.out;
  EXPECT_TRUE(contains(compensated.out, "lead-7\tlead\tcompensated\t")) << compensated.out;
  EXPECT_TRUE(contains(compensated.out, "notify_crm: timed out")) << compensated.out;

  auto show = run_process({PHOENIX_BIN, "sagas", "show", "lead-3", "-c", cfg}, 30s);
  ASSERT_EQ(show.code, 0) << show.err;
  auto saga = nlohmann::json::parse(show.out);
  EXPECT_EQ(saga["state"], "compensated");
  EXPECT_EQ(saga["last_error"], "score: scoring model unavailable");
  ASSERT_EQ(saga["steps"].size(), 4u);
  EXPECT_EQ(saga["steps"][0]["step"], "reserve_quota");
  EXPECT_EQ(saga["steps"][0]["state"], "compensated");
  EXPECT_EQ(saga["steps"][2]["state"], "failed");
  EXPECT_EQ(saga["steps"][3]["state"], "pending");
  EXPECT_FALSE(saga["created"].get<std::string>().empty());

  auto unknown = run_process({PHOENIX_BIN, "sagas", "show", "lead-99", "-c", cfg}, 30s);
  EXPECT_EQ(unknown.code, 1);
  EXPECT_TRUE(contains(unknown.err, "no saga with id 'lead-99'")) << unknown.err;
  EXPECT_TRUE(unknown.out.empty());
  auto bad_state =
      run_process({PHOENIX_BIN, "sagas", "list", "--state", "paused", "-c", cfg}, 30s);
  EXPECT_EQ(bad_state.code, 2);
  EXPECT_TRUE(contains(bad_state.err, "unknown saga state 'paused'")) << bad_state.err;
  EXPECT_TRUE(bad_state.out.empty());
}

TEST(phoenix_demo, rejects_a_bad_event_count) {
  auto r = run_process({PHOENIX_BIN, "demo", "--events", "0"}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--events")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

// -- phoenix run ----------------------------------------------------------------------

// Nodes in tests listen on a free port, never the default 9464 that other test runs
// on this machine may hold.
const std::string any_port = "[http]\nlisten = \"127.0.0.1:0\"\n";

void expect_ordered_stop_on(int sig) {
  auto path = write_config("phoenix-cli-stop.toml", any_port);
  child_process node{{PHOENIX_BIN, "run", "--config", path}};
  ASSERT_TRUE(node.wait_for_stderr("node started", 60s)) << node.err();
  node.signal(sig);
  EXPECT_EQ(node.wait(60s), 0) << node.err();
  EXPECT_TRUE(contains(node.err(), "node stopped")) << node.err();
}

TEST(phoenix_run, stops_in_order_and_exits_0_on_sigterm) {
  expect_ordered_stop_on(SIGTERM);
}

TEST(phoenix_run, stops_in_order_and_exits_0_on_sigint) {
  expect_ordered_stop_on(SIGINT);
}

void expect_config_error(const std::string& text, const std::string& expected) {
  auto path = write_config("phoenix-cli-test.toml", text);
  auto r = run_process({PHOENIX_BIN, "run", "--config", path}, 60s);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, path + ": " + expected)) << r.err;
  EXPECT_FALSE(contains(r.err, "node started")) << r.err;
}

TEST(phoenix_run, unknown_key_exits_2_naming_file_and_key) {
  expect_config_error("[node]\nname = \"x\"\n", "[node] name: unknown key");
}

TEST(phoenix_run, wrong_type_exits_2_naming_file_and_key) {
  expect_config_error("[supervisor]\nintensity = \"ten\"\n",
                      "[supervisor] intensity: expected");
}

TEST(phoenix_run, bad_value_exits_2_naming_file_and_key) {
  expect_config_error("[log]\nlevel = \"loud\"\n", "[log] level: expected one of");
}

TEST(phoenix_run, kafka_property_librdkafka_rejects_exits_2_naming_it) {
  expect_config_error("[kafka]\n\"no.such.property\" = \"1\"\n",
                      "[kafka] no.such.property");
  expect_config_error("[kafka]\n\"acks\" = \"sometimes\"\n", "[kafka] acks");
}

TEST(phoenix_run, bad_bus_routing_exits_2_naming_file_and_key) {
  expect_config_error("[bus]\nin_process = [\"audit\"]\nkafka = [\"audit\"]\n",
                      "[bus] in_process: \"audit\" is also listed in kafka");
  expect_config_error("[bus]\ndefault = \"redis\"\n", "[bus] default: expected");
}

TEST(phoenix_run, policy_section_errors_exit_2_naming_file_table_and_key) {
  expect_config_error("[policy.\"orders\"]\nattempts = 0\n",
                      "[policy.\"orders\"] attempts: expected 1 to 100, got 0");
  expect_config_error("[policy.default]\nretry_topics_ms = \"5s\"\n",
                      "[policy.default] retry_topics_ms: expected an array");
  // On the embedded cluster max.poll.interval.ms is 10000: 6 s in place is too long.
  expect_config_error("[policy.default]\nmax_in_place_ms = 6000\n",
                      "[policy.default] max_in_place_ms: 6000 must stay below half of "
                      "max.poll.interval.ms (at most 4999)");
}

TEST(phoenix_run, store_section_errors_exit_2_naming_file_and_key) {
  expect_config_error("[store]\nbackend = \"mysql\"\n",
                      "[store] backend: expected one of sqlite, postgres; got \"mysql\"");
  expect_config_error("[store]\npth = \"x.db\"\n", "[store] pth: unknown key (line 2)");
  expect_config_error("[store]\nbatch_max = \"many\"\n",
                      "[store] batch_max: expected an integer");
  expect_config_error("[store]\nbackend = \"postgres\"\n", "[store] dsn: must be");
}

TEST(phoenix_run, a_store_that_cannot_be_opened_exits_2_naming_file_and_key) {
  expect_config_error(any_port + "[store]\npath = \"/nonexistent-dir/phoenix.db\"\n",
                      "[store] path: cannot open SQLite database "
                      "'/nonexistent-dir/phoenix.db'");
  // Port 1 on the loopback refuses at once; the password never reaches the log.
  expect_config_error(any_port + "[store]\nbackend = \"postgres\"\n" +
                          "dsn = \"host=127.0.0.1 port=1 user=p password=s3cret\"\n",
                      "[store] dsn: cannot connect to PostgreSQL (host=127.0.0.1 port=1 "
                      "user=p password=***");
  auto r =
      run_process({PHOENIX_BIN, "run", "--config",
                   write_config("phoenix-cli-pw.toml",
                                any_port + "[store]\nbackend = \"postgres\"\n" +
                                    "dsn = \"host=127.0.0.1 port=1 password=s3cret\"\n")},
                  60s);
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
}

TEST(phoenix_run, keeps_its_store_where_store_path_says) {
  auto db =
      ::testing::TempDir() + "/phoenix-cli-store-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  auto path = write_config("phoenix-cli-store.toml", any_port + "[store]\npath = \"" + db +
                                                         "\"\nretention_hours = 48\n");
  child_process node{{PHOENIX_BIN, "run", "--config", path}};
  ASSERT_TRUE(node.wait_for_stderr("node started", 60s)) << node.err();
  EXPECT_TRUE(contains(node.err(), "store: sqlite at " + db)) << node.err();
  EXPECT_TRUE(std::ifstream{db}.good()) << db << " was not created";
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(60s), 0) << node.err();
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((db + suffix).c_str());
}

TEST(phoenix_run, missing_config_file_is_a_usage_error) {
  auto r = run_process({PHOENIX_BIN, "run", "--config", "/nonexistent/node.toml"}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "/nonexistent/node.toml")) << r.err;
}

TEST(phoenix_run, unknown_application_is_a_configuration_error) {
  auto path = write_config("phoenix-cli-app.toml", "[app]\nname = \"leads\"\n");
  auto r = run_process({PHOENIX_BIN, "run", "--config", path}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, path + ": [app] name: unknown application \"leads\" "
                                     "(known: lead-pipeline)"))
      << r.err;
  path = write_config("phoenix-cli-app-opt.toml",
                      "[app]\nname = \"lead-pipeline\"\n[app.lead-pipeline]\n"
                      "step_timeout = 5\n");
  r = run_process({PHOENIX_BIN, "run", "--config", path}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, path + ": [app.lead-pipeline] step_timeout: unknown key"))
      << r.err;
}

TEST(phoenix_run, json_log_format_writes_one_json_object_per_line) {
  auto path = write_config("phoenix-cli-json.toml",
                           "[log]\nformat = \"json\"\n[node]\nid = \"n-7\"\n" + any_port);
  child_process node{{PHOENIX_BIN, "run", "--config", path}};
  ASSERT_TRUE(node.wait_for_stderr("node started", 60s)) << node.err();
  node.signal(SIGTERM);
  ASSERT_EQ(node.wait(60s), 0) << node.err();
  auto lines = lines_of(node.err());
  ASSERT_FALSE(lines.empty());
  for (auto& line : lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(j["node"], "n-7");
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
  }
}

// -- phoenix mock-cluster -------------------------------------------------------------

TEST(phoenix_mock_cluster, prints_bootstrap_first_serves_clients_and_exits_0_on_sigterm) {
  child_process cluster{{PHOENIX_BIN, "mock-cluster", "--brokers", "1", "--topic", "t:2"}};
  ASSERT_TRUE(cluster.wait_for_stdout("\n", 30s)) << cluster.err();
  auto bootstrap = lines_of(cluster.out()).at(0);
  ASSERT_TRUE(contains(bootstrap, ":")) << bootstrap;
  for (int i = 0; i < 20; ++i)
    ASSERT_NO_FATAL_FAILURE(phoenix::testkit::produce_to(
        bootstrap, "t", "key-" + std::to_string(i), "v" + std::to_string(i), {{"h", "1"}}));
  auto records = phoenix::testkit::consume_from(bootstrap, "t", "cli-readers", 20, 30s);
  ASSERT_EQ(records.size(), 20u);
  std::set<int> partitions;
  for (auto& r : records) {
    partitions.insert(r.partition);
    EXPECT_EQ(r.headers, (phoenix::testkit::header_list{{"h", "1"}}));
  }
  EXPECT_EQ(partitions, (std::set<int>{0, 1})) << "topic t has 2 partitions";
  cluster.signal(SIGTERM);
  EXPECT_EQ(cluster.wait(30s), 0) << cluster.err();
}

TEST(phoenix_mock_cluster, exits_0_on_sigint) {
  child_process cluster{{PHOENIX_BIN, "mock-cluster", "--brokers", "2"}};
  ASSERT_TRUE(cluster.wait_for_stdout("\n", 30s)) << cluster.err();
  cluster.signal(SIGINT);
  EXPECT_EQ(cluster.wait(30s), 0) << cluster.err();
}

void expect_usage_error(std::vector<std::string> args, const std::string& named) {
  auto r = run_process(std::move(args), 30s);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, named)) << r.err;
  EXPECT_TRUE(r.out.empty()) << "printed a bootstrap line: " << r.out;
}

TEST(phoenix_mock_cluster, bad_topic_and_broker_arguments_exit_2_naming_them) {
  expect_usage_error({PHOENIX_BIN, "mock-cluster", "--topic", "bad"}, "'bad'");
  expect_usage_error({PHOENIX_BIN, "mock-cluster", "--topic", "t:zero"}, "'zero'");
  expect_usage_error({PHOENIX_BIN, "mock-cluster", "--topic", "t:0"}, "'0'");
  expect_usage_error({PHOENIX_BIN, "mock-cluster", "--brokers", "0"}, "'0'");
}

// -- help -----------------------------------------------------------------------------

TEST(phoenix_cli, help_lists_every_command) {
  auto r = run_process({PHOENIX_BIN, "--help"}, 30s);
  EXPECT_EQ(r.code, 0);
  for (auto cmd : {"run", "demo", "mock-cluster"})
    EXPECT_TRUE(contains(r.out, cmd)) << r.out;
}

TEST(phoenix_cli, no_command_prints_help_and_exits_2) {
  auto r = run_process({PHOENIX_BIN}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "a command is required")) << r.err;
}

TEST(phoenix_cli, unknown_command_fails) {
  auto r = run_process({PHOENIX_BIN, "frobnicate"}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "frobnicate")) << r.err;
}

} // namespace
