#include "phoenix/actors/kafka/producer.hpp"

#include "kafka/rdkafka.hpp"

#include <atomic>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {

struct producer::impl {
  rd::handle_ptr handle;
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  rd::topic_warmup topics; // used by produce() only: one thread at a time

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      self->failed.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("delivery to {} [{}] failed: {}", rd_kafka_topic_name(msg->rkt),
                    msg->partition, rd_kafka_err2str(msg->err));
    }
  }
};

result<producer> producer::create(const std::map<std::string, std::string>& properties,
                                  const std::string& origin) {
  auto props = rd::properties_for(RD_KAFKA_PRODUCER, properties);
  props.emplace("enable.idempotence", "true");
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  auto p = std::unique_ptr<impl>(new impl);
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &impl::on_delivery);
  auto handle = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "creating producer");
  if (!handle)
    return handle.error();
  p->handle = std::move(*handle);
  return producer{std::move(p)};
}

producer::producer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
producer::producer(producer&&) noexcept = default;
producer& producer::operator=(producer&&) noexcept = default;

producer::~producer() {
  if (impl_ && impl_->handle) {
    if (rd_kafka_flush(impl_->handle.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::warn("producer closed with {} records undelivered",
                   rd_kafka_outq_len(impl_->handle.get()));
  }
}

result<void> producer::produce(const std::string& topic, std::string_view key,
                               std::string_view value,
                               const std::vector<runtime::header>& headers) {
  for (;;) {
    auto error =
        rd::enqueue(*impl_->handle, topic, key, value, rd::make_headers(headers), nullptr);
    if (!error) {
      impl_->topics.enqueued(*impl_->handle, topic);
      return {};
    }
    auto err = rd_kafka_error_code(error.get());
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return rd::kafka_error("producing to " + topic, err);
    rd_kafka_poll(impl_->handle.get(), 100); // serve delivery reports to make room
  }
}

result<void> producer::flush(std::chrono::milliseconds timeout) {
  auto err = rd_kafka_flush(impl_->handle.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return rd::kafka_error("flushing producer (" +
                               std::to_string(rd_kafka_outq_len(impl_->handle.get())) +
                               " records still queued)",
                           err);
  return {};
}

std::uint64_t producer::delivered() const {
  return impl_->delivered.load();
}
std::uint64_t producer::failed() const {
  return impl_->failed.load();
}

} // namespace phoenix::kafka
