#include "phoenix/bench/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace phoenix::bench;

namespace {

round_result completed(std::uint64_t n, double raw_seconds, double phoenix_seconds) {
  round_result r;
  // librdkafka's threads use the side's time once: the application the rest.
  r.raw = {n, raw_seconds, raw_seconds * 1.5, raw_seconds};
  r.phoenix = {n, phoenix_seconds, phoenix_seconds * 2, phoenix_seconds};
  return r;
}

consume_report two_round_report() {
  consume_report rep;
  rep.records = 1000;
  rep.partitions = 3;
  rep.value_bytes = 100;
  rep.brokers = 1;
  rep.cores = 2;
  rep.librdkafka_version = "2.0.2";
  rep.allocator = "jemalloc 5.3.0";
  rep.command = "phoenix bench consume --records 1000";
  rep.rounds = {completed(1000, 0.001, 0.002), completed(1000, 0.002, 0.004)};
  return rep;
}

} // namespace

TEST(bench_median, of_an_odd_count_is_the_middle_value) {
  EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(median({7}), 7);
}

TEST(bench_median, of_an_even_count_is_the_mean_of_the_two_middle_values) {
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({10, 20}), 15);
}

TEST(bench_median, ignores_a_single_outlier_and_is_zero_for_nothing) {
  EXPECT_DOUBLE_EQ(median({100, 101, 1}), 100);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(bench_quantile, interpolates_between_the_nearest_ranks) {
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2, 5}, 0.25), 2);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2, 5}, 0.5), 3);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2, 5}, 0.75), 4);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile({10, 20}, 0.75), 17.5);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.25), 7);
  EXPECT_DOUBLE_EQ(quantile({1, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(quantile({1, 2}, 1), 2);
  EXPECT_DOUBLE_EQ(quantile({}, 0.5), 0);
}

TEST(bench_ratio, is_phoenix_over_raw_and_zero_without_a_raw_rate) {
  EXPECT_DOUBLE_EQ(ratio(900, 1000), 0.9);
  EXPECT_DOUBLE_EQ(ratio(900, 0), 0);
  EXPECT_DOUBLE_EQ(rate(1000, 0.5), 2000);
  EXPECT_DOUBLE_EQ(rate(1000, 0), 0);
}

TEST(consume_report, medians_and_ratio_use_completed_rounds_only) {
  auto rep = two_round_report();
  round_result broken;
  broken.raw = {1000, 0.0001, 0.0001};
  broken.error = "phoenix: records missing";
  rep.rounds.push_back(broken);
  EXPECT_DOUBLE_EQ(rep.raw_rps_median(), (1e6 + 5e5) / 2);
  EXPECT_DOUBLE_EQ(rep.phoenix_rps_median(), (5e5 + 2.5e5) / 2);
  EXPECT_DOUBLE_EQ(rep.ratio(), 0.5);
  EXPECT_TRUE(rep.failed());
  auto q = rep.round_ratio_quartiles(); // the broken round's ratio (0) is not among them
  EXPECT_DOUBLE_EQ(q[0], 0.5);
  EXPECT_DOUBLE_EQ(q[2], 0.5);
}

TEST(consume_report, round_ratio_quartiles_are_of_each_rounds_own_ratio) {
  auto rep = two_round_report();
  // Ratios 0.5, 1, 2, 0.8 and 1.25, each of its own round; sorted 0.5 0.8 1 1.25 2.
  rep.rounds = {completed(1000, 0.001, 0.002), completed(1000, 0.002, 0.002),
                completed(1000, 0.004, 0.002), completed(1000, 0.004, 0.005),
                completed(1000, 0.005, 0.004)};
  auto q = rep.round_ratio_quartiles();
  EXPECT_DOUBLE_EQ(q[0], 0.8);
  EXPECT_DOUBLE_EQ(q[1], 1);
  EXPECT_DOUBLE_EQ(q[2], 1.25);
  auto doc = nlohmann::json::parse(to_json(rep));
  EXPECT_EQ(doc["round_ratio_quartiles"], nlohmann::json::parse("[0.8, 1.0, 1.25]"));
  auto line = summary_line(rep);
  EXPECT_NE(line.find("middle half of the rounds' ratios 0.80-1.25"), std::string::npos)
      << line;
}

TEST(consume_report, application_cpu_is_the_process_cpu_less_librdkafkas_a_record) {
  side_result side{1000, 0.5, 0.003, 0.001};
  EXPECT_DOUBLE_EQ(side.app_cpu_us_per_record(), 2);
  EXPECT_DOUBLE_EQ(side_result{}.app_cpu_us_per_record(), 0);
  auto rep = two_round_report();
  EXPECT_DOUBLE_EQ(rep.raw_app_cpu_us_median(), 0.75);
  EXPECT_DOUBLE_EQ(rep.phoenix_app_cpu_us_median(), 3);
}

TEST(consume_report, json_has_the_documented_shape) {
  auto doc = nlohmann::json::parse(to_json(two_round_report()));
  EXPECT_EQ(doc["scenario"], "consume");
  EXPECT_EQ(doc["records"], 1000);
  EXPECT_EQ(doc["partitions"], 3);
  EXPECT_EQ(doc["value_bytes"], 100);
  EXPECT_EQ(doc["brokers"], 1);
  ASSERT_EQ(doc["rounds"].size(), 2u);
  for (auto& r : doc["rounds"]) {
    for (auto key : {"raw_rps", "phoenix_rps", "ratio", "raw_seconds", "phoenix_seconds",
                     "raw_cpu_seconds", "phoenix_cpu_seconds", "raw_librdkafka_cpu_seconds",
                     "phoenix_librdkafka_cpu_seconds", "raw_app_cpu_us_per_record",
                     "phoenix_app_cpu_us_per_record"})
      EXPECT_TRUE(r[key].is_number()) << key;
    EXPECT_EQ(r["raw_records"], 1000);
    EXPECT_EQ(r["phoenix_records"], 1000);
    EXPECT_FALSE(r.contains("error"));
  }
  EXPECT_DOUBLE_EQ(doc["rounds"][0]["raw_rps"].get<double>(), 1e6);
  EXPECT_DOUBLE_EQ(doc["rounds"][0]["ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(doc["rounds"][1]["phoenix_cpu_seconds"].get<double>(), 0.008);
  EXPECT_DOUBLE_EQ(doc["rounds"][1]["phoenix_librdkafka_cpu_seconds"].get<double>(), 0.004);
  EXPECT_DOUBLE_EQ(doc["rounds"][1]["phoenix_app_cpu_us_per_record"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(doc["raw_app_cpu_us_per_record_median"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(doc["phoenix_app_cpu_us_per_record_median"].get<double>(), 3);
  EXPECT_DOUBLE_EQ(doc["raw_rps_median"].get<double>(), 750000);
  EXPECT_DOUBLE_EQ(doc["phoenix_rps_median"].get<double>(), 375000);
  EXPECT_DOUBLE_EQ(doc["ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(doc["goal"].get<double>(), 0.9);
  EXPECT_EQ(doc["goal_met"], false);
  EXPECT_EQ(doc["completed_rounds"], 2);
  EXPECT_EQ(doc["failed_rounds"], 0);
  EXPECT_EQ(doc["machine"]["cores"], 2);
  EXPECT_EQ(doc["machine"]["librdkafka"], "2.0.2");
  EXPECT_EQ(doc["machine"]["allocator"], "jemalloc 5.3.0");
  EXPECT_EQ(doc["command"], "phoenix bench consume --records 1000");
  EXPECT_TRUE(doc["timing"].is_string());
}

TEST(consume_report, json_marks_a_failed_round_with_its_error_and_counts) {
  consume_report rep = two_round_report();
  round_result broken;
  broken.raw = {1000, 0.001, 0.001};
  broken.phoenix = {990, 0, 0};
  broken.error = "phoenix: records missing: handled 990";
  rep.rounds.push_back(broken);
  auto doc = nlohmann::json::parse(to_json(rep));
  ASSERT_EQ(doc["rounds"].size(), 3u);
  EXPECT_EQ(doc["rounds"][2]["error"], "phoenix: records missing: handled 990");
  EXPECT_EQ(doc["rounds"][2]["phoenix_records"], 990);
  EXPECT_FALSE(doc["rounds"][2].contains("phoenix_rps"));
  EXPECT_EQ(doc["failed_rounds"], 1);
}

TEST(consume_report, goal_is_met_at_or_above_the_ratio_and_never_without_rounds) {
  auto rep = two_round_report();
  rep.rounds = {completed(1000, 0.001, 0.001)};
  EXPECT_EQ(nlohmann::json::parse(to_json(rep))["goal_met"], true);
  EXPECT_NE(summary_line(rep).find("met"), std::string::npos);
  rep.rounds.clear();
  auto doc = nlohmann::json::parse(to_json(rep));
  EXPECT_EQ(doc["goal_met"], false);
  EXPECT_EQ(doc["ratio"], 0);
  EXPECT_NE(summary_line(rep).find("no completed round"), std::string::npos);
}

TEST(consume_report, summary_line_names_both_rates_and_the_ratio) {
  auto line = summary_line(two_round_report());
  EXPECT_NE(line.find("raw 750000 rec/s"), std::string::npos) << line;
  EXPECT_NE(line.find("phoenix 375000 rec/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ratio 0.500"), std::string::npos) << line;
  EXPECT_NE(line.find("not met"), std::string::npos) << line;
  EXPECT_NE(line.find("application CPU a record: raw 0.75 us, phoenix 3.00 us"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}
