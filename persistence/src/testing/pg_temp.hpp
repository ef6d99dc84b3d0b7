#pragma once

// A GoogleTest global environment that runs deploy/postgres/pg-temp.sh: a real
// PostgreSQL 15 server in a temporary directory, started before the first test and
// destroyed after the last, so PostgreSQL tests need nothing running beforehand.
// Header-only: test helpers stay out of the persistence library.

#include "phoenix/testkit/child_process.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

namespace phoenix::persistence::testing {

class pg_temp : public ::testing::Environment {
public:
  /// `script` is pg-temp.sh; the data directory is a fresh temporary one.
  explicit pg_temp(std::string script) : script_(std::move(script)) {
    char tmpl[] = "/tmp/phoenix-pg-XXXXXX";
    if (!mkdtemp(tmpl))
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    instance_ = this;
  }

  void SetUp() override { dsn_ = start(); }
  void TearDown() override { run("destroy"); }

  /// The running server (only valid between SetUp and TearDown).
  static pg_temp& get() { return *instance_; }

  const std::string& dsn() const { return dsn_; }

  /// Starts the server (again, after `stop`), on the same port; returns its DSN.
  std::string start() {
    auto out = run("start");
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }

  /// Fast shutdown: connected clients lose their connections.
  void stop() { run("stop"); }

  /// A new empty database on the server; its DSN.
  std::string create_database() {
    static std::atomic<int> n{0};
    std::string name = "phoenix_t" + std::to_string(++n);
    auto r = phoenix::testkit::run_process({"/usr/lib/postgresql/15/bin/psql", dsn_, "-qAt",
                                            "-v", "ON_ERROR_STOP=1", "-c",
                                            "CREATE DATABASE " + name},
                                           std::chrono::seconds{60});
    if (r.code != 0)
      throw std::runtime_error("CREATE DATABASE failed: " + r.err);
    return dsn_.substr(0, dsn_.rfind("dbname=")) + "dbname=" + name;
  }

private:
  std::string run(const std::string& cmd) {
    auto r = phoenix::testkit::run_process({script_, cmd, dir_}, std::chrono::seconds{120});
    if (r.code != 0)
      throw std::runtime_error("pg-temp.sh " + cmd + " failed: " + r.err);
    return r.out;
  }

  static inline pg_temp* instance_ = nullptr;
  std::string script_;
  std::string dir_;
  std::string dsn_;
};

} // namespace phoenix::persistence::testing
