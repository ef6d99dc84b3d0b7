#pragma once

// A `phoenix run` node with its HTTP listener on a free port, for the tests that read
// /health, /ready and /metrics over real HTTP.

#include "cli_helpers.hpp"
#include "phoenix/testkit/child_process.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace phoenix::itest {

/// The port a node logged as `http: listening on http(s)://127.0.0.1:<port>`.
inline int logged_port(const testkit::child_process& node) {
  std::smatch m;
  auto err = node.err();
  if (!std::regex_search(err, m,
                         std::regex{"listening on https?://127\\.0\\.0\\.1:(\\d+)"}))
    return -1;
  return std::stoi(m[1]);
}

/// `phoenix run` with `[http] listen = "127.0.0.1:0"` and `config_text` after it, started
/// and waited for ("node started"); stopped with SIGTERM at the end, exit code 0 expected.
/// Unless `config_text` has a `[store]` section, the node gets a SQLite file of its own
/// (removed at the end), not the default phoenix.db of the working directory, which
/// outlives the test and may hold another build's schema.
struct running_node {
  explicit running_node(const std::string& config_text) {
    using namespace std::chrono_literals;
    const auto name =
        "phoenix-obs-" + std::to_string(::getpid()) + "-" + std::to_string(++counter());
    std::string store;
    if (config_text.find("[store]") == std::string::npos) {
      store_path = ::testing::TempDir() + "/" + name + ".db";
      store = "[store]\npath = \"" + store_path + "\"\n";
    }
    config_path = write_config(name + ".toml",
                               store + "[http]\nlisten = \"127.0.0.1:0\"\n" + config_text);
    node = std::make_unique<testkit::child_process>(
        std::vector<std::string>{PHOENIX_BIN, "run", "--config", config_path});
    EXPECT_TRUE(node->wait_for_stderr("node started", 60s)) << node->err();
    port = logged_port(*node);
    EXPECT_GT(port, 0) << node->err();
  }
  ~running_node() {
    using namespace std::chrono_literals;
    node->signal(SIGTERM);
    EXPECT_EQ(node->wait(60s), 0) << node->err();
    std::remove(config_path.c_str());
    if (!store_path.empty())
      for (const char* suffix : {"", "-wal", "-shm"})
        std::remove((store_path + suffix).c_str());
  }
  running_node(const running_node&) = delete;
  running_node& operator=(const running_node&) = delete;
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::unique_ptr<testkit::child_process> node;
  int port = -1;
  std::string config_path;
  std::string store_path; // empty: the config names the store
};

} // namespace phoenix::itest
