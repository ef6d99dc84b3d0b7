#include "phoenix/sagas/outbox_relay.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/sagas/wire.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::sagas {
namespace {

using tick_atom = caf::atom_constant<caf::atom("sg_rtick")>;

class relay : public caf::event_based_actor {
public:
  relay(caf::actor_config& cfg, relay_options opts)
      : caf::event_based_actor(cfg), opts_(std::move(opts)) {}

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    if (opts_.interval.count() > 0)
      delayed_send(this, opts_.interval, tick_atom::value);
    return {
        [this](relay_kick_atom) { kick(); },
        [this](tick_atom) {
          kick();
          delayed_send(this, opts_.interval, tick_atom::value);
        },
    };
  }

private:
  void kick() {
    if (busy_) {
      again_ = true;
      return;
    }
    round();
  }

  void round() {
    auto store = opts_.store.actor();
    auto producer = opts_.producer ? opts_.producer() : caf::actor{};
    if (!store || !producer)
      return; // the next tick tries again
    busy_ = true;
    again_ = false;
    ++opts_.stats->rounds;
    request(store, caf::infinite, persistence::store_outbox_atom::value,
            static_cast<std::uint64_t>(opts_.batch))
        .then([this, producer](persistence::outbox_list& rows) { publish(producer, rows); },
              [this](caf::error& e) {
                spdlog::warn("outbox relay: cannot read the outbox: {}",
                             runtime::describe(e));
                busy_ = false;
              });
  }

  void publish(const caf::actor& producer, persistence::outbox_list& rows) {
    if (rows.empty()) {
      finish(false);
      return;
    }
    auto full = rows.size() >= opts_.batch;
    auto left = std::make_shared<std::size_t>(rows.size());
    auto done = std::make_shared<std::vector<persistence::store_op>>();
    auto one_done = [this, left, done, full] {
      if (--*left == 0)
        mark(std::move(*done), full);
    };
    for (auto& row : rows) {
      kafka::outgoing_record rec;
      rec.topic = std::move(row.message.topic);
      rec.key = std::move(row.message.key);
      rec.value = std::move(row.message.payload);
      if (auto hs = unpack_headers(row.message.headers))
        rec.headers = std::move(*hs);
      else // written by this module, so only a damaged row: sent bare, not lost
        spdlog::error("outbox row {}: {}", row.id, hs.error().message());
      auto id = row.id;
      request(producer, opts_.publish_timeout, kafka::produce_atom::value, std::move(rec))
          .then(
              [done, id, one_done](const kafka::delivery_report&) {
                done->push_back(persistence::publish_op{id});
                one_done();
              },
              [this, id, one_done](caf::error& e) {
                ++opts_.stats->failures;
                spdlog::warn("outbox row {}: delivery failed, kept for the next round: {}",
                             id, runtime::describe(e));
                one_done();
              });
    }
  }

  void mark(std::vector<persistence::store_op> ops, bool full) {
    auto store = opts_.store.actor();
    if (ops.empty() || !store) {
      finish(false); // nothing delivered: wait for the tick rather than spin
      return;
    }
    auto n = ops.size();
    request(store, caf::infinite, persistence::store_apply_atom::value,
            persistence::store_request{std::move(ops)})
        .then(
            [this, n, full](const persistence::reply&) {
              opts_.stats->published += n;
              finish(full);
            },
            [this](caf::error& e) {
              // Delivered but not marked: sent again next round, absorbed by command id.
              spdlog::warn("outbox relay: cannot mark rows published: {}",
                           runtime::describe(e));
              finish(false);
            });
  }

  void finish(bool more) {
    busy_ = false;
    if (more || again_)
      round();
  }

  relay_options opts_;
  bool busy_ = false;
  bool again_ = false;
};

} // namespace

caf::actor spawn_outbox_relay(caf::actor_system& sys, relay_options opts) {
  return sys.spawn<relay>(std::move(opts));
}

} // namespace phoenix::sagas
