#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>
#include <unistd.h>

// The actors module's private librdkafka wrapper (see mock_cluster_fixture.cpp).
#include "kafka/rdkafka.hpp"

namespace phoenix::testkit {
namespace {

namespace rd = kafka::rd;
using namespace std::chrono_literals;

// Creates the topic through the Admin API as `admin`. Errors as librdkafka says them.
result<void> create_real_topic(const client_properties_map& admin, const std::string& name,
                               int partitions, int replication) {
  auto conf = rd::make_conf(admin, "testkit admin");
  if (!conf)
    return conf.error();
  auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "testkit admin");
  if (!rk)
    return rk.error();
  char errstr[256] = {};
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, replication, errstr, sizeof errstr);
  if (!topic)
    return phoenix::error{runtime::errc::invalid_argument, name + ": " + errstr};
  rd::queue_ptr queue{rd_kafka_queue_new(rk->get())};
  rd_kafka_CreateTopics(rk->get(), &topic, 1, nullptr, queue.get());
  rd_kafka_NewTopic_destroy(topic);
  rd::event_ptr ev{rd_kafka_queue_poll(queue.get(), 60000)};
  if (!ev)
    return phoenix::error{runtime::errc::kafka_error,
                          "create topic " + name + ": no answer"};
  if (rd_kafka_event_error(ev.get()))
    return phoenix::error{runtime::errc::kafka_error,
                          "create topic " + name + ": " +
                              rd_kafka_event_error_string(ev.get())};
  std::size_t n = 0;
  const auto** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (std::size_t i = 0; i < n; ++i)
    if (auto err = rd_kafka_topic_result_error(results[i]))
      return rd::kafka_error("create topic " + name, err);
  // Brokers learn of the topic through the metadata log, each at its own pace: a client
  // that asks one that has not yet (librdkafka then drops the partitions it knew) fails
  // its records with "Unknown partition". Wait until every broker serves the topic.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (const auto& broker : brokers_of(admin.at("bootstrap.servers")))
    for (auto view = topic_at(admin, broker, name); view.led != partitions;
         view = topic_at(admin, broker, name)) {
      if (std::chrono::steady_clock::now() > deadline)
        return phoenix::error{runtime::errc::kafka_error,
                              "create topic " + name + ": " + broker +
                                  " does not serve it after 30 s"};
      std::this_thread::sleep_for(50ms);
    }
  return {};
}

} // namespace

topic_view topic_at(const client_properties_map& client, const std::string& broker,
                    const std::string& topic) {
  topic_view out;
  auto props = client;
  props["bootstrap.servers"] = broker;
  auto conf = rd::make_conf(props, "testkit metadata");
  if (!conf)
    return out;
  auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "testkit metadata");
  if (!rk)
    return out;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk->get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk->get(), 0, handle, &md, 5000);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return out;
  rd::metadata_ptr owned{md};
  out.answered = md->topic_cnt == 1;
  if (!out.answered)
    return out;
  const auto& tm = md->topics[0];
  out.error = tm.err;
  out.partitions = tm.partition_cnt;
  for (int p = 0; p < tm.partition_cnt; ++p)
    out.led += tm.partitions[p].leader >= 0 && !tm.partitions[p].err;
  return out;
}

std::vector<std::string> brokers_of(const std::string& bootstrap) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  while (start <= bootstrap.size()) {
    const auto comma = bootstrap.find(',', start);
    const auto entry = bootstrap.substr(start, comma - start);
    if (!entry.empty())
      out.push_back(entry);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

result<client_properties_map> read_client_properties(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return phoenix::error{runtime::errc::invalid_argument, path + ": cannot be read"};
  client_properties_map out;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos)
      continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

result<client_properties_map> real_cluster::client(const std::string& identity) const {
  return read_client_properties(clients + "/" + identity + ".properties");
}

result<std::optional<real_cluster>> real_cluster_from_env() {
  const char* path = std::getenv("PHOENIX_SYSTEM_KAFKA");
  if (!path || !*path)
    return std::optional<real_cluster>{};
  auto env = read_client_properties(path); // cluster.env: KEY=VALUE lines too
  if (!env)
    return env.error();
  real_cluster out;
  for (auto [key, field] :
       {std::pair{"MODE", &out.mode}, std::pair{"BOOTSTRAP", &out.bootstrap},
        std::pair{"CLIENTS", &out.clients}}) {
    auto it = env->find(key);
    if (it == env->end() || it->second.empty())
      return phoenix::error{runtime::errc::invalid_argument,
                            std::string{path} + ": no " + key + " (PHOENIX_SYSTEM_KAFKA)"};
    *field = it->second;
  }
  return std::optional<real_cluster>{std::move(out)};
}

void kafka_cluster_fixture::SetUp() {
  static std::atomic<int> counter{0};
  std::random_device entropy;
  suffix_ = "t" + std::to_string(::getpid()) + "-" + std::to_string(entropy() % 100000) +
            "-" + std::to_string(++counter);
  auto real = real_cluster_from_env();
  ASSERT_TRUE(real) << real.error().message();
  if (*real) {
    real_ = std::move(**real);
    bootstrap_ = real_->bootstrap;
    return;
  }
  auto started = kafka::mock_cluster::start(3);
  ASSERT_TRUE(started) << started.error().describe();
  mock_.emplace(std::move(*started));
  bootstrap_ = mock_->bootstrap_servers();
}

void kafka_cluster_fixture::TearDown() {
  mock_.reset();
  real_.reset();
  bootstrap_.clear();
}

client_properties_map
kafka_cluster_fixture::client_properties(const std::string& identity) const {
  if (!real_)
    return {{"bootstrap.servers", bootstrap_}};
  auto props = real_->client(identity);
  if (!props) {
    ADD_FAILURE() << props.error().message();
    return {};
  }
  return *props;
}

std::string kafka_cluster_fixture::unique_name(const std::string& base) const {
  return base + "." + suffix_;
}

void kafka_cluster_fixture::create_topic(const std::string& name, int partitions) {
  if (mock_) {
    auto res = mock_->create_topic(name, partitions);
    ASSERT_TRUE(res) << res.error().describe();
    return;
  }
  auto res = create_real_topic(client_properties("admin"), name, partitions, 3);
  ASSERT_TRUE(res) << res.error().describe();
}

} // namespace phoenix::testkit
