#include "phoenix/actors/kafka/properties.hpp"

#include "kafka/rdkafka.hpp"

#include <string_view>
#include <utility>

namespace phoenix::kafka {
namespace rd {

result<void> set_property(rd_kafka_conf_t& conf, const std::string& key,
                          const std::string& value, const std::string& origin) {
  char errstr[512] = {};
  const rd_kafka_conf_res_t res =
      rd_kafka_conf_set(&conf, key.c_str(), value.c_str(), errstr, sizeof errstr);
  if (res == RD_KAFKA_CONF_OK)
    return {};
  const auto code = res == RD_KAFKA_CONF_UNKNOWN ? runtime::errc::config_unknown_key
                                                 : runtime::errc::config_bad_value;
  return phoenix::error{code, origin + ": [kafka] " + key + ": " + errstr};
}

namespace {

// librdkafka 2.0.2's CONFIGURATION.md, properties of scope C (consumer only), global and
// topic ones, deprecated aliases included.
constexpr std::string_view consumer_only[] = {"group.id",
                                              "group.instance.id",
                                              "partition.assignment.strategy",
                                              "session.timeout.ms",
                                              "heartbeat.interval.ms",
                                              "group.protocol.type",
                                              "coordinator.query.interval.ms",
                                              "max.poll.interval.ms",
                                              "enable.auto.commit",
                                              "auto.commit.enable",
                                              "auto.commit.interval.ms",
                                              "enable.auto.offset.store",
                                              "queued.min.messages",
                                              "queued.max.messages.kbytes",
                                              "fetch.wait.max.ms",
                                              "fetch.message.max.bytes",
                                              "max.partition.fetch.bytes",
                                              "fetch.max.bytes",
                                              "fetch.min.bytes",
                                              "fetch.error.backoff.ms",
                                              "offset.store.method",
                                              "isolation.level",
                                              "enable.partition.eof",
                                              "check.crcs",
                                              "auto.offset.reset",
                                              "offset.store.path",
                                              "offset.store.sync.interval.ms",
                                              "consume.callback.max.messages"};

// The same, scope P (producer only).
constexpr std::string_view producer_only[] = {"transactional.id",
                                              "transaction.timeout.ms",
                                              "enable.idempotence",
                                              "enable.gapless.guarantee",
                                              "queue.buffering.max.messages",
                                              "queue.buffering.max.kbytes",
                                              "queue.buffering.max.ms",
                                              "linger.ms",
                                              "message.send.max.retries",
                                              "retries",
                                              "retry.backoff.ms",
                                              "queue.buffering.backpressure.threshold",
                                              "compression.codec",
                                              "compression.type",
                                              "batch.num.messages",
                                              "batch.size",
                                              "delivery.report.only.error",
                                              "sticky.partitioning.linger.ms",
                                              "request.required.acks",
                                              "acks",
                                              "request.timeout.ms",
                                              "message.timeout.ms",
                                              "delivery.timeout.ms",
                                              "queuing.strategy",
                                              "produce.offset.report",
                                              "partitioner",
                                              "compression.level"};

} // namespace

std::map<std::string, std::string>
properties_for(rd_kafka_type_t type, std::map<std::string, std::string> props) {
  const auto drop = [&props](const auto& keys) {
    for (auto key : keys)
      props.erase(std::string{key});
  };
  if (type == RD_KAFKA_PRODUCER)
    drop(consumer_only);
  else
    drop(producer_only);
  return props;
}

result<conf_ptr> make_conf(const std::map<std::string, std::string>& props,
                           const std::string& origin) {
  conf_ptr conf{rd_kafka_conf_new()};
  for (const auto& [key, value] : props)
    if (auto res = set_property(*conf, key, value, origin); !res)
      return res.error();
  return std::move(conf);
}

} // namespace rd

result<void> validate_properties(const std::map<std::string, std::string>& props,
                                 const std::string& origin) {
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  return {};
}

const char* librdkafka_version() noexcept {
  return rd_kafka_version_str();
}

} // namespace phoenix::kafka
