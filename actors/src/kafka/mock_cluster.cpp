#include "phoenix/actors/kafka/mock_cluster.hpp"

#include "kafka/rdkafka.hpp"

#include <cstdint>
#include <limits>
#include <utility>

namespace phoenix::kafka {

struct mock_cluster::impl {
  // Declaration order matters: members are destroyed in reverse, so the cluster goes
  // before the handle it was created with.
  rd::handle_ptr handle;
  rd::mock_cluster_ptr cluster;
  int brokers = 0;
};

namespace {

phoenix::error invalid_argument(std::string msg) {
  return {runtime::errc::invalid_argument, "mock cluster: " + std::move(msg)};
}

phoenix::error moved_from() {
  return invalid_argument("used after being moved from");
}

result<void> check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    return {};
  return rd::kafka_error("mock cluster: " + what, err);
}

} // namespace

mock_cluster::mock_cluster(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
mock_cluster::mock_cluster(mock_cluster&&) noexcept = default;
mock_cluster& mock_cluster::operator=(mock_cluster&&) noexcept = default;
mock_cluster::~mock_cluster() = default;

result<mock_cluster> mock_cluster::start(int brokers) {
  if (brokers < 1)
    return invalid_argument("broker count must be at least 1, not " +
                            std::to_string(brokers));
  // The mock cluster needs a client handle for its logging and threads; a producer
  // without bootstrap servers never connects anywhere. Notices such as "no
  // bootstrap.servers configured" are noise here, warnings and errors are not.
  auto conf = rd::make_conf({{"log_level", "4"}}, "mock cluster");
  if (!conf)
    return conf.error();
  auto handle = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "mock cluster");
  if (!handle)
    return handle.error();
  auto state = std::make_unique<impl>();
  state->handle = std::move(*handle);
  state->cluster.reset(rd_kafka_mock_cluster_new(state->handle.get(), brokers));
  if (!state->cluster)
    return phoenix::error{runtime::errc::kafka_error,
                          "mock cluster: librdkafka could not start " +
                              std::to_string(brokers) + " mock brokers"};
  state->brokers = brokers;
  return mock_cluster{std::move(state)};
}

std::string mock_cluster::bootstrap_servers() const {
  if (!impl_)
    return {};
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster.get());
}

int mock_cluster::broker_count() const {
  return impl_ ? impl_->brokers : 0;
}

result<void> mock_cluster::create_topic(const std::string& name, int partitions,
                                        int replication) {
  if (!impl_)
    return moved_from();
  return check(rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions,
                                          replication),
               "create topic " + name + " (" + std::to_string(partitions) +
                   " partitions, replication " + std::to_string(replication) + ")");
}

result<void> mock_cluster::broker_down(int broker_id) {
  if (!impl_)
    return moved_from();
  return check(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id),
               "broker " + std::to_string(broker_id) + " down");
}

result<void> mock_cluster::broker_up(int broker_id) {
  if (!impl_)
    return moved_from();
  return check(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id),
               "broker " + std::to_string(broker_id) + " up");
}

result<void> mock_cluster::set_rtt(int broker_id, std::chrono::milliseconds rtt) {
  if (!impl_)
    return moved_from();
  if (rtt.count() < 0 || rtt.count() > std::numeric_limits<int>::max())
    return invalid_argument("rtt out of range: " + std::to_string(rtt.count()) + " ms");
  return check(rd_kafka_mock_broker_set_rtt(impl_->cluster.get(), broker_id,
                                            static_cast<int>(rtt.count())),
               "broker " + std::to_string(broker_id) + " rtt");
}

result<void> mock_cluster::push_request_errors(int api_key,
                                               std::vector<int> rd_kafka_resp_err_codes) {
  if (!impl_)
    return moved_from();
  if (api_key < 0 || api_key > std::numeric_limits<std::int16_t>::max())
    return invalid_argument("api key out of range: " + std::to_string(api_key));
  std::vector<rd_kafka_resp_err_t> errors;
  errors.reserve(rd_kafka_resp_err_codes.size());
  for (int code : rd_kafka_resp_err_codes)
    errors.push_back(static_cast<rd_kafka_resp_err_t>(code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(),
                                          static_cast<std::int16_t>(api_key), errors.size(),
                                          errors.data());
  return {};
}

result<void> mock_cluster::set_partition_leader(const std::string& topic, int partition,
                                                int broker_id) {
  if (!impl_)
    return moved_from();
  return check(rd_kafka_mock_partition_set_leader(impl_->cluster.get(), topic.c_str(),
                                                  partition, broker_id),
               "leader of " + topic + "[" + std::to_string(partition) + "] to broker " +
                   std::to_string(broker_id));
}

} // namespace phoenix::kafka
