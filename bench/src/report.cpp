#include "phoenix/bench/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace phoenix::bench {

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  auto mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  if (values.size() % 2 == 1)
    return values[mid];
  auto upper = values[mid];
  auto lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(at));
  const auto above = std::min(below + 1, values.size() - 1);
  return values[below] +
         (values[above] - values[below]) * (at - static_cast<double>(below));
}

double ratio(double phoenix, double raw) {
  return raw > 0 ? phoenix / raw : 0;
}

double rate(std::uint64_t records, double seconds) {
  return seconds > 0 ? static_cast<double>(records) / seconds : 0;
}

double round_to(double v, double digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

namespace {

template <class Get>
double median_of(const std::vector<round_result>& rounds, Get get) {
  std::vector<double> values;
  for (auto& r : rounds)
    if (r.ok())
      values.push_back(get(r));
  return median(values);
}

} // namespace

double consume_report::raw_rps_median() const {
  return median_of(rounds, [](const round_result& r) { return r.raw.rps(); });
}

double consume_report::phoenix_rps_median() const {
  return median_of(rounds, [](const round_result& r) { return r.phoenix.rps(); });
}

double consume_report::ratio() const {
  return bench::ratio(phoenix_rps_median(), raw_rps_median());
}

std::array<double, 3> consume_report::round_ratio_quartiles() const {
  std::vector<double> ratios;
  for (auto& r : rounds)
    if (r.ok())
      ratios.push_back(bench::ratio(r.phoenix.rps(), r.raw.rps()));
  return {quantile(ratios, 0.25), quantile(ratios, 0.5), quantile(ratios, 0.75)};
}

double consume_report::raw_app_cpu_us_median() const {
  return median_of(rounds,
                   [](const round_result& r) { return r.raw.app_cpu_us_per_record(); });
}

double consume_report::phoenix_app_cpu_us_median() const {
  return median_of(rounds,
                   [](const round_result& r) { return r.phoenix.app_cpu_us_per_record(); });
}

bool consume_report::failed() const {
  return std::any_of(rounds.begin(), rounds.end(),
                     [](const round_result& r) { return !r.ok(); });
}

std::string to_json(const consume_report& report) {
  auto rounds = nlohmann::json::array();
  std::size_t completed = 0;
  for (auto& r : report.rounds) {
    if (!r.ok()) {
      rounds.push_back({{"error", r.error},
                        {"raw_records", r.raw.records},
                        {"phoenix_records", r.phoenix.records}});
      continue;
    }
    ++completed;
    rounds.push_back({
        {"raw_rps", round_to(r.raw.rps(), 0)},
        {"phoenix_rps", round_to(r.phoenix.rps(), 0)},
        {"ratio", round_to(bench::ratio(r.phoenix.rps(), r.raw.rps()), 4)},
        {"raw_seconds", round_to(r.raw.seconds, 6)},
        {"phoenix_seconds", round_to(r.phoenix.seconds, 6)},
        {"raw_cpu_seconds", round_to(r.raw.cpu_seconds, 3)},
        {"phoenix_cpu_seconds", round_to(r.phoenix.cpu_seconds, 3)},
        {"raw_librdkafka_cpu_seconds", round_to(r.raw.librdkafka_cpu_seconds, 3)},
        {"phoenix_librdkafka_cpu_seconds", round_to(r.phoenix.librdkafka_cpu_seconds, 3)},
        {"raw_app_cpu_us_per_record", round_to(r.raw.app_cpu_us_per_record(), 3)},
        {"phoenix_app_cpu_us_per_record", round_to(r.phoenix.app_cpu_us_per_record(), 3)},
        {"raw_records", r.raw.records},
        {"phoenix_records", r.phoenix.records},
    });
  }
  auto ratio = report.ratio();
  auto quartiles = report.round_ratio_quartiles();
  nlohmann::json doc{
      {"scenario", "consume"},
      {"records", report.records},
      {"partitions", report.partitions},
      {"value_bytes", report.value_bytes},
      {"brokers", report.brokers},
      {"rounds", std::move(rounds)},
      {"completed_rounds", completed},
      {"failed_rounds", report.rounds.size() - completed},
      {"raw_rps_median", round_to(report.raw_rps_median(), 0)},
      {"phoenix_rps_median", round_to(report.phoenix_rps_median(), 0)},
      {"ratio", round_to(ratio, 4)},
      {"goal", report.goal},
      {"goal_met", completed > 0 && ratio >= report.goal},
      {"round_ratio_quartiles",
       {round_to(quartiles[0], 4), round_to(quartiles[1], 4), round_to(quartiles[2], 4)}},
      {"raw_app_cpu_us_per_record_median", round_to(report.raw_app_cpu_us_median(), 3)},
      {"phoenix_app_cpu_us_per_record_median",
       round_to(report.phoenix_app_cpu_us_median(), 3)},
      {"timing", "per side: from the first record received by application code to the "
                 "N-th record finished; group join and shutdown excluded"},
      {"machine",
       {{"cores", report.cores},
        {"librdkafka", report.librdkafka_version},
        {"allocator", report.allocator}}},
      {"command", report.command},
  };
  return doc.dump(2);
}

std::string summary_line(const consume_report& report) {
  std::size_t completed = 0;
  for (auto& r : report.rounds)
    completed += r.ok() ? 1 : 0;
  char buf[448];
  auto ratio = report.ratio();
  auto quartiles = report.round_ratio_quartiles();
  std::snprintf(buf, sizeof buf,
                "consume: %llu records x %zu/%zu rounds: raw %.0f rec/s, phoenix %.0f "
                "rec/s (medians), ratio %.3f (goal %.2f: %s; middle half of the rounds' "
                "ratios %.2f-%.2f); application CPU a record: raw %.2f us, phoenix %.2f us",
                static_cast<unsigned long long>(report.records), completed,
                report.rounds.size(), report.raw_rps_median(), report.phoenix_rps_median(),
                ratio, report.goal,
                completed == 0         ? "no completed round"
                : ratio >= report.goal ? "met"
                                       : "not met",
                quartiles[0], quartiles[2], report.raw_app_cpu_us_median(),
                report.phoenix_app_cpu_us_median());
  return buf;
}

} // namespace phoenix::bench
