#include "bus/bus_actor.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::bus {
namespace {

using drain_deadline_atom = caf::atom_constant<caf::atom("bus_drain")>;

} // namespace

bus_actor::bus_actor(caf::actor_config& cfg, std::shared_ptr<bus_shared> shared,
                     std::map<subscription_id, caf::actor> kafka_started)
    : caf::event_based_actor(cfg), shared_(std::move(shared)), inproc_(this, shared_),
      kafka_(this), kafka_started_(std::move(kafka_started)) {}

caf::behavior bus_actor::make_behavior() {
  runtime::crash_on_exception(this);
  set_exit_handler([this](caf::exit_msg& msg) { begin_stop(std::move(msg.reason)); });
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  for (auto& [id, sub] : shared_->subs) {
    if (auto started = kafka_started_.find(id); started != kafka_started_.end())
      kafka_.adopt(id, started->second);
    else
      inproc_.add(id, sub);
    if (sub.handler.actor())
      monitor(sub.handler.actor());
  }
  kafka_started_.clear();
  return {
      [this](publish_atom, std::string& topic, std::string& key, runtime::envelope& env) {
        return publish(topic, key, env);
      },
      [this](subscribe_atom, subscription& sub) { return subscribe(sub); },
      [this](unsubscribe_atom, subscription_id id) { return unsubscribe(id); },
      [this](drain_deadline_atom) { drain_deadline(); },
      [this](inproc_retry_atom, std::uint64_t id, std::uint64_t lane, std::uint64_t token) {
        inproc_.retry_due(subscription_id{id}, lane, token);
      },
  };
}

caf::error bus_actor::refuse_publish(errc code, std::string text) {
  shared_->stats->publish_errors.fetch_add(1, std::memory_order_relaxed);
  return make_caf_error(code, std::move(text));
}

caf::result<receipt> bus_actor::publish(std::string& topic, std::string& key,
                                        runtime::envelope& env) {
  if (auto problem = runtime::topic_name_problem(topic))
    return refuse_publish(errc::invalid_argument, "publish: " + *problem);
  auto route = shared_->cfg.routes.route_of(topic);
  if (!route)
    return refuse_publish(errc::unknown_topic,
                          "publish to " + topic +
                              ": the topic is in no [bus] list and [bus] default is none");
  // The subscriber decodes what the publisher encodes, on both routes: an envelope
  // that would not decode is refused here, not counted as undecodable there.
  auto headers = runtime::encode_headers(env);
  auto decoded = runtime::decode_envelope(headers, env.payload);
  if (!decoded)
    return refuse_publish(errc::invalid_envelope,
                          "publish to " + topic + ": " + decoded.error().message());
  if (*route == runtime::topic_route::in_process)
    return publish_in_process(topic, key, std::move(*decoded));
  return publish_kafka(topic, key, std::move(headers), std::move(env.payload),
                       std::move(env.cause));
}

caf::result<receipt> bus_actor::publish_in_process(const std::string& topic,
                                                   std::string& key,
                                                   runtime::envelope env) {
  if (inproc_stopped_)
    return refuse_publish(errc::stopping, "publish to " + topic +
                                              ": the bus has stopped its in-process "
                                              "subscriptions");
  auto& next = shared_->next_sequence[topic];
  auto rec = std::make_shared<inproc_record>(
      inproc_record{std::move(key), std::move(env),
                    kafka::record_position{topic, in_process_partition, next}});
  auto queued = inproc_.deliver(rec);
  if (!queued)
    return refuse_publish(errc::subscriber_full, queued.error().message());
  ++next;
  shared_->stats->published.fetch_add(1, std::memory_order_relaxed);
  if (*queued == 0)
    shared_->stats->unheard.fetch_add(1, std::memory_order_relaxed);
  return receipt{topic, runtime::topic_route::in_process, in_process_partition,
                 rec->pos.offset};
}

caf::result<receipt> bus_actor::publish_kafka(const std::string& topic, std::string& key,
                                              std::vector<runtime::header> headers,
                                              std::string payload, std::string cause) {
  auto producer = shared_->producer ? shared_->producer->get() : caf::actor{};
  if (!producer)
    return refuse_publish(errc::producer_unavailable,
                          "publish to " + topic + ": no producer has been started");
  auto promise = make_response_promise<receipt>();
  auto token = ++next_publish_;
  publishing_.emplace(token, promise);
  kafka::outgoing_record rec{topic, std::move(key), std::move(payload), std::move(headers),
                             std::nullopt};
  rec.cause = std::move(cause); // the publisher's, not this actor's
  request(producer, caf::duration{shared_->cfg.publish_timeout}, kafka::produce_atom::value,
          std::move(rec))
      .then(
          [this, token](kafka::delivery_report& r) {
            answer_publish(token, receipt{std::move(r.topic), runtime::topic_route::kafka,
                                          r.partition, r.offset});
          },
          [this, token, topic](caf::error& err) { fail_publish(token, topic, err); });
  return promise;
}

void bus_actor::answer_publish(std::uint64_t token, receipt r) {
  auto it = publishing_.find(token);
  if (it == publishing_.end())
    return;
  shared_->stats->published.fetch_add(1, std::memory_order_relaxed);
  it->second.deliver(std::move(r));
  publishing_.erase(it);
  if (stopping_ && parts_running_ == 0 && publishing_.empty())
    quit(stop_reason_);
}

void bus_actor::fail_publish(std::uint64_t token, const std::string& topic,
                             const caf::error& err) {
  auto it = publishing_.find(token);
  if (it == publishing_.end())
    return;
  caf::error answer;
  if (err == caf::sec::request_timeout)
    answer =
        refuse_publish(errc::delivery_failed,
                       "publish to " + topic + ": no delivery report within " +
                           std::to_string(shared_->cfg.publish_timeout.count()) + " ms");
  else if (err == caf::sec::request_receiver_down)
    answer = refuse_publish(errc::producer_unavailable,
                            "publish to " + topic + ": the producer is not running");
  else
    answer = refuse_publish(errc::delivery_failed,
                            "publish to " + topic + ": " + runtime::describe(err));
  it->second.deliver(std::move(answer));
  publishing_.erase(it);
  if (stopping_ && parts_running_ == 0 && publishing_.empty())
    quit(stop_reason_);
}

caf::result<subscription_id> bus_actor::subscribe(subscription& sub) {
  if (stopping_)
    return make_caf_error(errc::stopping,
                          "subscribe " + name_of(sub) + ": the bus is stopping");
  if (auto refused = check_subscription(*shared_, sub))
    return to_caf(refused);
  subscription_id id{shared_->next_id++};
  if (shared_->cfg.routes.route_of(sub.topic) == runtime::topic_route::kafka) {
    auto started = start_kafka_subscription(system(), *shared_, sub);
    if (!started)
      return to_caf(started.error());
    kafka_.adopt(id, *started);
  } else {
    inproc_.add(id, sub);
  }
  if (sub.handler.actor())
    monitor(sub.handler.actor());
  spdlog::info("bus: subscribed {} ({})", name_of(sub),
               to_string(*shared_->cfg.routes.route_of(sub.topic)));
  shared_->subs.emplace(id, std::move(sub));
  return id;
}

caf::result<void> bus_actor::unsubscribe(subscription_id id) {
  if (shared_->subs.count(id) == 0)
    return make_caf_error(errc::unknown_subscription, "unsubscribe #" +
                                                          std::to_string(id.value) +
                                                          ": no such subscription");
  auto promise = make_response_promise();
  drop(id, [promise]() mutable { promise.deliver(caf::unit); });
  return promise;
}

// Forgets a subscription (a restarted bus will not bring it back) and stops it.
void bus_actor::drop(subscription_id id, std::function<void()> done) {
  auto it = shared_->subs.find(id);
  spdlog::info("bus: unsubscribed {}", name_of(it->second));
  shared_->subs.erase(it);
  if (!inproc_.remove(id, done) && !kafka_.remove(id, done))
    done();
}

void bus_actor::on_down(const caf::down_msg& msg) {
  subscription_id which;
  switch (kafka_.on_down(msg, which)) {
  case kafka_subscriptions::down_kind::asked:
    return;
  case kafka_subscriptions::down_kind::unexpected: {
    // Its supervisor gave up; the bus's supervisor restarts the bus with every
    // subscription, or gives up in turn.
    auto it = shared_->subs.find(which);
    auto name = it != shared_->subs.end() ? name_of(it->second) : "#?";
    quit(make_caf_error(errc::subscribe_failed, "kafka subscription " + name + " failed: " +
                                                    runtime::describe(msg.reason)));
    return;
  }
  case kafka_subscriptions::down_kind::not_ours:
    break;
  }
  if (inproc_.on_down(msg))
    return;
  // A subscriber actor exited: it will not answer again.
  std::vector<subscription_id> gone;
  for (auto& [id, sub] : shared_->subs)
    if (sub.handler.actor() && sub.handler.actor().address() == msg.source)
      gone.push_back(id);
  for (auto id : gone) {
    spdlog::warn("bus: subscriber of {} exited ({}); unsubscribing it",
                 name_of(shared_->subs.at(id)), runtime::describe(msg.reason));
    drop(id, [] {});
  }
}

void bus_actor::begin_stop(caf::error reason) {
  if (stopping_)
    return;
  stopping_ = true;
  stop_reason_ = std::move(reason);
  parts_running_ = 2;
  delayed_send(this, shared_->cfg.consumer.drain_timeout, drain_deadline_atom::value);
  inproc_.when_idle([this] {
    inproc_stopped_ = true;
    inproc_.clear();
    part_stopped();
  });
  kafka_.stop_all([this] { part_stopped(); });
}

void bus_actor::drain_deadline() {
  if (!stopping_ || inproc_stopped_)
    return;
  inproc_stopped_ = true;
  auto dropped_before = shared_->stats->dropped.load();
  inproc_.clear();
  spdlog::warn("bus: in-process subscriptions not drained within {} ms; dropped {} records",
               shared_->cfg.consumer.drain_timeout.count(),
               shared_->stats->dropped.load() - dropped_before);
  part_stopped();
}

void bus_actor::part_stopped() {
  if (--parts_running_ == 0 && publishing_.empty())
    quit(stop_reason_);
}

void bus_actor::on_exit() {
  kafka_.kill_all();
  inproc_.clear();
  for (auto& [token, promise] : publishing_)
    promise.deliver(make_caf_error(errc::stopping, "publish: the bus stopped before the "
                                                   "delivery report arrived"));
  publishing_.clear();
}

} // namespace phoenix::bus
