#pragma once

// A `phoenix run` node with its HTTP listener on a free port, for the tests that read
// /health, /ready and /metrics over real HTTP.

#include "cli_helpers.hpp"
#include "phoenix/testkit/child_process.hpp"

#include <chrono>
#include <memory>
#include <regex>
#include <signal.h>
#include <string>
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
struct running_node {
  explicit running_node(const std::string& config_text) {
    using namespace std::chrono_literals;
    auto path = write_config("phoenix-obs-" + std::to_string(++counter()) + ".toml",
                             "[http]\nlisten = \"127.0.0.1:0\"\n" + config_text);
    node = std::make_unique<testkit::child_process>(
        std::vector<std::string>{PHOENIX_BIN, "run", "--config", path});
    EXPECT_TRUE(node->wait_for_stderr("node started", 60s)) << node->err();
    port = logged_port(*node);
    EXPECT_GT(port, 0) << node->err();
  }
  ~running_node() {
    using namespace std::chrono_literals;
    node->signal(SIGTERM);
    EXPECT_EQ(node->wait(60s), 0) << node->err();
  }
  running_node(const running_node&) = delete;
  running_node& operator=(const running_node&) = delete;
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::unique_ptr<testkit::child_process> node;
  int port = -1;
};

} // namespace phoenix::itest
