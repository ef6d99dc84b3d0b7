#include "kafka/consumer_handle.hpp"

#include "kafka/rdkafka.hpp"

#include <cstring>
#include <deque>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {

struct consumer_handle::impl {
  rd::handle_ptr rk;
  consumer_handle* owner = nullptr;
  std::function<void(std::chrono::nanoseconds, bool)> on_commit;
  std::deque<std::chrono::steady_clock::time_point> async_commits; // awaiting an answer
};

struct consumer_handle_access {
  static rebalance_listener* listener(consumer_handle& h) { return h.listener_; }
};

namespace {

std::vector<topic_partition> to_vector(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<topic_partition> out;
  for (int i = 0; i < parts->cnt; ++i)
    out.push_back({parts->elems[i].topic, parts->elems[i].partition});
  return out;
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<consumer_handle::impl*>(opaque);
  auto* listener = self->owner ? consumer_handle_access::listener(*self->owner) : nullptr;
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (rd::error_ptr e{rd_kafka_incremental_assign(rk, parts)})
        spdlog::error("consumer: incremental assign: {}", rd_kafka_error_string(e.get()));
    } else if (auto e = rd_kafka_assign(rk, parts)) {
      spdlog::error("consumer: assign: {}", rd_kafka_err2str(e));
    }
    if (listener)
      listener->on_assigned(to_vector(parts));
    return;
  }
  bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
  if (listener)
    listener->on_revoked(to_vector(parts), lost);
  if (cooperative) {
    if (rd::error_ptr e{rd_kafka_incremental_unassign(rk, parts)})
      spdlog::error("consumer: incremental unassign: {}", rd_kafka_error_string(e.get()));
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

// Answers to asynchronous commits, in the order they were requested (one coordinator
// connection answers in order); pairs each with its start time for the latency. The
// commit itself stays rd_kafka_commit: only the timing is added.
void on_committed(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
                  void* opaque) {
  auto* self = static_cast<consumer_handle::impl*>(opaque);
  if (!self || err == RD_KAFKA_RESP_ERR__NO_OFFSET || self->async_commits.empty())
    return;
  auto started = self->async_commits.front();
  self->async_commits.pop_front();
  if (err)
    spdlog::warn("consumer: commit failed: {}", rd_kafka_err2str(err));
  if (self->on_commit)
    self->on_commit(std::chrono::steady_clock::now() - started, !err);
}

} // namespace

consumer_handle::consumer_handle(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  impl_->owner = this;
}

consumer_handle::~consumer_handle() = default;

result<std::unique_ptr<consumer_handle>>
consumer_handle::open(std::map<std::string, std::string> props, const std::string& origin,
                      const std::vector<std::string>& topics) {
  if (!props.count("group.id"))
    return error{runtime::errc::config_bad_value,
                 origin + ": [kafka] group.id: required for a consumer"};
  auto auto_commit = props.find("enable.auto.commit");
  if (auto_commit != props.end() && auto_commit->second == "true")
    spdlog::warn(
        "{}: [kafka] enable.auto.commit=true ignored: Phoenix commits only offsets "
        "that are done",
        origin);
  props["enable.auto.commit"] = "false";
  props.emplace("partition.assignment.strategy", "cooperative-sticky");
  props.emplace("auto.offset.reset", "earliest");
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  auto p = std::make_unique<impl>();
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_committed);
  auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "creating consumer");
  if (!rk)
    return rk.error();
  p->rk = std::move(*rk);
  rd_kafka_poll_set_consumer(p->rk.get());
  rd::topic_partition_list_ptr list{
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()))};
  for (auto& t : topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(p->rk.get(), list.get()))
    return rd::kafka_error("subscribing to " + topics.front(), err);
  return std::unique_ptr<consumer_handle>{new consumer_handle{std::move(p)}};
}

std::optional<consumed_record> consumer_handle::poll(int timeout_ms) {
  for (;;) {
    rd::message_ptr m{rd_kafka_consumer_poll(impl_->rk.get(), timeout_ms)};
    if (!m)
      return std::nullopt;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("consumer: {}", rd_kafka_message_errstr(m.get()));
      timeout_ms = 0;
      continue;
    }
    consumed_record r;
    r.pos = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
    if (m->key)
      r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload)
      r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* hdrs = nullptr; // owned by the message
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      r.headers.reserve(rd_kafka_header_cnt(hdrs));
      for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                              RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i)
        r.headers.push_back({name, value
                                       ? std::string(static_cast<const char*>(value), size)
                                       : std::string{}});
    }
    return r;
  }
}

result<void> consumer_handle::pause(const topic_partition& tp, bool paused) {
  rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  auto err = paused ? rd_kafka_pause_partitions(impl_->rk.get(), list.get())
                    : rd_kafka_resume_partitions(impl_->rk.get(), list.get());
  if (!err)
    err = list->elems[0].err;
  if (err)
    return rd::kafka_error((paused ? "pausing " : "resuming ") + to_string(tp), err);
  return {};
}

result<void> consumer_handle::commit(
    const std::vector<std::pair<topic_partition, std::int64_t>>& offsets, bool async) {
  rd::topic_partition_list_ptr list{
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()))};
  for (auto& [tp, offset] : offsets)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        offset;
  // A synchronous commit is timed here; an asynchronous one when its answer comes
  // through the offset commit callback, served by poll.
  auto started = std::chrono::steady_clock::now();
  auto err = rd_kafka_commit(impl_->rk.get(), list.get(), async ? 1 : 0);
  if (!err && async)
    impl_->async_commits.push_back(started);
  else if (impl_->on_commit)
    impl_->on_commit(std::chrono::steady_clock::now() - started, !err);
  if (err)
    return rd::kafka_error("committing offsets", err);
  return {};
}

void consumer_handle::set_commit_observer(
    std::function<void(std::chrono::nanoseconds, bool)> f) {
  impl_->on_commit = std::move(f);
}

std::int64_t consumer_handle::high_watermark(const topic_partition& tp) const {
  std::int64_t low = -1;
  std::int64_t high = -1;
  if (!impl_->rk || rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.c_str(),
                                                   tp.partition, &low, &high))
    return -1;
  return high;
}

void consumer_handle::close() {
  if (!impl_->rk)
    return;
  if (auto err = rd_kafka_consumer_close(impl_->rk.get()))
    spdlog::warn("consumer: close: {}", rd_kafka_err2str(err));
  impl_->rk.reset();
}

} // namespace phoenix::kafka
