#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace phoenix::bench {

/// The middle value of `values` (the mean of the two middle ones for an even count), or
/// 0 for none. Benchmarks report medians: one round slowed by another build on the same
/// cores moves a mean, not a median.
double median(std::vector<double> values);

/// `phoenix / raw`, or 0 when `raw` is not positive.
double ratio(double phoenix, double raw);

/// The `q`-quantile (0 to 1) of `values`, interpolated between the two nearest ranks
/// (the sample quantile most tools default to); 0 for no values.
double quantile(std::vector<double> values, double q);

/// Records per second, or 0 when no time passed.
double rate(std::uint64_t records, double seconds);

/// `v` rounded to `digits` decimal places, for reports: rates to whole records per
/// second, seconds to microseconds, ratios to 4 digits; the noise between rounds is far
/// larger than what more digits would say.
double round_to(double v, double digits);

/// One side (raw librdkafka or Phoenix) of one round.
struct side_result {
  std::uint64_t records = 0; ///< Records the side counted (must equal the round's N).
  double seconds = 0;        ///< First record received to the N-th record finished.
  /// CPU time of the whole process (every thread, the in-process mock broker included)
  /// over the same interval: how much of the 2 cores the side kept busy.
  double cpu_seconds = 0;
  /// The part of cpu_seconds used by librdkafka's threads (its client threads and the
  /// mock brokers'); the rest is the application's: the raw loop, or Phoenix's consumer
  /// thread and lanes.
  double librdkafka_cpu_seconds = 0;
  double rps() const { return rate(records, seconds); }
  /// The application's CPU time a record, in microseconds (0 without records).
  double app_cpu_us_per_record() const {
    return records > 0
               ? (cpu_seconds - librdkafka_cpu_seconds) * 1e6 / static_cast<double>(records)
               : 0;
  }
};

/// One round: both sides against the same records. `error` says why a side failed
/// (records missing, timeout); a failed round does not count towards the medians.
struct round_result {
  side_result raw;
  side_result phoenix;
  std::string error;
  bool ok() const { return error.empty(); }
};

/// What `phoenix bench consume` measured, and how, so the run can be repeated.
struct consume_report {
  std::uint64_t records = 0;
  int partitions = 0;
  std::size_t value_bytes = 0;
  int brokers = 0;
  std::vector<round_result> rounds;
  double goal = 0.9; ///< Phoenix rate / raw rate the design asks for; information only.
  unsigned cores = 0;
  std::string allocator; ///< runtime::allocator_name(): it moves the rates.
  std::string librdkafka_version;
  std::string command; ///< The command line that repeats this run.

  double raw_rps_median() const;     ///< Over the rounds that completed.
  double phoenix_rps_median() const; ///< Over the rounds that completed.
  double ratio() const;              ///< phoenix_rps_median() / raw_rps_median().
  /// The completed rounds' own ratios (each Phoenix rate over the raw rate of its round):
  /// lower quartile, median and upper quartile, how far single rounds scatter.
  std::array<double, 3> round_ratio_quartiles() const;
  /// Medians over the completed rounds of side_result::app_cpu_us_per_record().
  double raw_app_cpu_us_median() const;
  double phoenix_app_cpu_us_median() const;
  bool failed() const; ///< Some round did not complete.
};

/// The report as a JSON document:
/// `{"scenario":"consume","records":N,"partitions":P,"value_bytes":B,"brokers":K,
///   "rounds":[{"raw_rps":..,"phoenix_rps":..,"ratio":..,"raw_seconds":..,
///   "phoenix_seconds":..,"raw_cpu_seconds":..,"phoenix_cpu_seconds":..,
///   "raw_librdkafka_cpu_seconds":..,"phoenix_librdkafka_cpu_seconds":..,
///   "raw_app_cpu_us_per_record":..,"phoenix_app_cpu_us_per_record":..,
///   "raw_records":..,"phoenix_records":..}],
///   "raw_rps_median":..,"phoenix_rps_median":..,"ratio":..,"goal":0.9,"goal_met":..,
///   "raw_app_cpu_us_per_record_median":..,"phoenix_app_cpu_us_per_record_median":..,
///   "round_ratio_quartiles":[q1,median,q3],
///   "completed_rounds":..,"failed_rounds":..,"timing":"...",
///   "machine":{"cores":..,"librdkafka":".."},"command":".."}`.
/// A failed round carries `"error"` instead of its rates.
std::string to_json(const consume_report& report);

/// One line for people: both medians, the ratio, whether the goal was met, the middle
/// half of the rounds' own ratios, and the application's CPU a record on each side.
std::string summary_line(const consume_report& report);

} // namespace phoenix::bench
