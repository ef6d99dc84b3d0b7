#include "phoenix/sagas/outbox_relay.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/sagas/wire.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <map>
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
  bool closed = false;
  bool failed = false; ///< A delivery failed or went unanswered: the row stays pending.
  std::vector<persistence::store_op> done;
};

// Reads ahead of the rounds in flight before the relay waits for them to end and reads
// from the oldest pending row again (see `maybe_read`).
constexpr int max_reads_ahead = 8;

class relay : public caf::event_based_actor {
public:
  relay(caf::actor_config& cfg, relay_options opts)
      : caf::event_based_actor(cfg), opts_(std::move(opts)) {
    opts_.rounds_in_flight = std::max<std::size_t>(1, opts_.rounds_in_flight);
  }

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
          auto i = rounds_.find(no); // a closed round has left the map
          if (i == rounds_.end())
            return;
          auto r = i->second;
          opts_.stats->failures += r->left;
          spdlog::warn("outbox relay: {} deliveries unanswered after {} ms, kept for the "
                       "next round",
                       r->left, opts_.publish_timeout.count());
          r->failed = true;
          close_round(r);
        },
    };
  }

private:
  void kick() {
    again_ = true;
    maybe_read();
  }

  // Reads the next rows when there is room for a round. With rounds in flight it reads
  // only past the highest id it has read (`cursor_`), so no row is in two rounds; it
  // stops reading ahead after a failed delivery (that row is older than the cursor) and
  // after max_reads_ahead reads, and then reads from the oldest pending row once the
  // rounds in flight have ended and their rows are marked: the marks are sent before
  // that read, and the store applies a requester's messages in order, so it does not
  // return them again. Reading from the oldest now and then also picks up a row that
  // committed after rows with higher ids (possible with PostgreSQL's sequences when
  // several nodes write), which a cursor alone would pass by.
  void maybe_read() {
    if (reading_ || rounds_.size() >= opts_.rounds_in_flight || !(again_ || more_))
      return;
    bool ahead = !rounds_.empty();
    if (ahead && (failed_ || reads_ahead_ >= max_reads_ahead))
      return; // the last round to end reads again
    auto store = opts_.store.actor();
    auto producer = opts_.producer ? opts_.producer() : caf::actor{};
    if (!store || !producer)
      return; // the next tick tries again
    if (ahead) {
      ++reads_ahead_;
    } else {
      reads_ahead_ = 0;
      cursor_ = 0;
      failed_ = false;
    }
    reading_ = true;
    again_ = false;
    more_ = false;
    ++opts_.stats->rounds;
    auto scope = opts_.owned ? persistence::outbox_scope::owned(opts_.owned->snapshot())
                             : persistence::outbox_scope::everything();
    scope.after(cursor_);
    request(store, caf::infinite, persistence::store_outbox_atom::value,
            static_cast<std::uint64_t>(opts_.batch), std::move(scope))
        .then(
            [this, producer](persistence::outbox_list& rows) {
              reading_ = false;
              if (!rows.empty()) {
                cursor_ = std::max(cursor_, rows.back().id);
                more_ = rows.size() >= opts_.batch;
                publish(producer, rows);
              }
              maybe_read();
            },
            [this](caf::error& e) {
              spdlog::warn("outbox relay: cannot read the outbox: {}",
                           runtime::describe(e));
              reading_ = false;
              failed_ = true; // the cursor may have passed rows nobody sent
            });
  }

  void publish(const caf::actor& producer, persistence::outbox_list& rows) {
    // One timeout for the round rather than one per row: a request timeout costs the
    // clock thread two wake-ups, per command.
    auto r = std::make_shared<round_state>();
    r->no = ++round_no_;
    r->left = rows.size();
    r->done.reserve(rows.size());
    rounds_.emplace(r->no, r);
    delayed_send(this, opts_.publish_timeout, round_timeout_atom::value, r->no);
    auto one_done = [this, r] {
      if (!r->closed && --r->left == 0)
        close_round(r);
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
                  r->failed = true;
                  spdlog::warn(
                      "outbox row {}: delivery failed, kept for the next round: {}", id,
                      runtime::describe(e));
                }
                one_done();
              });
    }
  }

  void close_round(const std::shared_ptr<round_state>& r) {
    r->closed = true;
    rounds_.erase(r->no);
    if (r->failed)
      failed_ = true;
    if (r->done.empty())
      more_ = false; // nothing went out: wait for a kick or the tick rather than spin
    else
      mark(std::move(r->done)); // sent before the next read (maybe_read's comment)
    maybe_read();
  }

  void mark(std::vector<persistence::store_op> ops) {
    auto store = opts_.store.actor();
    if (!store)
      return; // delivered but not marked: sent again, absorbed by command id
    auto n = ops.size();
    request(store, caf::infinite, persistence::store_apply_atom::value,
            persistence::store_request{std::move(ops)})
        .then([this, n](const persistence::reply&) { opts_.stats->published += n; },
              [](caf::error& e) {
                // Delivered but not marked: sent again later, absorbed by command id.
                spdlog::warn("outbox relay: cannot mark rows published: {}",
                             runtime::describe(e));
              });
  }

  relay_options opts_;
  std::map<std::uint64_t, std::shared_ptr<round_state>> rounds_; ///< In flight.
  std::uint64_t round_no_ = 0;
  std::int64_t cursor_ = 0; ///< The highest id read since the last read from the oldest.
  int reads_ahead_ = 0;
  bool reading_ = false;
  bool again_ = false;  ///< Kicked since the last read.
  bool more_ = false;   ///< The last read was full: more rows wait.
  bool failed_ = false; ///< A row older than the cursor may still be pending.
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
