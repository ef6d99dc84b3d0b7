#include "phoenix/actors/kafka/producer_actor.hpp"

#include "kafka/producer_core.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <caf/system_messages.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

namespace phoenix::kafka {
namespace {

using wake_atom = producer_wake_atom;
using flush_atom = caf::atom_constant<caf::atom("kp_flush")>;

caf::error delivery_error(const std::string& topic, std::string_view reason) {
  std::string msg = "delivery to " + topic + " failed: ";
  msg += reason;
  return runtime::to_caf_error({runtime::errc::kafka_error, std::move(msg)});
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* core = static_cast<producer_core*>(opaque);
  if (core->owner != nullptr)
    core->owner->on_delivery(*msg);
}

void on_error(rd_kafka_t*, int err, const char* reason, void*) {
  // Fatal errors are picked up after the poll (check_fatal); the rest are transient
  // (brokers down, ...) and librdkafka keeps retrying.
  if (err != RD_KAFKA_RESP_ERR__FATAL)
    spdlog::warn("producer: {}", reason);
}

// Called by librdkafka, on its own threads and under the queue's lock, when the queue
// rd_kafka_poll() serves turns non-empty. It only posts one wake-up at a time to the
// actor, which then polls without blocking.
void on_queue_event(rd_kafka_t*, void* opaque) {
  auto* core = static_cast<producer_core*>(opaque);
  if (core->wake_pending.exchange(true))
    return;
  if (auto dest = caf::actor_cast<caf::actor>(core->wake_target))
    caf::anon_send(dest, wake_atom::value);
}

// The record's headers, with `traceparent` from `rec.trace` when they have none.
rd::headers_ptr headers_of(const outgoing_record& rec) {
  auto out = rd::make_headers(rec.headers);
  if (!rec.trace ||
      std::any_of(rec.headers.begin(), rec.headers.end(),
                  [](const runtime::header& h) { return h.key == "traceparent"; }))
    return out;
  if (!out)
    out.reset(rd_kafka_headers_new(1));
  auto value = rec.trace->to_header();
  rd_kafka_header_add(out.get(), "traceparent", -1, value.data(),
                      static_cast<ssize_t>(value.size()));
  return out;
}

rd::error_ptr produce_one(rd_kafka_t& rk, const outgoing_record& rec, void* opaque) {
  // A view without data is what librdkafka takes for null.
  return rd::enqueue(rk, rec.topic, rec.null_key ? std::string_view{} : rec.key,
                     rec.null_value ? std::string_view{} : rec.value, headers_of(rec),
                     opaque, rec.partition.value_or(RD_KAFKA_PARTITION_UA));
}

bool queue_full(const rd::error_ptr& err) {
  return err && rd_kafka_error_code(err.get()) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
}

} // namespace

result<std::unique_ptr<producer_core>> make_producer_core(producer_config cfg) {
  auto props = rd::properties_for(RD_KAFKA_PRODUCER, cfg.properties);
  if (auto it = props.find("transactional.id"); it != props.end()) {
    if (cfg.transactional_id && *cfg.transactional_id != it->second)
      return phoenix::error{runtime::errc::config_bad_value,
                            cfg.origin + ": [kafka] transactional.id: '" + it->second +
                                "' differs from the producer's transactional id '" +
                                *cfg.transactional_id + "'"};
    cfg.transactional_id = it->second;
  }
  if (cfg.transactional_id)
    props["transactional.id"] = *cfg.transactional_id;
  props.emplace("enable.idempotence", "true");
  auto conf = rd::make_conf(props, cfg.origin);
  if (!conf)
    return conf.error();
  char idempotence[16] = {};
  std::size_t size = sizeof idempotence;
  if (rd_kafka_conf_get(conf->get(), "enable.idempotence", idempotence, &size) ==
          RD_KAFKA_CONF_OK &&
      std::strcmp(idempotence, "false") == 0)
    spdlog::warn("{}: [kafka] enable.idempotence=false: a retried record may be stored "
                 "twice or out of order",
                 cfg.origin);

  auto core = std::make_unique<producer_core>();
  rd_kafka_conf_set_opaque(conf->get(), core.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &on_delivery);
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  auto handle = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf),
                                cfg.origin + ": creating producer");
  if (!handle)
    return handle.error();
  core->handle = std::move(*handle);
  core->main_queue.reset(rd_kafka_queue_get_main(core->handle.get()));
  if (cfg.transactional_id) {
    rd::error_ptr err{rd_kafka_init_transactions(
        core->handle.get(), static_cast<int>(cfg.flush_timeout.count()))};
    if (err)
      return rd::kafka_error(cfg.origin + ": initialising transactions of '" +
                                 *cfg.transactional_id + "'",
                             *err);
  }
  core->cfg = std::move(cfg);
  return core;
}

producer_actor::producer_actor(caf::actor_config& cfg, std::unique_ptr<producer_core> core)
    : caf::event_based_actor(cfg), core_(std::move(core)) {
  core_->owner = this;
}

caf::behavior producer_actor::make_behavior() {
  runtime::crash_on_exception(this);
  set_exit_handler([this](caf::exit_msg& msg) { begin_stop(std::move(msg.reason)); });
  // Delivery reports wake the actor (on_queue_event) instead of a timed poll loop: a
  // blocking poll(50 ms) would hold the requests queued behind it for up to 50 ms, and
  // poll(0) in a self-message loop would spin while records are outstanding. This way
  // a report is served as soon as it exists, and an idle producer runs no code at all.
  core_->wake_target = address();
  rd_kafka_queue_cb_event_enable(core_->main_queue.get(), &on_queue_event, core_.get());
  send(this, wake_atom::value); // serves what was queued before the callback was set
  return {
      [this](wake_atom) { serve(); },
      [this](flush_atom) { flush_step(); },
      [this](produce_atom, outgoing_record& rec) { return produce(std::move(rec)); },
      [this](begin_txn_atom) { return begin_txn(); },
      [this](send_offsets_atom, const std::vector<partition_offset>& offsets,
             const group_metadata& gm) { return send_offsets(offsets, gm); },
      [this](commit_txn_atom) { return commit_txn(); },
      [this](abort_txn_atom) { return abort_txn(); },
  };
}

caf::result<delivery_report> producer_actor::produce(outgoing_record&& rec) {
  if (stopping_)
    return delivery_error(rec.topic, "producer stopping");
  auto p = std::make_unique<pending_delivery>(
      pending_delivery{make_response_promise<delivery_report>(), rec.topic, {}, {}});
  if (core_->cfg.trace && !rec.cause.empty()) {
    p->cause = std::move(rec.cause);
    for (const auto& h : rec.headers)
      if (h.key == "ce_id")
        p->ce_id = h.value;
  }
  auto promise = p->promise;
  if (!backlog_.empty()) { // keep the order of requests
    backlog_.emplace_back(std::move(rec), std::move(p));
    return promise;
  }
  auto err = produce_one(*rk(), rec, p.get());
  if (!err) {
    topics_.enqueued(*rk(), rec.topic);
    pending_.emplace(p.get(), std::move(p));
  } else if (queue_full(err)) {
    // Delivery reports make room; the next wake-up retries.
    backlog_.emplace_back(std::move(rec), std::move(p));
  } else {
    // librdkafka refuses records to a topic its metadata said does not exist until its
    // next refresh (topic.metadata.refresh.interval.ms, 5 minutes by default): ask now,
    // so a request sent again after the topic was created finds it.
    if (rd_kafka_error_code(err.get()) == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
      rd::request_metadata_now(*rk(), rec.topic);
    promise.deliver(
        runtime::to_caf_error(rd::kafka_error("produce to " + rec.topic, *err)));
  }
  return promise;
}

void producer_actor::drain_backlog() {
  while (!backlog_.empty()) {
    auto& [rec, p] = backlog_.front();
    auto err = produce_one(*rk(), rec, p.get());
    if (queue_full(err))
      return;
    if (err)
      p->promise.deliver(
          runtime::to_caf_error(rd::kafka_error("produce to " + rec.topic, *err)));
    else {
      topics_.enqueued(*rk(), rec.topic);
      pending_.emplace(p.get(), std::move(p));
    }
    backlog_.pop_front();
  }
}

void producer_actor::fail_backlog(const std::string& why) {
  for (auto& [rec, p] : backlog_)
    p->promise.deliver(delivery_error(rec.topic, why));
  backlog_.clear();
}

// Polls until the backlog is in librdkafka's queue, at most until `deadline`.
bool producer_actor::make_room(std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  drain_backlog();
  while (!backlog_.empty() && steady_clock::now() < deadline) {
    rd_kafka_poll(rk(), 10);
    submit_trace();
    drain_backlog();
  }
  return backlog_.empty();
}

void producer_actor::on_delivery(const rd_kafka_message_t& msg) {
  auto it = pending_.find(static_cast<const pending_delivery*>(msg._private));
  if (it == pending_.end())
    return;
  auto p = std::move(it->second);
  pending_.erase(it);
  if (msg.err != RD_KAFKA_RESP_ERR_NO_ERROR)
    p->promise.deliver(delivery_error(p->topic, rd_kafka_err2str(msg.err)));
  else {
    p->promise.deliver(delivery_report{p->topic, msg.partition, msg.offset});
    if (!p->cause.empty()) {
      persistence::trace_record row;
      row.key.value = std::move(p->cause);
      row.topic = p->topic;
      row.partition = msg.partition;
      row.offset = msg.offset;
      row.stage = "produced";
      if (!p->ce_id.empty())
        row.detail = "ce_id " + p->ce_id;
      row.at = std::chrono::system_clock::now();
      trace_rows_.push_back(std::move(row));
    }
  }
}

void producer_actor::submit_trace() {
  if (trace_rows_.empty() || !core_->cfg.trace)
    return;
  std::vector<persistence::trace_record> rows;
  rows.swap(trace_rows_);
  core_->cfg.trace->submit(std::move(rows));
}

void producer_actor::serve() {
  if (!core_->handle)
    return;
  // Cleared before the poll: an event queued from here on posts a new wake-up.
  core_->wake_pending.store(false);
  rd_kafka_poll(rk(), 0);
  submit_trace();
  if (!check_fatal())
    drain_backlog();
}

bool producer_actor::check_fatal() {
  auto reason = fatal_reason_;
  if (reason.empty()) {
    char text[512] = {};
    if (rd_kafka_fatal_error(rk(), text, sizeof text) == RD_KAFKA_RESP_ERR_NO_ERROR)
      return false;
    reason = text;
  }
  phoenix::error err{runtime::errc::kafka_error, "producer failed: " + reason};
  spdlog::error("producer: {}", err.message());
  stopping_ = true;
  rd_kafka_poll(rk(), 0); // reports librdkafka has already failed carry their own reason
  release(err.message());
  quit(runtime::to_caf_error(err));
  return true;
}

void producer_actor::begin_stop(caf::error reason) {
  if (stopping_)
    return;
  stopping_ = true;
  stop_reason_ = std::move(reason);
  deadline_ = std::chrono::steady_clock::now() + core_->cfg.flush_timeout;
  spdlog::debug("producer: stopping with {} records pending",
                pending_.size() + backlog_.size());
  if (in_txn_)
    abort_open_txn(core_->cfg.flush_timeout);
  flush_step();
}

// One slice of the bounded flush; requests that come in between are refused.
void producer_actor::flush_step() {
  using namespace std::chrono;
  if (!core_->handle)
    return;
  drain_backlog();
  auto left = duration_cast<milliseconds>(deadline_ - steady_clock::now());
  auto slice = std::clamp(left, milliseconds{0}, milliseconds{100});
  auto flushed = rd_kafka_flush(rk(), static_cast<int>(slice.count()));
  if (check_fatal())
    return;
  bool done = flushed == RD_KAFKA_RESP_ERR_NO_ERROR && backlog_.empty();
  if (!done && slice < left) {
    send(this, flush_atom::value);
    return;
  }
  if (!done)
    spdlog::warn("producer: {} records not delivered within the flush bound of {} ms",
                 pending_.size() + backlog_.size(), core_->cfg.flush_timeout.count());
  release("not delivered before shutdown");
  quit(stop_reason_);
}

// Answers every requester still waiting, then destroys the producer. Idempotent.
void producer_actor::release(const std::string& why) {
  if (!core_->handle)
    return;
  // No report reaches a requester after its error; no wake-up names this actor.
  core_->owner = nullptr;
  rd_kafka_queue_cb_event_enable(core_->main_queue.get(), nullptr, nullptr);
  for (auto& [key, p] : pending_)
    p->promise.deliver(delivery_error(p->topic, why));
  pending_.clear();
  fail_backlog(why);
  rd_kafka_purge(rk(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                           RD_KAFKA_PURGE_F_NON_BLOCKING);
  core_->main_queue.reset();
  core_->handle.reset();
}

void producer_actor::on_exit() {
  // Also reached when the actor is killed or crashes, without a flush.
  release("producer stopped");
  submit_trace();
}

runtime::child_spec producer_child(std::string id, producer_config cfg) {
  auto timeout = cfg.flush_timeout + std::chrono::seconds{5};
  auto start = [cfg = std::move(cfg)](caf::actor_system& sys) -> result<caf::actor> {
    auto core = make_producer_core(cfg);
    if (!core)
      return core.error();
    return sys.spawn<producer_actor, caf::detached>(std::move(*core));
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, timeout};
}

} // namespace phoenix::kafka
