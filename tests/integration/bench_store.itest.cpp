// `phoenix bench store` run as a child process at a tiny size, against SQLite and a
// PostgreSQL 15 the test starts (deploy/postgres/pg-temp.sh): the report has the
// documented shape and both sides wrote every key. Counts only: timings depend on the
// machine and are not asserted.

#include "cli_helpers.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "testing/pg_temp.hpp"

#include <cstdio>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace std::chrono_literals;
using phoenix::persistence::testing::pg_temp;
using phoenix::testkit::run_process;

namespace {

auto* const server = ::testing::AddGlobalTestEnvironment(new pg_temp{PHOENIX_PG_TEMP});

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".json";
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(phoenix::itest::read_file(path));
}

using phoenix::itest::contains;

TEST(phoenix_bench_store, both_backends_both_sides_write_every_key_and_the_report_says_so) {
  auto out = temp_path("bench-store");
  std::remove(out.c_str());
  auto r =
      run_process({PHOENIX_BIN, "bench", "store", "--existing", "2000", "--keys", "300",
                   "--batch", "1", "--batch", "10", "--rounds", "2", "--max-seconds", "600",
                   "--postgres", pg_temp::get().create_database(), "--out", out},
                  600s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "store: sqlite   batch    10: raw")) << r.out;
  EXPECT_TRUE(contains(r.out, "store: goals:")) << r.out;

  auto doc = read_json(out);
  EXPECT_EQ(doc["scenario"], "store");
  EXPECT_EQ(doc["existing_keys"], 2000);
  EXPECT_EQ(doc["keys"], 300);
  EXPECT_EQ(doc["rounds"], 2);
  EXPECT_EQ(doc["key_order"], "random");
  EXPECT_EQ(doc["keys_per_request"], 1);
  EXPECT_TRUE(doc["skipped"].empty()) << doc["skipped"];
  ASSERT_EQ(doc["measures"].size(), 4u);
  std::vector<std::pair<std::string, int>> expected{
      {"sqlite", 1}, {"sqlite", 10}, {"postgres", 1}, {"postgres", 10}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto& m = doc["measures"][i];
    EXPECT_EQ(m["backend"], expected[i].first);
    EXPECT_EQ(m["batch"], expected[i].second);
    EXPECT_FALSE(m.contains("error")) << m.dump();
    ASSERT_EQ(m["rounds"].size(), 2u) << m.dump();
    for (auto& round : m["rounds"]) {
      EXPECT_EQ(round["raw_keys"], 300) << round.dump();
      EXPECT_EQ(round["phoenix_keys"], 300) << round.dump();
      EXPECT_GT(round["phoenix_keys_per_transaction"].get<double>(), 0);
      EXPECT_LE(round["phoenix_keys_per_transaction"].get<double>(), expected[i].second);
      for (auto key : {"raw_keys_per_s", "phoenix_keys_per_s", "ratio"})
        EXPECT_GT(round[key].get<double>(), 0) << key;
    }
    for (auto key : {"raw_keys_per_s_median", "phoenix_keys_per_s_median", "ratio"})
      EXPECT_GT(m[key].get<double>(), 0) << key;
    EXPECT_TRUE(m["goal_ratio_met"].is_boolean());
  }
  EXPECT_EQ(doc["goals"]["ratio"], 0.8);
  EXPECT_EQ(doc["goals"]["sqlite_keys_per_s"], 100000);
  EXPECT_TRUE(doc["goals"]["sqlite_met"].is_boolean());
  EXPECT_TRUE(contains(doc["command"].get<std::string>(),
                       "phoenix bench store --backend sqlite --backend postgres --batch 1 "
                       "--batch 10 --existing 2000 --keys 300"))
      << doc["command"];
  std::remove(out.c_str());
}

TEST(phoenix_bench_store, without_a_postgres_dsn_postgres_is_skipped_and_said_so) {
  auto out = temp_path("bench-store-sqlite");
  auto r = run_process({PHOENIX_BIN, "bench", "store", "--existing", "100", "--keys", "50",
                        "--batch", "5", "--batch", "20", "--rounds", "1", "--key-order",
                        "sequential", "--keys-per-request", "10", "--out", out},
                       300s);
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = read_json(out);
  ASSERT_EQ(doc["measures"].size(), 2u);
  EXPECT_EQ(doc["measures"][0]["backend"], "sqlite");
  EXPECT_EQ(doc["key_order"], "sequential");
  EXPECT_EQ(doc["keys_per_request"], 10);
  for (auto& m : doc["measures"]) // requests of 10 keys (5 at batch 5): every key written
    for (auto& round : m["rounds"]) {
      EXPECT_EQ(round["raw_keys"], 50) << m.dump();
      EXPECT_EQ(round["phoenix_keys"], 50) << m.dump();
      EXPECT_LE(round["phoenix_keys_per_transaction"].get<double>(),
                m["batch"].get<double>());
    }
  ASSERT_EQ(doc["skipped"].size(), 1u);
  EXPECT_TRUE(contains(doc["skipped"][0].get<std::string>(), "postgres")) << doc["skipped"];
  EXPECT_TRUE(contains(r.out, "store: skipped postgres")) << r.out;
  std::remove(out.c_str());
}

TEST(phoenix_bench_store, bad_arguments_exit_2_naming_them) {
  for (auto args : std::vector<std::vector<std::string>>{{"--batch", "0"},
                                                         {"--backend", "mysql"},
                                                         {"--keys", "0"},
                                                         {"--keys-per-request", "0"},
                                                         {"--key-order", "x"}}) {
    std::vector<std::string> cmd{PHOENIX_BIN, "bench", "store"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = run_process(cmd, 30s);
    EXPECT_EQ(r.code, 2) << args[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, args[0])) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(phoenix_bench_store, an_unreachable_postgres_fails_with_exit_1_without_the_password) {
  auto r = run_process({PHOENIX_BIN, "bench", "store", "--backend", "postgres",
                        "--postgres", "host=127.0.0.1 port=1 password=s3cret", "--existing",
                        "10", "--out", temp_path("bench-store-down")},
                       60s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot connect to PostgreSQL")) << r.err;
  EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
}

} // namespace
