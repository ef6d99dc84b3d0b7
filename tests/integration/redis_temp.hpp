#pragma once

// A GoogleTest global environment that runs deploy/redis/redis-temp.sh: a real Redis 7
// server in a temporary directory, started before the first test and destroyed after
// the last, so the Redis tests need nothing running beforehand.

#include "phoenix/testkit/child_process.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

namespace phoenix::itest {

class redis_temp : public ::testing::Environment {
public:
  explicit redis_temp(std::string script) : script_(std::move(script)) {
    char tmpl[] = "/tmp/phoenix-redis-XXXXXX";
    if (!mkdtemp(tmpl))
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    instance_ = this;
  }

  void SetUp() override { start(); }
  void TearDown() override { run("destroy"); }

  static redis_temp& get() { return *instance_; }

  const std::string& host() const { return host_; }
  int port() const { return port_; }

  /// Starts the server (again, after `stop`), on the same port.
  void start() {
    auto out = run("start");
    auto colon = out.rfind(':');
    host_ = out.substr(0, colon);
    port_ = std::stoi(out.substr(colon + 1));
  }

  /// Shuts the server down: clients lose their connections, the data is gone.
  void stop() { run("stop"); }

private:
  std::string run(const std::string& cmd) {
    auto r = phoenix::testkit::run_process({script_, cmd, dir_}, std::chrono::seconds{60});
    if (r.code != 0)
      throw std::runtime_error("redis-temp.sh " + cmd + " failed: " + r.err);
    return r.out;
  }

  static inline redis_temp* instance_ = nullptr;
  std::string script_;
  std::string dir_;
  std::string host_;
  int port_ = 0;
};

} // namespace phoenix::itest
