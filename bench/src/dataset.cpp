#include "dataset.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/bench/consume.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <spdlog/spdlog.h>

namespace phoenix::bench {
namespace {

constexpr const char* source = "/phoenix/bench";
constexpr const char* type = "phoenix.bench.record";

// SplitMix64: distinct, well-mixed trace ids that are the same in every run.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Bytes of a Kafka varint holding the zig-zag encoding of `n` (n >= 0).
std::size_t varint_bytes(std::size_t n) {
  std::size_t zigzag = n << 1;
  std::size_t bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>= 7;
    ++bytes;
  }
  return bytes;
}

phoenix::error kafka_error(std::string msg) {
  return {runtime::errc::kafka_error, "bench: " + std::move(msg)};
}

} // namespace

runtime::envelope bench_event(std::uint64_t i, std::size_t value_bytes) {
  runtime::envelope env;
  env.id = "r" + std::to_string(i);
  env.source = source;
  env.type = type;
  env.content_type = "application/octet-stream";
  char trace[64];
  std::snprintf(trace, sizeof trace, "00-%016llx%016llx-%016llx-01",
                static_cast<unsigned long long>(mix(3 * i) | 1),
                static_cast<unsigned long long>(mix(3 * i + 1)),
                static_cast<unsigned long long>(mix(3 * i + 2) | 1));
  env.trace = runtime::trace_context::parse(trace).value();
  env.payload.assign(value_bytes, 'x');
  return env;
}

std::size_t record_bytes(std::size_t value_bytes) {
  // The longest key and id a run can have (20 digits), so the estimate never falls short.
  auto env = bench_event(0, value_bytes);
  env.id = "r" + std::string(20, '9');
  std::size_t size = 0;
  for (auto& h : runtime::encode_headers(env))
    size += varint_bytes(h.key.size()) + h.key.size() + varint_bytes(h.value.size()) +
            h.value.size();
  size += varint_bytes(env.id.size()) + env.id.size(); // key
  size += varint_bytes(value_bytes) + value_bytes;     // value
  size += 1 /* header count */ + 1 /* attributes */ + 4 /* timestamp delta */ +
          4 /* offset delta */ + 3 /* record length */;
  return size + 1; // the batch header (61 bytes) spread over thousands of records
}

int partitions_for(std::uint64_t records, std::size_t value_bytes) {
  auto total = records * record_bytes(value_bytes);
  auto needed = (total + partition_budget_bytes - 1) / partition_budget_bytes;
  return static_cast<int>(std::max<std::uint64_t>(3, needed));
}

result<dataset> produce_dataset(const std::string& bootstrap, const std::string& topic,
                                int partitions, std::uint64_t records,
                                std::size_t value_bytes) {
  // The mock broker answers a fetch with one record batch per partition, where a real
  // broker fills max.partition.fetch.bytes (1 MB) with as many as fit. Batches of about
  // 1 MB (batch.size) make the mock's fetches as large as a real broker's; with
  // librdkafka's default linger of 5 ms, spread over many partitions, they would hold a
  // few dozen records and every consumer would measure fetch round trips instead.
  auto producer = kafka::producer::create({{"bootstrap.servers", bootstrap},
                                           {"linger.ms", "1000"},
                                           {"batch.size", "1000000"},
                                           {"queue.buffering.max.messages", "2000000"}},
                                          "bench");
  if (!producer)
    return producer.error();
  auto started = std::chrono::steady_clock::now();
  auto last_log = started;
  for (std::uint64_t i = 0; i < records; ++i) {
    auto env = bench_event(i, value_bytes);
    if (auto ok =
            producer->produce(topic, env.id, env.payload, runtime::encode_headers(env));
        !ok)
      return ok.error();
    if ((i & 0xfff) == 0 &&
        std::chrono::steady_clock::now() - last_log > std::chrono::seconds{2}) {
      last_log = std::chrono::steady_clock::now();
      spdlog::info("bench: produced {}/{}", i, records);
    }
  }
  if (auto ok = producer->flush(std::chrono::seconds{120}); !ok)
    return ok.error();
  if (producer->delivered() != records || producer->failed() != 0)
    return kafka_error("produced " + std::to_string(records) + " records, " +
                       std::to_string(producer->delivered()) + " delivered, " +
                       std::to_string(producer->failed()) + " failed");
  spdlog::info(
      "bench: produced {} records in {:.1f} s", records,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

  // The mock cluster drops a partition's oldest batches beyond 5 MiB without a word:
  // every partition must still start at offset 0, and together hold every record.
  auto conf = kafka::rd::make_conf({{"bootstrap.servers", bootstrap}}, "bench");
  if (!conf)
    return conf.error();
  auto rk = kafka::rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "bench: checker");
  if (!rk)
    return rk.error();
  dataset ds{topic, records, {}};
  std::uint64_t stored = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = -1;
    std::int64_t high = -1;
    if (auto err = rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &low,
                                                    &high, 10000))
      return kafka::rd::kafka_error(
          "bench: watermarks of " + topic + "[" + std::to_string(p) + "]", err);
    if (low != 0)
      return kafka_error(
          topic + "[" + std::to_string(p) + "] lost its oldest " + std::to_string(low) +
          " records: the mock cluster keeps about 5 MiB per partition; use "
          "--partitions " +
          std::to_string(std::max(partitions_for(records, value_bytes), 2 * partitions)) +
          " or more");
    ds.per_partition.push_back(high);
    stored += static_cast<std::uint64_t>(high);
  }
  if (stored != records)
    return kafka_error("the brokers hold " + std::to_string(stored) + " records of " +
                       std::to_string(records) + " produced");
  return ds;
}

} // namespace phoenix::bench
