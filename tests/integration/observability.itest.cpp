// /health, /ready and /metrics over real HTTP on running `phoenix` nodes, promtool on
// what /metrics serves, and the deployment files in deploy/ checked against it.

#include "http_node.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/testkit/child_process.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using phoenix::testkit::child_process;
using phoenix::testkit::run_process;
using namespace phoenix::itest;

namespace {

TEST(phoenix_run_http, serves_health_ready_and_metrics) {
  running_node n{""};
  httplib::Client cli{"127.0.0.1", n.port};
  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "up");
  auto ready = cli.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  auto body = nlohmann::json::parse(ready->body);
  EXPECT_EQ(body["ready"], true);
  std::map<std::string, bool> checks; // by name: the list is ordered by name
  for (auto& c : body["checks"])
    checks[c["name"].get<std::string>()] = c["ok"].get<bool>();
  EXPECT_EQ(checks.count("restarts"), 1u) << ready->body;
  EXPECT_EQ(checks.count("node"), 1u) << ready->body;
  EXPECT_TRUE(checks["store"]) << ready->body;
  auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(contains(metrics->body, "phoenix_build_info{")) << metrics->body;
  EXPECT_TRUE(contains(metrics->body, "phoenix_actor_restarts_total{kind=\"kafka\"} 0"))
      << "the health monitor saw the kafka supervisor start:\n"
      << metrics->body;
  EXPECT_TRUE(contains(metrics->body, "phoenix_bus_published_total 0")) << metrics->body;
}

TEST(phoenix_run_http, basic_auth_rejects_with_401_and_accepts_the_user) {
  auto pw = write_config("phoenix-obs-pw", "hunter2\n");
  running_node n{"user = \"ops\"\npassword_file = \"" + pw + "\"\n"};
  httplib::Client cli{"127.0.0.1", n.port};
  auto anon = cli.Get("/metrics");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  cli.set_basic_auth("ops", "hunter3");
  EXPECT_EQ(cli.Get("/health")->status, 401);
  cli.set_basic_auth("ops", "hunter2");
  EXPECT_EQ(cli.Get("/health")->status, 200);
  EXPECT_EQ(cli.Get("/metrics")->status, 200);
}

void expect_start_error(const std::string& http_section, const std::string& expected) {
  auto path = write_config("phoenix-obs-bad.toml", "[http]\n" + http_section);
  auto r = run_process({PHOENIX_BIN, "run", "--config", path}, 60s);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, path + ": " + expected)) << r.err;
  EXPECT_FALSE(contains(r.err, "node started")) << r.err;
}

TEST(phoenix_run_http, bad_http_settings_exit_2_naming_file_key_and_path) {
  expect_start_error("listen = \"127.0.0.1:0\"\nuser = \"ops\"\npassword_file = "
                     "\"/nonexistent/pw\"\n",
                     "[http] password_file: cannot read /nonexistent/pw");
  expect_start_error("listen = \"127.0.0.1:0\"\ntls_cert = \"/nonexistent/c.pem\"\n"
                     "tls_key = \"/nonexistent/k.pem\"\n",
                     "[http] tls_cert: cannot read /nonexistent/c.pem");
  expect_start_error("listen = \"nowhere\"\n", "[http] listen: expected host:port");
}

TEST(phoenix_run_http, port_in_use_exits_2_naming_listen) {
  running_node first{""};
  expect_start_error("listen = \"127.0.0.1:" + std::to_string(first.port) + "\"\n",
                     "[http] listen: cannot listen on 127.0.0.1:" +
                         std::to_string(first.port));
}

// -- a node that has consumed: phoenix demo --serve ----------------------------------

class served_demo : public ::testing::Test {
protected:
  // One demo node for the suite: 300 events, a crash every 100th (3 partition actor
  // restarts), a storm threshold of 2 restarts within 10 minutes.
  static void SetUpTestSuite() {
    auto path = write_config("phoenix-obs-demo.toml",
                             "[http]\nlisten = \"127.0.0.1:0\"\n"
                             "[health]\nstorm_restarts = 2\nstorm_window_ms = 600000\n");
    node_ = new child_process{{PHOENIX_BIN, "demo", "--events", "300", "--crash-every",
                               "100", "--serve", "--config", path}};
    ASSERT_TRUE(node_->wait_for_stderr("demo: done; serving", 120s)) << node_->err();
    port_ = logged_port(*node_);
    // The demo says done once its handler has seen every event; the lane counts the
    // last one just after. Scrape until the counters have caught up.
    // A `phoenix run` node too: it runs the topic bus, which the demo does not.
    running_node run_node{""};
    httplib::Client run_cli{"127.0.0.1", run_node.port};
    auto run_metrics = run_cli.Get("/metrics");
    ASSERT_TRUE(run_metrics);
    run_metrics_ = new std::string(run_metrics->body);

    httplib::Client cli{"127.0.0.1", port_};
    const std::string all_timed =
        "phoenix_record_handling_seconds_count{consumer=\"consumer:"
        "lead.detected\",topic=\"lead.detected\"} 300";
    metrics_ = new std::string;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!contains(*metrics_, all_timed) && std::chrono::steady_clock::now() < deadline) {
      auto res = cli.Get("/metrics");
      ASSERT_TRUE(res);
      *metrics_ = res->body;
      if (!contains(*metrics_, all_timed))
        std::this_thread::sleep_for(50ms);
    }
  }

  static void TearDownTestSuite() {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(60s), 0) << node_->err();
    auto summary = nlohmann::json::parse(node_->out());
    EXPECT_EQ(summary["processed"], 300);
    delete node_;
    delete metrics_;
    delete run_metrics_;
  }

  // Metric families (`# TYPE <name> <type>`) in the /metrics output of both nodes.
  static std::map<std::string, std::string> families() {
    std::map<std::string, std::string> out;
    std::istringstream in{*metrics_ + *run_metrics_};
    for (std::string line; std::getline(in, line);) {
      std::istringstream words{line};
      std::string hash, type_word, name, type;
      if (words >> hash >> type_word >> name >> type && hash == "#" && type_word == "TYPE")
        out[name] = type;
    }
    return out;
  }

  // Every phoenix_* name a file refers to, histogram suffixes mapped to their family.
  static std::set<std::string> referenced(const std::string& text) {
    auto fams = families();
    std::set<std::string> out;
    std::regex name{"phoenix_[a-z0-9_]+"};
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
         it != std::sregex_iterator(); ++it) {
      auto n = it->str();
      for (auto suffix : {"_bucket", "_sum", "_count"}) {
        auto base = n.size() > std::strlen(suffix)
                        ? n.substr(0, n.size() - std::strlen(suffix))
                        : std::string{};
        if (n.size() > base.size() && fams.count(base) && fams.at(base) == "histogram")
          n = base;
      }
      out.insert(n);
    }
    return out;
  }

  static child_process* node_;
  static int port_;
  static std::string* metrics_;
  static std::string* run_metrics_;
};

child_process* served_demo::node_ = nullptr;
int served_demo::port_ = -1;
std::string* served_demo::metrics_ = nullptr;
std::string* served_demo::run_metrics_ = nullptr;

TEST_F(served_demo, metrics_count_what_the_node_did) {
  const std::string topic = "consumer=\"consumer:lead.detected\",topic=\"lead.detected\"";
  EXPECT_TRUE(contains(*metrics_, "phoenix_records_consumed_total{" + topic + "} 300"))
      << *metrics_;
  EXPECT_TRUE(contains(*metrics_, "phoenix_records_handled_total{" + topic + "} 300"));
  EXPECT_TRUE(
      contains(*metrics_, "phoenix_record_handling_seconds_count{" + topic + "} 300"));
  EXPECT_TRUE(contains(*metrics_, "phoenix_actor_restarts_total{kind=\"partition\"} 3"));
  EXPECT_TRUE(contains(*metrics_, "phoenix_actor_crashes_total{kind=\"partition\"} 3"));
  EXPECT_TRUE(contains(*metrics_, "phoenix_assigned_partitions{consumer=\"consumer:lead."
                                  "detected\"} 3"));
}

TEST_F(served_demo, promtool_accepts_the_metrics_output) {
  for (auto* text : {metrics_, run_metrics_}) {
    auto file = write_config("phoenix-obs-metrics.txt", *text);
    auto r = run_process({"/bin/sh", "-c", "promtool check metrics < " + file}, 60s);
    EXPECT_EQ(r.code, 0) << r.out << r.err << *text;
  }
}

TEST_F(served_demo, restart_storm_turns_ready_false_naming_the_check) {
  httplib::Client cli{"127.0.0.1", port_};
  auto ready = cli.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503) << ready->body;
  auto body = nlohmann::json::parse(ready->body);
  EXPECT_EQ(body["ready"], false);
  bool storm_named = false;
  for (auto& c : body["checks"]) {
    if (c["name"] == "restarts") {
      EXPECT_EQ(c["ok"], false);
      storm_named = contains(c["detail"].get<std::string>(), "restart storm");
    } else {
      EXPECT_EQ(c["ok"], true) << c.dump(); // the consumer has joined
    }
  }
  EXPECT_TRUE(storm_named) << ready->body;
  EXPECT_EQ(cli.Get("/health")->status, 200) << "a storm is no liveness failure";
}

TEST_F(served_demo, grafana_dashboard_parses_and_covers_every_metric) {
  auto dash = nlohmann::json::parse(
      read_file(PHOENIX_DEPLOY_DIR "/grafana/phoenix-dashboard.json"));
  ASSERT_TRUE(dash["panels"].is_array());
  std::string exprs;
  for (auto& p : dash["panels"])
    for (auto& t : p["targets"])
      exprs += t["expr"].get<std::string>() + "\n";
  auto fams = families();
  auto used = referenced(exprs);
  for (auto& name : used)
    EXPECT_TRUE(fams.count(name))
        << "the dashboard uses " << name << ", which the node does not expose";
  for (auto& [name, type] : fams)
    if (name.rfind("phoenix_", 0) == 0)
      EXPECT_TRUE(used.count(name)) << "no dashboard panel shows " << name;
}

TEST_F(served_demo, prometheus_config_and_rules_pass_promtool_and_name_real_metrics) {
  auto r = run_process({"/bin/sh", "-c",
                        "promtool check config " PHOENIX_DEPLOY_DIR
                        "/prometheus/prometheus.yml"},
                       60s);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  auto fams = families();
  auto used = referenced(read_file(PHOENIX_DEPLOY_DIR "/prometheus/phoenix-rules.yml"));
  EXPECT_FALSE(used.empty());
  for (auto& name : used)
    EXPECT_TRUE(fams.count(name))
        << "a rule uses " << name << ", which the node does not expose";
}

// -- systemd ---------------------------------------------------------------------------

std::map<std::string, std::string> unit_keys(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in{text};
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    auto eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << "not a key=value line: " << line;
    if (eq != std::string::npos)
      out[section + line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

TEST(deploy_systemd, unit_restarts_on_failure_and_outwaits_the_shutdown_bound) {
  auto keys = unit_keys(read_file(PHOENIX_DEPLOY_DIR "/systemd/phoenix.service"));
  EXPECT_EQ(keys["[Service]Restart"], "on-failure");
  EXPECT_EQ(keys["[Service]KillSignal"], "SIGTERM");
  EXPECT_EQ(keys["[Service]RestartPreventExitStatus"], "2")
      << "a bad config is not retried";
  EXPECT_TRUE(contains(keys["[Service]ExecStart"], " run --config /etc/phoenix/node.toml"));
  EXPECT_EQ(keys["[Install]WantedBy"], "multi-user.target");
  auto stop = keys["[Service]TimeoutStopSec"];
  ASSERT_FALSE(stop.empty());
  ASSERT_EQ(stop.back(), 's');
  auto stop_ms = std::stol(stop) * 1000;
  // The example config the unit points at must be valid and stop within the unit's bound.
  auto cfg = phoenix::runtime::load_config(PHOENIX_DEPLOY_DIR "/systemd/node.toml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().describe();
  EXPECT_LT(cfg->node.shutdown_timeout.count(), stop_ms)
      << "systemd would SIGKILL the node during its ordered stop";
  EXPECT_EQ(cfg->http.port, 9464);
}

} // namespace
