// The outbox relay on the deterministic scheduler, over a real SQLite store, with a
// producer that answers only when the test says so: rounds in flight at once, no row in
// two of them, and a failed delivery sent again once the rounds in flight have ended.

#include "phoenix/sagas/outbox_relay.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/testkit/actor_test.hpp"
#include "testing/temp_dir.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <map>
#include <stdexcept>

namespace {

using namespace phoenix;
using strings = std::vector<std::string>;

using answer_atom = caf::atom_constant<caf::atom("t_answer")>;

// What the stand-in producer was asked, oldest first, and the answers it still owes.
struct sends {
  strings keys;
  std::map<std::string, caf::response_promise> held;
};

// The producer's protocol; (answer_atom, key, ok) answers the request of that key.
caf::behavior held_producer(caf::event_based_actor* self, std::shared_ptr<sends> s) {
  return {
      [self, s](kafka::produce_atom, kafka::outgoing_record& rec) {
        s->keys.push_back(rec.key);
        s->held[rec.key] = self->make_response_promise();
        return caf::delegated<kafka::delivery_report>{};
      },
      [s](answer_atom, const std::string& key, bool ok) {
        auto i = s->held.find(key);
        if (i == s->held.end())
          return;
        if (ok)
          i->second.deliver(kafka::delivery_report{"t", 0, 0});
        else
          i->second.deliver(caf::make_error(caf::sec::runtime_error, "broker said no"));
        s->held.erase(i);
      },
  };
}

class outbox_relay_test : public testkit::actor_test {
protected:
  outbox_relay_test() {
    persistence::store_config cfg;
    cfg.path = dir_.file("relay");
    auto db = persistence::open_store(cfg);
    if (!db)
      throw std::runtime_error(db.error().describe());
    db_ = std::move(*db);
  }
  ~outbox_relay_test() override {
    for (auto* a : {&relay_, &producer_, &store_})
      if (*a)
        caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    run();
  }

  // Sagas s-00.. each with one pending command keyed by its id, then the actors.
  void start(int rows, std::size_t batch, std::size_t in_flight) {
    for (int i = 0; i < rows; ++i) {
      persistence::saga_record s;
      s.id = {key(i)};
      s.type = "t";
      s.status = "running";
      s.data = "x";
      ASSERT_TRUE(db_->save_saga({s, 0, {{"cmd", key(i), "payload", ""}}},
                                 std::chrono::system_clock::now()));
    }
    persistence::store_actor_options so;
    so.detached = false;
    so.batch_max = 1;
    so.purge_interval = std::chrono::milliseconds{0};
    store_ = persistence::spawn_store_actor(sys, std::move(db_), so);
    link_.attach(store_);
    producer_ = sys.spawn(held_producer, sent_);
    sagas::relay_options ro;
    ro.store = link_;
    ro.producer = [p = producer_] { return p; };
    ro.interval = std::chrono::milliseconds{0};
    ro.batch = batch;
    ro.rounds_in_flight = in_flight;
    stats_ = ro.stats;
    relay_ = sagas::spawn_outbox_relay(sys, ro);
    caf::anon_send(relay_, sagas::relay_kick_atom::value);
    run();
  }

  static std::string key(int i) { return (i < 10 ? "s-0" : "s-") + std::to_string(i); }
  static strings keys(int from, int to) {
    strings out;
    for (int i = from; i < to; ++i)
      out.push_back(key(i));
    return out;
  }

  static strings cat(strings a, const strings& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  strings held() const {
    strings out;
    for (const auto& [k, p] : sent_->held)
      out.push_back(k);
    return out;
  }
  void answer(const strings& ks, bool ok = true) {
    for (const auto& k : ks)
      caf::anon_send(producer_, answer_atom::value, k, ok);
    run();
  }
  strings pending() {
    auto r = request(store_, persistence::store_outbox_atom::value, std::uint64_t{100});
    strings out;
    if (r && r->match_elements<persistence::outbox_list>())
      for (const auto& row : r->get_as<persistence::outbox_list>(0))
        out.push_back(row.saga.value);
    return out;
  }

  persistence::testing::temp_dir dir_;
  std::unique_ptr<persistence::store> db_;
  persistence::store_link link_;
  caf::actor store_, producer_, relay_;
  std::shared_ptr<sends> sent_ = std::make_shared<sends>();
  std::shared_ptr<sagas::relay_stats> stats_;
};

TEST_F(outbox_relay_test, a_second_round_is_sent_while_the_first_is_in_flight) {
  start(25, 10, 2);
  EXPECT_EQ(held(), keys(0, 20)) << "two rounds of 10, rows 0-19, none answered yet";
  answer(keys(0, 20));
  EXPECT_EQ(held(), keys(20, 25));
  answer(keys(20, 25));
  EXPECT_EQ(sent_->keys, keys(0, 25)) << "every row once";
  EXPECT_EQ(pending(), strings{});
  EXPECT_EQ(stats_->published.load(), 25u);
  EXPECT_EQ(stats_->failures.load(), 0u);
}

TEST_F(outbox_relay_test, one_round_in_flight_reads_after_the_round_ends) {
  start(15, 10, 1);
  EXPECT_EQ(held(), keys(0, 10));
  answer(keys(0, 10));
  EXPECT_EQ(held(), keys(10, 15));
  answer(keys(10, 15));
  EXPECT_EQ(sent_->keys, keys(0, 15));
  EXPECT_EQ(pending(), strings{});
}

TEST_F(outbox_relay_test,
       the_next_round_waits_for_a_rows_answer_and_reads_past_the_others) {
  start(25, 10, 2);
  answer(keys(1, 10)); // round 1 ends but for row 0; round 2 is in flight
  EXPECT_EQ(held(), cat({key(0)}, keys(10, 20)))
      << "no third round while two are in flight";
  answer({key(0)});
  EXPECT_EQ(held(), keys(10, 25)) << "round 3 reads past round 2's rows";
  answer(keys(10, 25));
  EXPECT_EQ(sent_->keys, keys(0, 25));
  EXPECT_EQ(pending(), strings{});
}

TEST_F(outbox_relay_test, a_failed_row_is_sent_again_once_the_rounds_in_flight_end) {
  start(25, 10, 2);
  ASSERT_EQ(held(), keys(0, 20));
  answer({key(3)}, false);
  answer(keys(0, 3));
  answer(keys(4, 10)); // round 1 has ended with a failure; round 2 is in flight
  EXPECT_EQ(held(), keys(10, 20))
      << "no read past the failed row while a round is in flight: it would leave it";
  EXPECT_EQ(pending(), cat({key(3)}, keys(10, 25)));
  answer(keys(10, 20));
  EXPECT_EQ(held(), cat({key(3)}, keys(20, 25)))
      << "read again from the oldest pending row, the failed one first";
  answer(held());
  EXPECT_EQ(pending(), strings{});
  EXPECT_EQ(std::count(sent_->keys.begin(), sent_->keys.end(), key(3)), 2);
  EXPECT_EQ(sent_->keys.size(), 26u) << "only the failed row twice";
  EXPECT_EQ(stats_->published.load(), 25u);
  EXPECT_EQ(stats_->failures.load(), 1u);
}

} // namespace
