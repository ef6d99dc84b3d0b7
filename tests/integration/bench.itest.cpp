// `phoenix bench consume` and `phoenix bench saga` run as child processes at a tiny
// size: the report has the documented shape, both consume sides consumed exactly every
// record, every saga finished. Counts only: timings depend on the machine and are not
// asserted.

#include "phoenix/testkit/child_process.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

using namespace std::chrono_literals;
using phoenix::testkit::run_process;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".json";
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(phoenix_bench_consume, both_sides_consume_every_record_and_the_report_says_so) {
  auto out = temp_path("bench-consume");
  std::remove(out.c_str());
  auto r = run_process({PHOENIX_BIN, "bench", "consume", "--records", "20000", "--rounds",
                        "1", "--out", out},
                       300s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ratio")) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one summary line:\n"
                                                             << r.out;

  auto doc = read_json(out);
  EXPECT_EQ(doc["scenario"], "consume");
  EXPECT_EQ(doc["records"], 20000);
  EXPECT_EQ(doc["partitions"], 3);
  EXPECT_EQ(doc["value_bytes"], 100);
  ASSERT_EQ(doc["rounds"].size(), 1u);
  auto& round = doc["rounds"][0];
  EXPECT_FALSE(round.contains("error")) << round.dump();
  EXPECT_EQ(round["raw_records"], 20000);
  EXPECT_EQ(round["phoenix_records"], 20000);
  for (auto key : {"raw_rps", "phoenix_rps", "ratio"})
    EXPECT_GT(round[key].get<double>(), 0) << key;
  // librdkafka's threads' share of each side's CPU is part of it; the application's
  // (the loop, or Phoenix's consumer and lanes) handled every record, so it is not 0.
  for (std::string side : {"raw", "phoenix"}) {
    auto rdk = round[side + "_librdkafka_cpu_seconds"].get<double>();
    EXPECT_GE(rdk, 0) << side;
    EXPECT_LE(rdk, round[side + "_cpu_seconds"].get<double>() + 0.001) << side;
    EXPECT_GT(round[side + "_app_cpu_us_per_record"].get<double>(), 0) << side;
    EXPECT_TRUE(doc[side + "_app_cpu_us_per_record_median"].is_number()) << side;
  }
  for (auto key : {"raw_rps_median", "phoenix_rps_median", "ratio", "goal"})
    EXPECT_TRUE(doc[key].is_number()) << key;
  EXPECT_EQ(doc["goal"], 0.9);
  EXPECT_TRUE(doc["goal_met"].is_boolean());
  // One round: its own ratio is every quartile of the rounds' ratios.
  ASSERT_EQ(doc["round_ratio_quartiles"].size(), 3u);
  for (auto& q : doc["round_ratio_quartiles"])
    EXPECT_EQ(q, round["ratio"]);
  EXPECT_TRUE(contains(r.out, "middle half of the rounds' ratios")) << r.out;
  EXPECT_EQ(doc["completed_rounds"], 1);
  EXPECT_EQ(doc["failed_rounds"], 0);
  EXPECT_GE(doc["machine"]["cores"].get<int>(), 1);
  EXPECT_TRUE(contains(doc["command"].get<std::string>(),
                       "phoenix bench consume --records 20000 --partitions 3"))
      << doc["command"];
  std::remove(out.c_str());
}

TEST(phoenix_bench_consume, too_few_partitions_for_the_records_fails_loudly) {
  // 100 KiB values: 200 records need about 20 MiB, far more than one partition keeps.
  auto out = temp_path("bench-consume-small");
  auto r =
      run_process({PHOENIX_BIN, "bench", "consume", "--records", "200", "--value-bytes",
                   "102400", "--partitions", "1", "--rounds", "1", "--out", out},
                  120s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "lost its oldest")) << r.err;
  EXPECT_TRUE(contains(r.err, "--partitions")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  std::remove(out.c_str());
}

TEST(phoenix_bench_consume, rejects_a_bad_record_count) {
  auto r = run_process({PHOENIX_BIN, "bench", "consume", "--records", "0"}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--records")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(phoenix_bench_saga, every_saga_of_every_round_finishes_and_the_report_says_so) {
  auto out = temp_path("bench-saga");
  std::remove(out.c_str());
  auto r = run_process({PHOENIX_BIN, "bench", "saga", "--sagas", "300", "--in-flight", "50",
                        "--idle", "200", "--rounds", "2", "--store-window-us", "0",
                        "--relay-rounds", "3", "--out", out},
                       300s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "bench saga: ")) << r.out;
  auto doc = read_json(out);
  EXPECT_EQ(doc["scenario"], "saga");
  EXPECT_EQ(doc["error"], "");
  EXPECT_EQ(doc["sagas"], 300);
  EXPECT_EQ(doc["idle_sagas"], 200);
  ASSERT_EQ(doc["sagas_per_second"].size(), 2u);
  ASSERT_EQ(doc["cpu_us_per_saga"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_GT(doc["sagas_per_second"][i].get<double>(), 0) << i;
    EXPECT_GT(doc["cpu_us_per_saga"][i].get<double>(), 0) << i;
    EXPECT_LE(doc["p50_ms"][i].get<double>(), doc["p99_ms"][i].get<double>()) << i;
  }
  // Every saga sends 3 commands; the relay published them all, in rounds of at least one.
  EXPECT_GE(doc["outbox_rows_per_round"].get<double>(), 1.0);
  EXPECT_EQ(doc["allocator"].get<std::string>().rfind(PHOENIX_EXPECTED_MALLOC, 0), 0u)
      << doc["allocator"];
  EXPECT_TRUE(contains(doc["command"], "--store-window-us 0 --relay-rounds 3"))
      << doc["command"];
}

TEST(phoenix_bench_saga, bad_arguments_exit_2_naming_them) {
  for (auto bad : {std::vector<std::string>{"--sagas", "0"},
                   std::vector<std::string>{"--store-window-us", "-1"},
                   std::vector<std::string>{"--relay-rounds", "0"},
                   std::vector<std::string>{"--rounds", "0"}}) {
    std::vector<std::string> args{PHOENIX_BIN, "bench", "saga"};
    args.insert(args.end(), bad.begin(), bad.end());
    auto r = run_process(args, 30s);
    EXPECT_EQ(r.code, 2) << bad[0];
    EXPECT_TRUE(contains(r.err, bad[0])) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

} // namespace
