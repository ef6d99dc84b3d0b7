#include "phoenix/actors/kafka/group_consumer.hpp"

#include "kafka/partition_worker.hpp"
#include "kafka/rdkafka.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/system_messages.hpp>
#include <cstring>
#include <deque>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

using poll_atom = caf::atom_constant<caf::atom("gc_poll")>;
using commit_atom = caf::atom_constant<caf::atom("gc_commit")>;

using partition_id = std::pair<std::string, std::int32_t>;

std::string name_of(const partition_id& p) {
  return p.first + "[" + std::to_string(p.second) + "]";
}

// One assigned partition, as the consumer sees it.
struct partition_state {
  caf::actor worker;
  std::deque<consumed_record> pending; // dispatched, not yet done, in offset order
  std::shared_ptr<std::atomic<std::int64_t>> progress;
  std::int64_t commit_next = -1; // offset to commit: everything below it is done
  bool dirty = false;
  std::int64_t crash_offset = -1;
  int crashes = 0;
};

class consumer_actor;

// Reached from librdkafka's rebalance callback, which runs inside poll on the actor's
// own thread.
struct consumer_core {
  rd::handle_ptr handle;
  consumer_actor* owner = nullptr;
};

class consumer_actor : public caf::event_based_actor {
public:
  consumer_actor(caf::actor_config& cfg, std::unique_ptr<consumer_core> core,
                 group_consumer_config config, record_handler handler,
                 std::shared_ptr<consumer_stats> stats)
      : caf::event_based_actor(cfg), core_(std::move(core)), cfg_(std::move(config)),
        handler_(std::move(handler)), stats_(std::move(stats)) {
    core_->owner = this;
  }

  const char* name() const override { return "phoenix.group_consumer"; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    set_down_handler([this](caf::down_msg& msg) { on_worker_down(msg); });
    set_exit_handler([this](caf::exit_msg& msg) {
      if (!is_worker(msg.source))
        stop(msg.reason);
    });
    send(this, poll_atom::value);
    delayed_send(this, cfg_.commit_interval, commit_atom::value);
    return {
        [this](poll_atom) { poll_round(); },
        [this](commit_atom) {
          commit(true);
          delayed_send(this, cfg_.commit_interval, commit_atom::value);
        },
        [this](partition_done_atom, const std::string& topic, std::int32_t partition,
               std::int64_t last) {
          on_done({topic, partition}, last);
        },
    };
  }

  void on_assigned(rd_kafka_topic_partition_list_t* parts) {
    for (int i = 0; i < parts->cnt; ++i)
      spdlog::info("consumer {}: assigned {}", cfg_.topics.front(),
                   name_of({parts->elems[i].topic, parts->elems[i].partition}));
  }

  void on_revoked(rd_kafka_topic_partition_list_t* parts, bool lost) {
    if (!lost)
      commit(false);
    for (int i = 0; i < parts->cnt; ++i) {
      partition_id id{parts->elems[i].topic, parts->elems[i].partition};
      auto it = parts_.find(id);
      if (it == parts_.end())
        continue;
      spdlog::info("consumer: {} {} with {} records in flight", name_of(id),
                   lost ? "lost" : "revoked", it->second.pending.size());
      in_flight_ -= it->second.pending.size();
      if (it->second.worker) {
        demonitor(it->second.worker);
        send_exit(it->second.worker, caf::exit_reason::user_shutdown);
      }
      parts_.erase(it);
    }
  }

private:
  bool is_worker(const caf::actor_addr& addr) const {
    for (auto& [id, st] : parts_)
      if (st.worker && st.worker.address() == addr)
        return true;
    return false;
  }

  caf::actor spawn_worker(const partition_id& id, partition_state& st) {
    if (!st.progress)
      st.progress = std::make_shared<std::atomic<std::int64_t>>(-1);
    auto w = spawn(partition_worker, caf::actor_cast<caf::actor>(this), id.first, id.second,
                   st.progress, handler_, stats_);
    monitor(w);
    return w;
  }

  void poll_round() {
    if (stopping_)
      return;
    if (in_flight_ >= cfg_.max_in_flight) {
      delayed_send(this, std::chrono::milliseconds{5}, poll_atom::value);
      return;
    }
    std::map<partition_id, std::vector<consumed_record>> batches;
    int timeout_ms = 100;
    for (std::size_t n = 0; n < cfg_.poll_batch;) {
      rd::message_ptr m{rd_kafka_consumer_poll(core_->handle.get(), timeout_ms)};
      timeout_ms = 0;
      if (!m)
        break;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          spdlog::warn("consumer: {}", rd_kafka_message_errstr(m.get()));
        continue;
      }
      consumed_record r;
      r.pos = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
      if (m->key)
        r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload)
        r.value.assign(static_cast<const char*>(m->payload), m->len);
      for (auto& [k, v] : rd::read_headers(*m))
        r.headers.push_back({std::move(k), std::move(v)});
      batches[{r.pos.topic, r.pos.partition}].push_back(std::move(r));
      ++n;
    }
    for (auto& [id, records] : batches) {
      stats_->consumed.fetch_add(records.size(), std::memory_order_relaxed);
      auto& st = parts_[id];
      if (!st.worker)
        st.worker = spawn_worker(id, st);
      in_flight_ += records.size();
      st.pending.insert(st.pending.end(), records.begin(), records.end());
      send(st.worker,
           std::make_shared<const partition_batch>(partition_batch{std::move(records)}));
    }
    send(this, poll_atom::value);
  }

  void on_done(const partition_id& id, std::int64_t last) {
    auto it = parts_.find(id);
    if (it == parts_.end())
      return; // revoked meanwhile
    auto& st = it->second;
    while (!st.pending.empty() && st.pending.front().pos.offset <= last) {
      st.pending.pop_front();
      --in_flight_;
    }
    st.commit_next = last + 1;
    st.dirty = true;
  }

  void on_worker_down(const caf::down_msg& msg) {
    for (auto& [id, st] : parts_) {
      if (!st.worker || st.worker.address() != msg.source)
        continue;
      st.worker = nullptr;
      if (stopping_)
        return;
      // Records up to the worker's progress are done; resume at the next one.
      auto done = st.progress->load();
      if (done >= 0)
        on_done(id, done);
      stats_->restarts.fetch_add(1, std::memory_order_relaxed);
      if (!st.pending.empty()) {
        auto& next = st.pending.front();
        st.crashes = st.crash_offset == next.pos.offset ? st.crashes + 1 : 1;
        st.crash_offset = next.pos.offset;
        spdlog::error("consumer: partition actor {} crashed at offset {} ({}/{}): {}",
                      name_of(id), next.pos.offset, st.crashes, cfg_.max_crashes_per_record,
                      runtime::describe(msg.reason));
        if (st.crashes >= cfg_.max_crashes_per_record) {
          spdlog::error("consumer: giving up {} offset {} after {} crashes", name_of(id),
                        next.pos.offset, st.crashes);
          stats_->rejected.fetch_add(1, std::memory_order_relaxed);
          st.progress->store(next.pos.offset);
          on_done(id, next.pos.offset);
        }
      } else {
        spdlog::error("consumer: partition actor {} crashed: {}", name_of(id),
                      runtime::describe(msg.reason));
      }
      st.worker = spawn_worker(id, st);
      if (!st.pending.empty())
        send(st.worker, std::make_shared<const partition_batch>(
                            partition_batch{{st.pending.begin(), st.pending.end()}}));
      return;
    }
  }

  void commit(bool async) {
    rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(0)};
    for (auto& [id, st] : parts_) {
      if (!st.dirty)
        continue;
      rd_kafka_topic_partition_list_add(list.get(), id.first.c_str(), id.second)->offset =
          st.commit_next;
      st.dirty = false;
    }
    if (list->cnt == 0)
      return;
    auto err = rd_kafka_commit(core_->handle.get(), list.get(), async ? 1 : 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::warn("consumer: commit failed: {}", rd_kafka_err2str(err));
    else
      stats_->commits.fetch_add(1, std::memory_order_relaxed);
  }

  void stop(const caf::error& reason) {
    if (stopping_)
      return;
    stopping_ = true;
    commit(false);
    for (auto& [id, st] : parts_)
      if (st.worker)
        send_exit(st.worker, caf::exit_reason::user_shutdown);
    // Leaves the group; the revoke callback commits again and forgets the partitions.
    if (auto err = rd_kafka_consumer_close(core_->handle.get()))
      spdlog::warn("consumer: close: {}", rd_kafka_err2str(err));
    core_->handle.reset();
    spdlog::info("consumer of {} stopped", cfg_.topics.front());
    quit(reason);
  }

  std::unique_ptr<consumer_core> core_;
  group_consumer_config cfg_;
  record_handler handler_;
  std::shared_ptr<consumer_stats> stats_;
  std::map<partition_id, partition_state> parts_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
};

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* core = static_cast<consumer_core*>(opaque);
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative)
      rd::error_ptr{rd_kafka_incremental_assign(rk, parts)};
    else
      rd_kafka_assign(rk, parts);
    if (core->owner)
      core->owner->on_assigned(parts);
    return;
  }
  if (core->owner)
    core->owner->on_revoked(parts, err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ||
                                       rd_kafka_assignment_lost(rk));
  if (cooperative)
    rd::error_ptr{rd_kafka_incremental_unassign(rk, parts)};
  else
    rd_kafka_assign(rk, nullptr);
}

result<std::unique_ptr<consumer_core>> make_consumer(const group_consumer_config& cfg) {
  auto props = cfg.properties;
  if (!props.count("group.id"))
    return error{runtime::errc::config_bad_value,
                 cfg.origin + ": [kafka] group.id: required for a consumer"};
  auto auto_commit = props.find("enable.auto.commit");
  if (auto_commit != props.end() && auto_commit->second == "true")
    spdlog::warn(
        "{}: [kafka] enable.auto.commit=true ignored: Phoenix commits only offsets "
        "that are done",
        cfg.origin);
  props["enable.auto.commit"] = "false";
  props.emplace("partition.assignment.strategy", "cooperative-sticky");
  props.emplace("auto.offset.reset", "earliest");
  auto conf = rd::make_conf(props, cfg.origin);
  if (!conf)
    return conf.error();
  auto core = std::make_unique<consumer_core>();
  rd_kafka_conf_set_opaque(conf->get(), core.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
  auto handle = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "creating consumer");
  if (!handle)
    return handle.error();
  core->handle = std::move(*handle);
  rd_kafka_poll_set_consumer(core->handle.get());
  rd::topic_partition_list_ptr topics{
      rd_kafka_topic_partition_list_new(static_cast<int>(cfg.topics.size()))};
  for (auto& t : cfg.topics)
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(core->handle.get(), topics.get()))
    return rd::kafka_error("subscribing to " + cfg.topics.front(), err);
  return core;
}

} // namespace

runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         record_handler handler,
                                         std::shared_ptr<consumer_stats> stats) {
  auto timeout = cfg.shutdown_timeout;
  auto start = [cfg = std::move(cfg), handler = std::move(handler),
                stats = std::move(stats)](caf::actor_system& sys) -> result<caf::actor> {
    if (cfg.topics.empty())
      return error{runtime::errc::invalid_argument, "group consumer without topics"};
    auto core = make_consumer(cfg);
    if (!core)
      return core.error();
    return sys.spawn<consumer_actor, caf::detached>(std::move(*core), cfg, handler, stats);
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, timeout};
}

} // namespace phoenix::kafka
