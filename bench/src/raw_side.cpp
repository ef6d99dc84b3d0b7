#include "kafka/rdkafka.hpp"
#include "sides.hpp"

#include <chrono>
#include <spdlog/spdlog.h>

namespace phoenix::bench {
namespace {

using clock = std::chrono::steady_clock;

std::string describe_counts(const std::vector<std::uint64_t>& counted, const dataset& ds) {
  for (std::size_t p = 0; p < ds.per_partition.size(); ++p)
    if (counted[p] != static_cast<std::uint64_t>(ds.per_partition[p]))
      return ds.topic + "[" + std::to_string(p) + "]: counted " +
             std::to_string(counted[p]) + " of " + std::to_string(ds.per_partition[p]);
  return {};
}

} // namespace

side_outcome run_raw_side(const std::map<std::string, std::string>& props,
                          const dataset& ds, const consume_options& opts) {
  namespace rd = kafka::rd;
  side_outcome out;
  auto fail = [&](std::string why) {
    out.error = "raw: " + std::move(why);
    return out;
  };
  auto conf = rd::make_conf(props, "bench raw consumer");
  if (!conf)
    return fail(conf.error().message());
  auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "creating consumer");
  if (!rk)
    return fail(rk.error().message());
  rd_kafka_poll_set_consumer(rk->get());
  rd::topic_partition_list_ptr topics{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(topics.get(), ds.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk->get(), topics.get()))
    return fail(rd::kafka_error("subscribing to " + ds.topic, err).message());

  const std::uint64_t n = ds.records;
  std::vector<std::uint64_t> counted(ds.per_partition.size(), 0);
  std::uint64_t count = 0;
  std::uint64_t unexpected = 0;
  clock::time_point first;
  cpu_sample first_cpu;
  // Progress is checked only when a poll comes back empty, so the loop over records
  // holds no clock reads besides the first and the last.
  std::uint64_t count_at_check = 0;
  auto checked_at = clock::now();
  while (count < n) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk->get(), 100);
    if (msg == nullptr) {
      auto now = clock::now();
      if (count != count_at_check) {
        count_at_check = count;
        checked_at = now;
      } else if (now - checked_at > (count == 0 ? opts.join_timeout : opts.stall_timeout)) {
        break;
      }
      continue;
    }
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("bench: raw consumer: {}", rd_kafka_message_errstr(msg));
      rd_kafka_message_destroy(msg);
      continue;
    }
    if (count == 0) {
      first = clock::now();
      first_cpu = sample_cpu();
    }
    ++count;
    auto p = static_cast<std::size_t>(msg->partition);
    if (p < counted.size())
      ++counted[p];
    else
      ++unexpected;
    rd_kafka_message_destroy(msg);
  }
  auto last = clock::now();
  auto last_cpu = sample_cpu();
  out.result.records = count;
  if (count > 0) {
    out.result.seconds = std::chrono::duration<double>(last - first).count();
    set_cpu(out.result, first_cpu, last_cpu);
  }

  if (count == n)
    if (auto err = rd_kafka_commit(rk->get(), nullptr, 1))
      spdlog::warn("bench: raw consumer: commit: {}", rd_kafka_err2str(err));
  if (auto err = rd_kafka_consumer_close(rk->get()))
    spdlog::warn("bench: raw consumer: close: {}", rd_kafka_err2str(err));

  if (count < n)
    return fail("records missing: counted " + std::to_string(count) + " of " +
                std::to_string(n) + " with no progress for " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   count == 0 ? opts.join_timeout : opts.stall_timeout)
                                   .count()) +
                " ms");
  if (unexpected > 0)
    return fail(std::to_string(unexpected) + " records of unknown partitions");
  if (auto mismatch = describe_counts(counted, ds); !mismatch.empty())
    return fail("records read twice and others missed: " + mismatch);
  return out;
}

} // namespace phoenix::bench
