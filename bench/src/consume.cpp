#include "phoenix/bench/consume.hpp"

#include "dataset.hpp"
#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/runtime/allocator.hpp"
#include "sides.hpp"

#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::bench {
namespace {

constexpr const char* topic = "phoenix.bench.consume";

phoenix::error invalid(std::string msg) {
  return {runtime::errc::invalid_argument, "bench consume: " + std::move(msg)};
}

void log_side(int round, const char* side, const side_outcome& o) {
  if (!o.error.empty())
    spdlog::error("bench: round {}: {}", round, o.error);
  else
    spdlog::info("bench: round {}: {:<7} {} records in {:.3f} s: {:.0f} rec/s, {:.2f} "
                 "CPU-seconds ({:.2f} us CPU a record)",
                 round, side, o.result.records, o.result.seconds, o.result.rps(),
                 o.result.cpu_seconds,
                 o.result.records ? o.result.cpu_seconds * 1e6 / o.result.records : 0.0);
}

} // namespace

std::map<std::string, std::string> group_properties(const std::string& bootstrap,
                                                    const std::string& group_id) {
  return {
      {"bootstrap.servers", bootstrap},
      {"group.id", group_id},
      {"auto.offset.reset", "earliest"},
      {"enable.auto.commit", "false"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // The mock cluster's coordinator waits for rejoins up to these bounds.
      {"session.timeout.ms", "6000"},
      {"max.poll.interval.ms", "10000"},
  };
}

result<consume_report> run_consume(const consume_options& opts) {
  if (opts.records < 1)
    return invalid("--records must be at least 1");
  if (opts.value_bytes < 1 || opts.value_bytes > (512u << 10))
    return invalid("--value-bytes must be within 1..524288");
  if (opts.rounds < 1)
    return invalid("--rounds must be at least 1");
  if (opts.brokers < 1)
    return invalid("--brokers must be at least 1");
  if (opts.partitions < 0)
    return invalid("--partitions must be positive (or 0 for the computed default)");

  consume_report report;
  report.records = opts.records;
  report.partitions = opts.partitions > 0 ? opts.partitions
                                          : partitions_for(opts.records, opts.value_bytes);
  report.value_bytes = opts.value_bytes;
  report.brokers = opts.brokers;
  report.cores = std::thread::hardware_concurrency();
  report.allocator = runtime::allocator_name();
  report.librdkafka_version = rd_kafka_version_str();

  auto cluster = kafka::mock_cluster::start(opts.brokers);
  if (!cluster)
    return cluster.error();
  if (auto ok = cluster->create_topic(topic, report.partitions); !ok)
    return ok.error();
  auto bootstrap = cluster->bootstrap_servers();
  spdlog::info("bench: mock cluster of {} broker(s) at {}; topic {} with {} partitions; "
               "producing {} records of {} value bytes (about {} bytes each on the log)",
               opts.brokers, bootstrap, topic, report.partitions, opts.records,
               opts.value_bytes, record_bytes(opts.value_bytes));
  auto ds =
      produce_dataset(bootstrap, topic, report.partitions, opts.records, opts.value_bytes);
  if (!ds)
    return ds.error();

  // Raw and Phoenix alternate within every round, so load from other processes on the
  // same cores falls on both sides alike.
  for (int i = 1; i <= opts.rounds; ++i) {
    round_result round;
    auto raw = run_raw_side(group_properties(bootstrap, "bench-raw-" + std::to_string(i)),
                            *ds, opts);
    log_side(i, "raw", raw);
    round.raw = raw.result;
    if (raw.error.empty()) {
      auto phx = run_phoenix_side(
          group_properties(bootstrap, "bench-phoenix-" + std::to_string(i)), *ds, opts);
      log_side(i, "phoenix", phx);
      round.phoenix = phx.result;
      round.error = phx.error;
    } else {
      round.error = raw.error;
    }
    if (round.ok())
      spdlog::info("bench: round {}: ratio {:.3f}", i,
                   ratio(round.phoenix.rps(), round.raw.rps()));
    report.rounds.push_back(std::move(round));
    if (!report.rounds.back().ok() && !opts.keep_going)
      break;
  }
  return report;
}

} // namespace phoenix::bench
