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
using round_timeout_atom = caf::atom_constant<caf::atom("sg_rtmo")>;

// The deliveries of one round: when the last answer (or the round's timeout) comes, the
// delivered rows are marked published.
struct round_state {
  std::uint64_t no = 0;
  std::size_t left = 0;
  bool full = false;
  bool closed = false;
  std::vector<persistence::store_op> done;
};

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
        [this](round_timeout_atom, std::uint64_t no) {
          if (!current_ || current_->no != no || current_->closed)
            return;
          opts_.stats->failures += current_->left;
          spdlog::warn("outbox relay: {} deliveries unanswered after {} ms, kept for the "
                       "next round",
                       current_->left, opts_.publish_timeout.count());
          close_round();
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
    auto scope = opts_.owned ? persistence::outbox_scope::owned(opts_.owned->snapshot())
                             : persistence::outbox_scope::everything();
    request(store, caf::infinite, persistence::store_outbox_atom::value,
            static_cast<std::uint64_t>(opts_.batch), std::move(scope))
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
    // One timeout for the round rather than one per row: a request timeout costs the
    // clock thread two wake-ups, per command.
    auto r = std::make_shared<round_state>();
    r->no = ++rounds_;
    r->left = rows.size();
    r->full = rows.size() >= opts_.batch;
    r->done.reserve(rows.size());
    current_ = r;
    delayed_send(this, opts_.publish_timeout, round_timeout_atom::value, r->no);
    auto one_done = [this, r] {
      if (!r->closed && --r->left == 0)
        close_round();
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
      rec.cause = std::move(row.saga.value); // a producer with traceability records it
      auto id = row.id;
      request(producer, caf::infinite, kafka::produce_atom::value, std::move(rec))
          .then(
              [r, id, one_done](const kafka::delivery_report&) {
                if (!r->closed)
                  r->done.push_back(persistence::publish_op{id});
                one_done();
              },
              [this, r, id, one_done](caf::error& e) {
                if (!r->closed) {
                  ++opts_.stats->failures;
                  spdlog::warn(
                      "outbox row {}: delivery failed, kept for the next round: {}", id,
                      runtime::describe(e));
                }
                one_done();
              });
    }
  }

  void close_round() {
    auto r = std::move(current_);
    r->closed = true;
    mark(std::move(r->done), r->full);
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
  std::shared_ptr<round_state> current_;
  std::uint64_t rounds_ = 0;
  bool busy_ = false;
  bool again_ = false;
};

} // namespace

void owned_partitions::assign(const std::string& topic, std::int32_t partition) {
  std::lock_guard<std::mutex> guard{mtx_};
  set_.insert({topic, partition});
}

void owned_partitions::revoke(const std::string& topic, std::int32_t partition) {
  std::lock_guard<std::mutex> guard{mtx_};
  set_.erase({topic, partition});
}

void owned_partitions::forget(const std::string& topic) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = set_.begin(); i != set_.end();)
    i = i->topic == topic ? set_.erase(i) : std::next(i);
}

std::vector<persistence::saga_partition> owned_partitions::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {set_.begin(), set_.end()};
}

caf::actor spawn_outbox_relay(caf::actor_system& sys, relay_options opts) {
  return sys.spawn<relay>(std::move(opts));
}

} // namespace phoenix::sagas
