#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/actors/policies/dlq.hpp"
#include "phoenix/persistence/trace_log.hpp"

#include <algorithm>
#include <array>

namespace phoenix::policies {
namespace {

using clock = std::chrono::steady_clock;

int ms_left(clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

// Partitions of `topic` with their [low, high) offsets.
result<std::vector<std::array<std::int64_t, 3>>>
partitions_of(rd_kafka_t& rk, const std::string& topic, clock::time_point deadline) {
  // All topics, not just this one: a request naming a topic may create it (brokers with
  // auto.create.topics.enable, and the mock cluster), and a DLQ tool must not.
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(&rk, 1, nullptr, &md, ms_left(deadline)); err)
    return kafka::rd::kafka_error("metadata of " + topic, err);
  kafka::rd::metadata_ptr owned{md};
  const rd_kafka_metadata_topic_t* t = nullptr;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (topic == md->topics[i].topic)
      t = &md->topics[i];
  if (t == nullptr || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
      t->partition_cnt == 0)
    return error{runtime::errc::invalid_argument, "unknown topic " + topic};
  if (t->err)
    return kafka::rd::kafka_error("metadata of " + topic, t->err);
  std::vector<std::array<std::int64_t, 3>> out;
  for (int i = 0; i < t->partition_cnt; ++i) {
    auto p = t->partitions[i].id;
    std::int64_t low = 0, high = 0;
    if (auto err = rd_kafka_query_watermark_offsets(&rk, topic.c_str(), p, &low, &high,
                                                    ms_left(deadline));
        err)
      return kafka::rd::kafka_error("offsets of " + topic, err);
    out.push_back({p, low, high});
  }
  return out;
}

dlq_record to_record(rd_kafka_message_t& m) {
  dlq_record r;
  r.partition = m.partition;
  r.offset = m.offset;
  r.key.assign(static_cast<const char*>(m.key), m.key ? m.key_len : 0);
  r.value.assign(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
  r.null_key = m.key == nullptr;
  r.null_value = m.payload == nullptr;
  std::vector<runtime::header_view> views;
  kafka::rd::for_each_header(m, [&](std::string_view k, std::string_view v) {
    r.headers.push_back({std::string{k}, std::string{v}});
  });
  for (auto& h : r.headers)
    views.push_back({h.key, h.value});
  r.marks = read_marks(views);
  return r;
}

} // namespace

result<std::vector<dlq_record>>
read_dlq(const std::map<std::string, std::string>& properties, const std::string& origin,
         const std::string& topic, std::size_t limit, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto dlq = dlq_topic(topic);
  auto props = properties;
  props["group.id"] = "phoenix-dlq-tool"; // never joined: partitions are assigned
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  auto conf = kafka::rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  auto rk = kafka::rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "dlq reader");
  if (!rk)
    return rk.error();
  auto parts = partitions_of(**rk, dlq, deadline);
  if (!parts)
    return parts.error();
  kafka::rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(1)};
  std::map<std::int32_t, std::int64_t> last; // partition -> last offset to read
  for (auto& [p, low, high] : *parts) {
    if (high <= low)
      continue;
    rd_kafka_topic_partition_list_add(list.get(), dlq.c_str(), static_cast<std::int32_t>(p))
        ->offset = low;
    last[static_cast<std::int32_t>(p)] = high - 1;
  }
  std::vector<dlq_record> out;
  if (last.empty())
    return out;
  if (auto err = rd_kafka_assign(rk->get(), list.get()); err)
    return kafka::rd::kafka_error("assign " + dlq, err);
  while (!last.empty() && (limit == 0 || out.size() < limit)) {
    if (ms_left(deadline) == 0)
      return error{runtime::errc::kafka_error, "reading " + dlq + ": no answer within " +
                                                   std::to_string(timeout.count()) + " ms"};
    kafka::rd::message_ptr m{rd_kafka_consumer_poll(rk->get(), 100)};
    if (!m)
      continue;
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        continue;
      return kafka::rd::kafka_error("reading " + dlq, m->err);
    }
    auto it = last.find(m->partition);
    if (it == last.end() || m->offset > it->second)
      continue;
    out.push_back(to_record(*m));
    if (m->offset >= it->second)
      last.erase(it);
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

result<dlq_filter> dlq_filter::parse(const std::vector<std::string>& terms) {
  static constexpr std::array<std::string_view, 6> fields = {"key",    "error", "partition",
                                                             "offset", "node",  "id"};
  dlq_filter f;
  for (auto& t : terms) {
    auto eq = t.find('=');
    auto name = t.substr(0, eq);
    bool known = eq != std::string::npos &&
                 std::find(fields.begin(), fields.end(), name) != fields.end();
    if (!known)
      return error{runtime::errc::invalid_argument,
                   "bad filter \"" + t +
                       "\": expected field=value with field one of key, error, partition, "
                       "offset, node, id"};
    auto value = t.substr(eq + 1);
    if (name == "partition" || name == "offset") {
      bool digits = !value.empty() && value.size() < 19;
      for (char c : value)
        digits = digits && c >= '0' && c <= '9';
      if (!digits)
        return error{runtime::errc::invalid_argument,
                     "bad filter \"" + t + "\": " + name + " takes a number"};
    }
    f.terms_.emplace_back(std::move(name), std::move(value));
  }
  return f;
}

bool dlq_filter::matches(const dlq_record& r) const {
  for (auto& [name, value] : terms_) {
    std::string actual;
    if (name == "key")
      actual = r.key;
    else if (name == "error")
      actual = r.marks.error_class;
    else if (name == "partition")
      actual = std::to_string(r.marks.original_partition);
    else if (name == "offset")
      actual = std::to_string(r.marks.original_offset);
    else if (name == "node")
      actual = r.marks.node_id;
    else if (name == "id")
      for (auto& h : r.headers)
        if (h.key == "ce_id")
          actual = h.value;
    if (actual != value)
      return false;
  }
  return true;
}

result<replay_counts> replay_dlq(const std::map<std::string, std::string>& properties,
                                 const std::string& origin, const std::string& topic,
                                 const dlq_filter& filter,
                                 std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto records = read_dlq(properties, origin, topic, 0, timeout);
  if (!records)
    return records.error();
  replay_counts counts;
  counts.read = records->size();
  auto producer = kafka::producer::create(properties, origin);
  if (!producer)
    return producer.error();
  for (auto& r : *records) {
    if (!filter.matches(r))
      continue;
    ++counts.matched;
    std::vector<runtime::header> original;
    for (auto& h : r.headers)
      if (!is_failure_header(h.key))
        original.push_back(h);
    auto to = r.marks.original_topic.empty() ? topic : r.marks.original_topic;
    auto sent_at = std::chrono::system_clock::now();
    if (auto ok = producer->produce(to, r.null_key ? std::string_view{} : r.key,
                                    r.null_value ? std::string_view{} : r.value, original);
        !ok)
      return ok.error();
    std::string_view ce_id;
    for (const auto& h : original)
      if (h.key == "ce_id")
        ce_id = h.value;
    counts.records.push_back(
        {persistence::trace_message_id(ce_id, to, r.marks.original_partition,
                                       r.marks.original_offset),
         r.partition, r.offset, to, sent_at});
  }
  auto flushed = producer->flush(std::chrono::milliseconds{ms_left(deadline)});
  counts.replayed = producer->delivered();
  if (!flushed || producer->failed() > 0)
    return error{runtime::errc::kafka_error,
                 "replay of " + dlq_topic(topic) + ": " + std::to_string(counts.replayed) +
                     " of " + std::to_string(counts.matched) + " records acknowledged" +
                     (flushed ? std::string{} : "; " + flushed.error().message())};
  return counts;
}

} // namespace phoenix::policies
