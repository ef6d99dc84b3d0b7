#include "kafka/consumer_handle.hpp"

#include "kafka/rdkafka.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::kafka {

struct consumer_handle::impl {
  rd::handle_ptr rk;
  rd::queue_ptr queue; // the consumer queue, for batch reads
  // The fetch queues of the assigned partitions, each forwarded to `queue` unless its
  // partition is detached. Dropped on revoke: librdkafka may give a partition assigned
  // again a new queue.
  struct fetch_queue {
    rd::queue_ptr queue;
    bool detached = false; // not forwarded
  };
  std::map<topic_partition, fetch_queue> partitions;
  consumer_handle* owner = nullptr;
  bool closed = false;

  // Forwards the partitions' fetch queues to the consumer queue, as librdkafka does when
  // it starts fetching them. Done here for every assignment: once the application has
  // set a queue's forwarding (detach), librdkafka no longer sets it on a later start.
  void attach_assigned(const std::vector<topic_partition>& tps) {
    for (const auto& tp : tps) {
      rd::queue_ptr q{
          rd_kafka_queue_get_partition(rk.get(), tp.topic.c_str(), tp.partition)};
      if (!q) {
        spdlog::warn("consumer: no fetch queue for {}", to_string(tp));
        continue;
      }
      rd_kafka_queue_forward(q.get(), queue.get());
      partitions[tp] = {std::move(q), false};
    }
  }

  void forget(const std::vector<topic_partition>& tps) {
    for (const auto& tp : tps)
      partitions.erase(tp);
  }
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
  const auto tps = to_vector(parts);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (rd::error_ptr e{rd_kafka_incremental_assign(rk, parts)})
        spdlog::error("consumer: incremental assign: {}", rd_kafka_error_string(e.get()));
    } else if (auto e = rd_kafka_assign(rk, parts)) {
      spdlog::error("consumer: assign: {}", rd_kafka_err2str(e));
    }
    if (self->owner)
      self->attach_assigned(tps);
    if (listener)
      listener->on_assigned(tps);
    return;
  }
  bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
  if (listener)
    listener->on_revoked(tps, lost);
  if (cooperative) {
    if (rd::error_ptr e{rd_kafka_incremental_unassign(rk, parts)})
      spdlog::error("consumer: incremental unassign: {}", rd_kafka_error_string(e.get()));
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  if (self->owner) // else the handle is being destroyed, its queues with it
    self->forget(tps);
}

void on_commit_result(rd_kafka_t*, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<consumer_handle::impl*>(opaque);
  auto* listener = self->owner ? consumer_handle_access::listener(*self->owner) : nullptr;
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
    return; // nothing was stored since the last commit
  if (err) {
    spdlog::debug("consumer: commit failed, sent again later: {}", rd_kafka_err2str(err));
    if (listener)
      listener->on_commit_failed();
  }
  std::vector<std::pair<topic_partition, std::int64_t>> stored;
  for (int i = 0; !err && parts && i < parts->cnt; ++i) {
    auto& e = parts->elems[i];
    if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0)
      stored.push_back({{e.topic, e.partition}, e.offset});
  }
  if (listener && !stored.empty())
    listener->on_committed(stored);
}

// Errors after which the same commit can succeed: the coordinator moves or is not known
// yet. A rebalance in progress is not one of them: the commit then carries a generation
// the group leaves behind, so a retry fails as an illegal generation, which librdkafka
// 2.0 answers by dropping the assignment as lost.
bool retriable_commit_error(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
  case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TRANSPORT:
  case RD_KAFKA_RESP_ERR__WAIT_COORD:
    return true;
  default:
    return false;
  }
}

} // namespace

consumer_handle::consumer_handle(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  impl_->owner = this;
}

consumer_handle::~consumer_handle() {
  // librdkafka closes a consumer that was not closed when its handle is destroyed, and
  // calls the rebalance callback from there: no listener may be reached by then.
  impl_->owner = nullptr;
  impl_->partitions.clear(); // before the handle, like the consumer queue
}

result<std::unique_ptr<consumer_handle>>
consumer_handle::open(std::map<std::string, std::string> props, const std::string& origin,
                      const std::vector<std::string>& topics,
                      std::chrono::milliseconds commit_interval) {
  if (!props.count("group.id"))
    return error{runtime::errc::config_bad_value,
                 origin + ": [kafka] group.id: required for a consumer"};
  props = rd::properties_for(RD_KAFKA_CONSUMER, std::move(props));
  // librdkafka commits only offsets Phoenix stored, which are done; its timer skips
  // while the group rebalances (a commit that waits behind this member's JoinGroup
  // comes back as an illegal generation, and librdkafka then drops the assignment as
  // lost). Manual asynchronous commits have no such guard.
  if (auto store = props.find("enable.auto.offset.store");
      store != props.end() && store->second != "false")
    spdlog::warn("{}: [kafka] enable.auto.offset.store={} ignored: Phoenix stores only "
                 "offsets that are done",
                 origin, store->second);
  props["enable.auto.offset.store"] = "false";
  props["enable.auto.commit"] = "true";
  props["auto.commit.interval.ms"] =
      std::to_string(std::max<long>(1, commit_interval.count()));
  // A partition resumed after a pause at its in-flight bound is fetched with the broker's
  // next Fetch, which waits up to fetch.wait.max.ms while the partitions still fetching
  // have nothing new: at librdkafka's 500 ms the resumed lanes run dry meanwhile.
  props.emplace("fetch.wait.max.ms", "50");
  props.emplace("partition.assignment.strategy", "cooperative-sticky");
  props.emplace("auto.offset.reset", "earliest");
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  auto p = std::make_unique<impl>();
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_commit_result);
  auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "creating consumer");
  if (!rk)
    return rk.error();
  p->rk = std::move(*rk);
  rd_kafka_poll_set_consumer(p->rk.get());
  p->queue.reset(rd_kafka_queue_get_consumer(p->rk.get()));
  rd::topic_partition_list_ptr list{
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()))};
  for (auto& t : topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(p->rk.get(), list.get()))
    return rd::kafka_error("subscribing to " + topics.front(), err);
  return std::unique_ptr<consumer_handle>{new consumer_handle{std::move(p)}};
}

void consumer_handle::poll(std::vector<rd_kafka_message_t*>& out, std::size_t max,
                           int timeout_ms) {
  out.clear();
  if (impl_->closed || max == 0)
    return;
  // Blocks for the first record only: rd_kafka_consume_batch_queue() would wait until
  // `max` records arrived or the timeout passed, holding back what is already there.
  rd_kafka_message_t* first = rd_kafka_consumer_poll(impl_->rk.get(), timeout_ms);
  if (first == nullptr)
    return;
  out.resize(max);
  out[0] = first;
  auto more = rd_kafka_consume_batch_queue(impl_->queue.get(), 0, out.data() + 1, max - 1);
  out.resize(1 + static_cast<std::size_t>(std::max<ssize_t>(more, 0)));
  // Errors travel as records with `err` set; drop them here.
  auto kept = out.begin();
  for (auto* m : out) {
    if (!m->err) {
      *kept++ = m;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      spdlog::warn("consumer: {}", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
  }
  out.erase(kept, out.end());
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

result<void> consumer_handle::detach(const topic_partition& tp) {
  auto it = impl_->partitions.find(tp);
  if (it == impl_->partitions.end())
    return error{runtime::errc::kafka_error,
                 "detaching " + to_string(tp) + ": no fetch queue (not assigned)"};
  rd_kafka_queue_forward(it->second.queue.get(), nullptr);
  it->second.detached = true;
  return {};
}

void consumer_handle::attach(const topic_partition& tp) {
  auto it = impl_->partitions.find(tp);
  if (it == impl_->partitions.end() || !it->second.detached)
    return;
  rd_kafka_queue_forward(it->second.queue.get(), impl_->queue.get());
  it->second.detached = false;
}

std::size_t consumer_handle::detached_records(const topic_partition& tp) const {
  auto it = impl_->partitions.find(tp);
  // A forwarded queue would report the length of the consumer queue.
  if (it == impl_->partitions.end() || !it->second.detached)
    return 0;
  return rd_kafka_queue_length(it->second.queue.get());
}

void consumer_handle::store(const topic_partition& tp, std::int64_t offset) {
  rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
      offset;
  auto err = rd_kafka_offsets_store(impl_->rk.get(), list.get());
  if (!err)
    err = list->elems[0].err;
  if (err)
    spdlog::debug("consumer: storing offset {} of {}: {}", offset, to_string(tp),
                  rd_kafka_err2str(err));
}

consumer_handle::commit_status consumer_handle::commit(
    const std::vector<std::pair<topic_partition, std::int64_t>>& offsets,
    std::chrono::milliseconds retry_for) {
  rd::topic_partition_list_ptr list{
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()))};
  for (auto& [tp, offset] : offsets)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        offset;
  auto deadline = std::chrono::steady_clock::now() + retry_for;
  for (int attempt = 1;; ++attempt) {
    for (int i = 0; i < list->cnt; ++i)
      list->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    auto err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
    for (int i = 0; !err && i < list->cnt; ++i)
      err = list->elems[i].err;
    if (!err)
      return {};
    if (!retriable_commit_error(err) || std::chrono::steady_clock::now() >= deadline)
      return {false,
              err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
                  err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
              "committing offsets (attempt " + std::to_string(attempt) +
                  "): " + rd_kafka_err2str(err)};
    spdlog::debug("consumer: commit attempt {}: {}; retrying", attempt,
                  rd_kafka_err2str(err));
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

std::int64_t consumer_handle::high_watermark(const topic_partition& tp) const {
  std::int64_t low = -1;
  std::int64_t high = -1;
  if (impl_->closed || rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.c_str(),
                                                      tp.partition, &low, &high))
    return -1;
  return high;
}

void consumer_handle::close() {
  if (impl_->closed)
    return;
  impl_->closed = true;
  impl_->partitions.clear(); // queues must be gone before the close
  impl_->queue.reset();
  if (auto err = rd_kafka_consumer_close(impl_->rk.get()))
    spdlog::warn("consumer: close: {}", rd_kafka_err2str(err));
}

} // namespace phoenix::kafka
