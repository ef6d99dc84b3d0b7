#include "phoenix/actors/kafka/topic_admin.hpp"

#include "kafka/rdkafka.hpp"

#include <algorithm>
#include <set>
#include <thread>

namespace phoenix::kafka {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int ms_until(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::clamp<milliseconds::rep>(left, 1, 3'600'000));
}

// A client for admin requests. A consumer's properties (group.id, session timeouts)
// make a consumer handle, which joins no group until it subscribes; anything else a
// producer handle, so librdkafka warns about no property.
result<rd::handle_ptr> admin_client(const std::map<std::string, std::string>& props,
                                    const std::string& origin) {
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  return rd::make_handle(props.count("group.id") ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                         std::move(*conf), "topic admin client");
}

result<rd::metadata_ptr> all_topics(rd_kafka_t& rk, clock::time_point deadline) {
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(&rk, 1, nullptr, &md, ms_until(deadline)))
    return rd::kafka_error("reading the cluster's topics", err);
  return rd::metadata_ptr{md};
}

const rd_kafka_metadata_topic_t* find(const rd_kafka_metadata_t& md,
                                      const std::string& name) {
  for (int i = 0; i < md.topic_cnt; ++i)
    if (name == md.topics[i].topic && md.topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return &md.topics[i];
  return nullptr;
}

bool served(const rd_kafka_metadata_t& md, const std::string& name) {
  auto* t = find(md, name);
  if (!t || t->partition_cnt == 0)
    return false;
  for (int p = 0; p < t->partition_cnt; ++p)
    if (t->partitions[p].leader < 0 || t->partitions[p].err)
      return false;
  return true;
}

// True once `broker` alone (a fresh client bootstrapped from it: a client asks any
// broker it knows) serves every topic of `names`, or false at the deadline.
bool broker_serves(std::map<std::string, std::string> props, const std::string& origin,
                   const std::string& broker, const std::vector<std::string>& names,
                   clock::time_point deadline) {
  props["bootstrap.servers"] = broker;
  for (;;) {
    if (auto rk = admin_client(props, origin)) {
      auto md = all_topics(**rk, deadline);
      if (md && std::all_of(names.begin(), names.end(),
                            [&](const std::string& n) { return served(**md, n); }))
        return true;
    }
    if (clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(milliseconds{50});
  }
}

// Sends one CreateTopics request for `wanted`, filling in their outcomes.
void create(rd_kafka_t& rk, const std::vector<topic_request>& wanted,
            const rd_kafka_metadata_t& md, clock::time_point deadline,
            std::map<std::string, topic_outcome>& out) {
  char errstr[512] = {};
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (auto& t : wanted) {
    int partitions = t.partitions;
    if (partitions <= 0) {
      auto* like = t.like.empty() ? nullptr : find(md, t.like);
      partitions = like ? like->partition_cnt : -1;
    }
    if (auto* nt = rd_kafka_NewTopic_new(t.name.c_str(), partitions, t.replication_factor,
                                         errstr, sizeof errstr))
      topics.push_back(nt);
    else
      out[t.name].reason = std::string{"invalid request: "} + errstr;
  }
  if (topics.empty())
    return;
  rd::queue_ptr queue{rd_kafka_queue_new(&rk)};
  rd::admin_options_ptr opts{
      rd_kafka_AdminOptions_new(&rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)};
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), ms_until(deadline), errstr,
                                            sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), ms_until(deadline), errstr,
                                              sizeof errstr);
  rd_kafka_CreateTopics(&rk, topics.data(), topics.size(), opts.get(), queue.get());
  rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  // librdkafka times the request out itself; the margin only guards against a hang.
  rd::event_ptr ev{rd_kafka_queue_poll(queue.get(), ms_until(deadline) + 5000)};
  std::string failed;
  if (!ev)
    failed = "no answer to CreateTopics";
  else if (rd_kafka_event_error(ev.get()))
    failed = rd_kafka_event_error_string(ev.get());
  if (!failed.empty()) {
    for (auto& t : wanted)
      if (out[t.name].reason.empty())
        out[t.name].reason = failed;
    return;
  }
  std::size_t n = 0;
  const auto** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& o = out[rd_kafka_topic_result_name(results[i])];
    auto err = rd_kafka_topic_result_error(results[i]);
    o.created = err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (o.created || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      continue;
    o.not_authorized = err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                       err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    const char* text = rd_kafka_topic_result_error_string(results[i]);
    o.reason = std::string{rd_kafka_err2str(err)} +
               (text && *text ? std::string{": "} + text : "");
  }
}

} // namespace

result<std::vector<topic_outcome>>
ensure_topics(const std::map<std::string, std::string>& properties,
              const std::string& origin, const std::vector<topic_request>& topics,
              milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  auto rk = admin_client(properties, origin);
  if (!rk)
    return rk.error();
  auto md = all_topics(**rk, deadline);
  if (!md)
    return md.error();
  std::map<std::string, topic_outcome> out;
  std::vector<topic_request> missing;
  for (auto& t : topics) {
    out[t.name].name = t.name;
    if (find(**md, t.name))
      out[t.name].ok = true;
    else
      missing.push_back(t);
  }
  if (!missing.empty())
    create(**rk, missing, **md, deadline, out);
  std::vector<std::string> awaited;
  for (auto& t : missing)
    if (out[t.name].reason.empty())
      awaited.push_back(t.name);
  bool everywhere = true;
  for (int b = 0; b < (*md)->broker_cnt && !awaited.empty(); ++b) {
    auto& broker = (*md)->brokers[b];
    everywhere = everywhere &&
                 broker_serves(properties, origin,
                               std::string{broker.host} + ":" + std::to_string(broker.port),
                               awaited, deadline);
  }
  for (auto& name : awaited) {
    out[name].ok = everywhere;
    if (!everywhere)
      out[name].reason = "created, but not served by every broker within " +
                         std::to_string(timeout.count()) + " ms";
  }
  std::vector<topic_outcome> result;
  for (auto& t : topics)
    result.push_back(out[t.name]);
  return result;
}

} // namespace phoenix::kafka
