// The store actor: group commit, one reply per requester, typed failures, reconnect
// with backoff, health, purge — on the deterministic scheduler with virtual time over a
// real SQLite store; faults come from a decorator that makes the real store fail on
// demand. The last tests use real threads, where concurrency is the point.

#include "phoenix/persistence/store_actor.hpp"

#include "phoenix/observability/metrics.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/actor_test.hpp"
#include "testing/one_winner.hpp"
#include "testing/temp_dir.hpp"

#include <caf/all.hpp>
#include <thread>

namespace {

using namespace phoenix::persistence;
using namespace std::chrono_literals;
using phoenix::persistence::testing::temp_dir;

struct faults {
  bool fail_apply = false;
  int failing_reconnects = 0; ///< This many reconnects fail before one succeeds.
  int reconnects = 0;
};

/// The real store, made to fail on demand.
class faulty_store final : public store {
public:
  faulty_store(std::unique_ptr<store> real, std::shared_ptr<faults> f)
      : real_(std::move(real)), f_(std::move(f)) {}
  const char* backend() const noexcept override { return real_->backend(); }
  phoenix::result<std::vector<phoenix::result<reply>>>
  apply(const std::vector<store_request>& batch, time_point now) override {
    if (f_->fail_apply)
      return make_store_error(store_errc::store_unavailable, "disk unplugged");
    return real_->apply(batch, now);
  }
  phoenix::result<key_record> lookup(const idempotency_key& k) override {
    return real_->lookup(k);
  }
  phoenix::result<std::optional<saga_record>> load_saga(const saga_id& id) override {
    return real_->load_saga(id);
  }
  phoenix::result<std::vector<saga_record>> unfinished_sagas(const std::string& t,
                                                             std::int32_t p) override {
    return real_->unfinished_sagas(t, p);
  }
  phoenix::result<std::vector<saga_record>> list_sagas(const std::string& st,
                                                       std::size_t n) override {
    return real_->list_sagas(st, n);
  }
  phoenix::result<std::vector<outbox_record>>
  pending_outbox(std::size_t n, const outbox_scope& scope) override {
    return real_->pending_outbox(n, scope);
  }
  phoenix::result<std::vector<trace_record>> traces(const idempotency_key& k) override {
    return real_->traces(k);
  }
  phoenix::result<purge_counts> purge(time_point cutoff) override {
    return real_->purge(cutoff);
  }
  phoenix::result<int> schema_version() override {
    if (f_->fail_apply) // unplugged: every question fails, not just writes
      return make_store_error(store_errc::store_unavailable, "disk unplugged");
    return real_->schema_version();
  }
  phoenix::result<void> verify() override { return real_->verify(); }
  phoenix::result<void> reconnect() override {
    ++f_->reconnects;
    if (f_->failing_reconnects > 0) {
      --f_->failing_reconnects;
      return make_store_error(store_errc::store_unavailable, "still unplugged");
    }
    f_->fail_apply = false;
    return real_->reconnect();
  }
  store_stats stats() const override { return real_->stats(); }

private:
  std::unique_ptr<store> real_;
  std::shared_ptr<faults> f_;
};

template <class T>
struct answer {
  bool done = false;
  std::optional<T> value;
  caf::error err;
};

class store_actor_test : public phoenix::testkit::actor_test {
protected:
  caf::actor spawn_store(store_actor_options opts = {}, bool purge_timer = false) {
    store_config cfg;
    cfg.path = dir.file("actor");
    auto db = open_store(cfg);
    EXPECT_TRUE(db);
    opts.detached = false;
    if (!purge_timer)
      opts.purge_interval = 0ms;
    opts.clock = [this] { return now; };
    stores_.push_back(spawn_store_actor(
        sys, std::make_unique<faulty_store>(std::move(*db), f), std::move(opts)));
    return stores_.back();
  }

  // Stop the stores while their directory still exists: at system shutdown the test
  // scheduler fires every timer, and a reconnect timer would fire forever.
  void TearDown() override {
    for (auto& st : stores_)
      caf::anon_send_exit(st, caf::exit_reason::kill);
    run();
  }

  /// A requester actor that sends one request and records what comes back. Runs the
  /// scheduler (without firing timers) so the request is in the store's hands.
  template <class T, class... Ts>
  std::shared_ptr<answer<T>> ask(const caf::actor& st, Ts... xs) {
    auto out = spawn_requester<T>(st, xs...);
    run();
    return out;
  }

  /// The requester of ask(), spawned without running the scheduler.
  template <class T, class... Ts>
  std::shared_ptr<answer<T>> spawn_requester(const caf::actor& st, Ts... xs) {
    auto out = std::make_shared<answer<T>>();
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(st, caf::infinite, xs...)
          .then(
              [out](T& x) {
                out->value = std::move(x);
                out->done = true;
              },
              [out](caf::error& e) {
                out->err = std::move(e);
                out->done = true;
              });
    });
    return out;
  }

  std::shared_ptr<answer<reply>> send(const caf::actor& st, store_request req) {
    return ask<reply>(st, store_apply_atom::value, std::move(req));
  }

  std::uint64_t transactions(const caf::actor& st) {
    auto m = request(st, store_stats_atom::value);
    return m ? m->get_as<store_stats>(0).transactions : 0;
  }

  std::pair<bool, std::string> health(const caf::actor& st) {
    auto m = request(st, store_health_atom::value);
    if (!m || !(m->match_elements<bool, std::string>()))
      return {false, "no reply"};
    return {m->get_as<bool>(0), m->get_as<std::string>(1)};
  }

  temp_dir dir;
  std::vector<caf::actor> stores_;
  std::shared_ptr<faults> f = std::make_shared<faults>();
  time_point now = time_point{std::chrono::seconds{1767225600}};
};

TEST_F(store_actor_test, requests_within_the_window_share_one_transaction_each_its_reply) {
  auto st = spawn_store();
  const auto before = transactions(st);
  std::vector<std::shared_ptr<answer<reply>>> outs;
  for (int i = 0; i < 6; ++i)
    outs.push_back(send(st, store_request::claim({"k" + std::to_string(i)})));
  outs.push_back(send(st, store_request::claim({"dup"})));
  outs.push_back(send(st, store_request::claim({"dup"})));
  run();
  for (auto& o : outs)
    EXPECT_FALSE(o->done) << "the window is still open";
  advance_time(500us);
  EXPECT_EQ(transactions(st), before + 1);
  int dup_wins = 0;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    ASSERT_TRUE(outs[i]->done && outs[i]->value) << i;
    auto c = outs[i]->value->claims.at(0);
    if (i < 6)
      EXPECT_EQ(c, claim_outcome::claimed) << i;
    else
      dup_wins += c == claim_outcome::claimed;
  }
  EXPECT_EQ(dup_wins, 1);
}

TEST_F(store_actor_test, a_full_batch_commits_without_waiting_for_the_window) {
  store_actor_options opts;
  opts.batch_max = 4;
  auto st = spawn_store(opts);
  const auto before = transactions(st);
  std::vector<std::shared_ptr<answer<reply>>> outs;
  for (int i = 0; i < 5; ++i)
    outs.push_back(send(st, store_request::claim({"k" + std::to_string(i)})));
  run();
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(outs[i]->done) << i;
  EXPECT_FALSE(outs[4]->done) << "the fifth opens the next window";
  EXPECT_EQ(transactions(st), before + 1);
  advance_time(500us);
  EXPECT_TRUE(outs[4]->done);
  EXPECT_EQ(transactions(st), before + 2);
}

TEST_F(store_actor_test, with_no_window_a_batch_is_what_queued_while_the_last_committed) {
  store_actor_options opts;
  opts.batch_window = 0us;
  auto st = spawn_store(opts);
  const auto before = transactions(st);
  // Five requesters send before the store runs: their requests wait in its mailbox
  // together, as they do while a transaction commits.
  std::vector<std::shared_ptr<answer<reply>>> outs;
  for (int i = 0; i < 5; ++i)
    outs.push_back(spawn_requester<reply>(st, store_apply_atom::value,
                                          store_request::claim({"k" + std::to_string(i)})));
  run(); // no virtual time passes
  for (auto& o : outs)
    ASSERT_TRUE(o->done && o->value);
  EXPECT_EQ(transactions(st), before + 1);
  auto alone = send(st, store_request::claim({"later"}));
  run();
  EXPECT_TRUE(alone->done) << "a lone request commits at once, without a timer";
  EXPECT_EQ(transactions(st), before + 2);
}

TEST_F(store_actor_test, batch_sizes_times_and_failures_reach_the_links_metrics) {
  store_actor_options opts;
  opts.batch_max = 4;
  opts.link = store_link{};
  phoenix::observability::metrics_registry metrics;
  auto probe = expose_store_metrics(metrics, opts.link);
  auto st = spawn_store(opts);
  for (int i = 0; i < 5; ++i)
    send(st, store_request::claim({"k" + std::to_string(i)}));
  advance_time(500us); // one batch of 4 (full), one of 1 (window)
  f->fail_apply = true;
  f->failing_reconnects = 100;
  send(st, store_request::claim({"lost"}));
  advance_time(500us);
  const auto& b = opts.link.batches();
  EXPECT_EQ(b.requests.load(), 6u);
  EXPECT_EQ(b.failed.load(), 1u);
  EXPECT_EQ(b.sizes[0].load(), 2u); // size 1: the window's and the failed one
  EXPECT_EQ(b.sizes[2].load(), 1u); // size 4: up to 5
  auto text = metrics.render();
  for (const char* line :
       {"phoenix_store_batch_size_bucket{le=\"1\"} 2",
        "phoenix_store_batch_size_bucket{le=\"5\"} 3", "phoenix_store_batch_size_count 3",
        "phoenix_store_batch_size_sum 6", "phoenix_store_batch_seconds_count 3",
        "phoenix_store_requests_total 6", "phoenix_store_failed_batches_total 1"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
}

TEST_F(store_actor_test, a_failing_batch_fails_every_request_in_it_with_store_unavailable) {
  auto st = spawn_store();
  f->fail_apply = true;
  f->failing_reconnects = 100;
  std::vector<std::shared_ptr<answer<reply>>> outs;
  for (int i = 0; i < 5; ++i)
    outs.push_back(send(st, store_request::claim({"k" + std::to_string(i)})));
  advance_time(500us);
  for (auto& o : outs) {
    ASSERT_TRUE(o->done);
    EXPECT_FALSE(o->value);
    EXPECT_TRUE(is_store_error(o->err, store_errc::store_unavailable))
        << phoenix::runtime::describe(o->err);
    EXPECT_NE(phoenix::runtime::describe(o->err).find("disk unplugged"), std::string::npos);
  }
  auto [up, text] = health(st);
  EXPECT_FALSE(up);
  EXPECT_NE(text.find("disk unplugged"), std::string::npos) << text;
}

TEST_F(store_actor_test, while_unavailable_it_answers_at_once_and_reconnects_with_backoff) {
  auto st = spawn_store();
  f->fail_apply = true;
  f->failing_reconnects = 2;
  send(st, store_request::claim({"a"}));
  advance_time(500us);
  auto fast = send(st, store_request::claim({"b"}));
  run(); // no virtual time passes: the answer does not wait for the database
  ASSERT_TRUE(fast->done);
  EXPECT_TRUE(is_store_error(fast->err, store_errc::store_unavailable));
  // Attempts after 50 ms, then 100 ms, then 200 ms (the third succeeds).
  advance_time(49ms);
  EXPECT_EQ(f->reconnects, 0);
  advance_time(1ms);
  EXPECT_EQ(f->reconnects, 1);
  advance_time(99ms);
  EXPECT_EQ(f->reconnects, 1);
  advance_time(1ms);
  EXPECT_EQ(f->reconnects, 2);
  EXPECT_FALSE(health(st).first);
  advance_time(200ms);
  EXPECT_EQ(f->reconnects, 3);
  EXPECT_TRUE(health(st).first);
  auto later = send(st, store_request::claim({"b"}));
  advance_time(500us);
  ASSERT_TRUE(later->value) << phoenix::runtime::describe(later->err);
  EXPECT_EQ(later->value->claims.at(0), claim_outcome::claimed);
}

TEST_F(store_actor_test, the_link_is_not_ready_from_a_failed_write_until_the_reconnect) {
  store_actor_options opts;
  opts.reconnect_min = 10ms;
  opts.link = store_link{};
  auto st = spawn_store(opts);
  opts.link.attach(st);
  ASSERT_TRUE(opts.link.ready());
  f->fail_apply = true;
  f->failing_reconnects = 1;
  send(st, store_request::claim({"k"}));
  advance_time(500us); // the batch window: the write fails
  EXPECT_FALSE(opts.link.ready());
  EXPECT_NE(opts.link.reason().find("disk unplugged"), std::string::npos)
      << opts.link.reason();
  advance_time(10ms); // first reconnect fails
  EXPECT_FALSE(opts.link.ready());
  advance_time(20ms); // second succeeds
  EXPECT_TRUE(opts.link.ready());
  EXPECT_EQ(opts.link.reason(), "");
}

TEST_F(store_actor_test, an_idle_store_that_goes_away_is_noticed_by_its_health_check) {
  store_actor_options opts;
  opts.reconnect_min = 10ms;
  opts.health_interval = 2s;
  opts.link = store_link{};
  auto st = spawn_store(opts);
  opts.link.attach(st);
  advance_time(2s); // a check while the store is there changes nothing
  ASSERT_TRUE(opts.link.ready());
  f->fail_apply = true;
  f->failing_reconnects = 1;
  advance_time(1s);
  EXPECT_TRUE(opts.link.ready()) << "no check yet, and no request was made";
  advance_time(1s); // the next check fails: not ready, without any request
  EXPECT_FALSE(opts.link.ready());
  EXPECT_NE(opts.link.reason().find("disk unplugged"), std::string::npos)
      << opts.link.reason();
  advance_time(10ms); // the first reconnect fails
  EXPECT_FALSE(opts.link.ready());
  advance_time(20ms); // the second succeeds
  EXPECT_TRUE(opts.link.ready());
  EXPECT_EQ(f->reconnects, 2);
}

TEST_F(store_actor_test, a_saga_conflict_fails_only_its_requester_and_keeps_the_store_up) {
  auto st = spawn_store();
  saga_op bad;
  bad.state.id = {"s"};
  bad.expected_version = 3;
  auto conflicted = send(st, store_request{{bad}});
  auto fine = send(st, store_request::claim({"k"}));
  advance_time(500us);
  ASSERT_TRUE(conflicted->done && fine->done);
  EXPECT_TRUE(is_store_error(conflicted->err, store_errc::conflict));
  ASSERT_TRUE(fine->value);
  EXPECT_EQ(fine->value->claims.at(0), claim_outcome::claimed);
  EXPECT_TRUE(health(st).first);
  EXPECT_EQ(transactions(st), 1u);
}

TEST_F(store_actor_test, a_read_commits_the_pending_writes_first) {
  auto st = spawn_store();
  auto w = send(st, store_request::complete({"k"}));
  run();
  EXPECT_FALSE(w->done);
  auto m = request(st, store_lookup_atom::value, idempotency_key{"k"});
  ASSERT_TRUE(m && m->match_elements<key_record>());
  EXPECT_EQ(m->get_as<key_record>(0).state, key_state::completed);
  EXPECT_TRUE(w->done);
}

TEST_F(store_actor_test,
       purge_removes_what_is_older_than_the_retention_by_the_injected_clock) {
  store_actor_options opts;
  opts.retention = std::chrono::hours{24};
  auto st = spawn_store(opts);
  send(st, store_request::complete({"old"}));
  advance_time(500us);
  now += std::chrono::hours{30};
  send(st, store_request::complete({"new"}));
  advance_time(500us);
  auto m = request(st, store_purge_atom::value);
  ASSERT_TRUE(m && m->match_elements<purge_counts>());
  EXPECT_EQ(m->get_as<purge_counts>(0).keys, 1u);
  auto old = request(st, store_lookup_atom::value, idempotency_key{"old"});
  EXPECT_EQ(old->get_as<key_record>(0).state, key_state::absent);
  auto fresh = request(st, store_lookup_atom::value, idempotency_key{"new"});
  EXPECT_EQ(fresh->get_as<key_record>(0).state, key_state::completed);
}

TEST_F(store_actor_test, the_actor_purges_on_its_own_by_the_configured_retention_hours) {
  phoenix::runtime::config_table section;
  section["retention_hours"] = {std::int64_t{48}, 3};
  auto cfg = store_config_from(section, "node.toml");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  auto opts = actor_options(*cfg);
  EXPECT_EQ(opts.retention, std::chrono::hours{48});
  EXPECT_EQ(opts.purge_interval, std::chrono::hours{1});
  EXPECT_EQ(opts.health_interval, std::chrono::seconds{2});
  auto st = spawn_store(opts, true);
  send(st, store_request::complete({"old"}));
  send(st, store_request::claim({"claimed-long-ago"}));
  advance_time(500us);
  now += std::chrono::hours{2};
  send(st, store_request::complete({"newer"}));
  advance_time(500us);
  auto state = [&](const char* k) {
    return request(st, store_lookup_atom::value, idempotency_key{k})
        ->get_as<key_record>(0)
        .state;
  };
  now += std::chrono::hours{47}; // "old" is 49 h old, "newer" 47 h
  EXPECT_EQ(state("old"), key_state::completed) << "no purge before its timer";
  advance_time(std::chrono::hours{1}); // the purge timer
  EXPECT_EQ(state("old"), key_state::absent);
  EXPECT_EQ(state("newer"), key_state::completed);
  EXPECT_EQ(state("claimed-long-ago"), key_state::claimed) << "a live lease is not history";
}

TEST_F(store_actor_test, a_missing_saga_is_not_found_and_a_stored_one_comes_back) {
  auto st = spawn_store();
  auto missing = ask<saga_record>(st, store_saga_atom::value, saga_id{"nope"});
  ASSERT_TRUE(missing->done);
  EXPECT_TRUE(is_store_error(missing->err, store_errc::not_found))
      << phoenix::runtime::describe(missing->err);
  saga_op op;
  op.state.id = {"s"};
  op.state.topic = "leads";
  op.state.partition = 1;
  send(st, store_request{{op}});
  advance_time(500us);
  auto found = request(st, store_saga_atom::value, saga_id{"s"});
  ASSERT_TRUE(found && found->match_elements<saga_record>());
  EXPECT_EQ(found->get_as<saga_record>(0).version, 1);
  auto list = request(st, store_sagas_atom::value, std::string{"leads"}, std::int32_t{1});
  ASSERT_TRUE(list && list->match_elements<saga_list>());
  EXPECT_EQ(list->get_as<saga_list>(0).size(), 1u);
}

TEST_F(store_actor_test, an_orderly_stop_writes_the_requests_still_in_the_window) {
  auto st = spawn_store();
  auto w = send(st, store_request::claim({"k"}));
  run();
  caf::anon_send_exit(st, caf::exit_reason::user_shutdown);
  run();
  ASSERT_TRUE(w->done);
  ASSERT_TRUE(w->value) << phoenix::runtime::describe(w->err);
}

// -- real threads -------------------------------------------------------------------

TEST(store_actor_threads, two_store_actors_on_one_file_give_each_key_one_winner) {
  temp_dir dir;
  store_config cfg;
  cfg.path = dir.file("shared");
  phoenix::persistence::testing::expect_one_winner_per_key(cfg);
}

TEST(store_actor_threads, one_winner_per_key_while_both_actors_sort_their_key_logs) {
  temp_dir dir;
  store_config cfg;
  cfg.path = dir.file("shared-runs");
  cfg.key_log_rows = 3; // either actor may find the other's keys moved into runs
  phoenix::persistence::testing::expect_one_winner_per_key(cfg);
}

TEST(store_actor_threads, start_store_reports_what_failed) {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  store_config cfg;
  cfg.backend = "mongo";
  auto bad = start_store(sys, cfg);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), phoenix::runtime::errc::config_bad_value);
  EXPECT_NE(bad.error().message().find("[store] backend"), std::string::npos);
  cfg = {};
  cfg.path = "/nonexistent-dir/x.db";
  cfg.origin = "node.toml";
  store_link link;
  auto unopenable = start_store(sys, cfg, link);
  ASSERT_FALSE(unopenable);
  EXPECT_EQ(unopenable.error().code(), store_errc::store_unavailable);
  EXPECT_EQ(
      unopenable.error().message().rfind(
          "node.toml: [store] path: cannot open SQLite database '/nonexistent-dir/x.db'",
          0),
      0u)
      << unopenable.error().message();
  EXPECT_FALSE(link.ready());
  EXPECT_FALSE(link.actor());
  EXPECT_EQ(store_child(cfg).id, "store");
}

TEST(store_actor_threads, the_link_follows_the_store_actor_through_stop_and_restart) {
  temp_dir dir;
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  store_config cfg;
  cfg.path = dir.file("link");
  store_link link;
  EXPECT_FALSE(link.ready());
  EXPECT_EQ(link.reason(), "store not started");
  auto first = start_store(sys, cfg, link);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_TRUE(link.ready());
  EXPECT_EQ(link.actor(), *first);
  EXPECT_EQ(link.reason(), "");

  caf::scoped_actor self{sys};
  self->monitor(*first);
  caf::anon_send_exit(*first, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  // CAF runs the down notification and the link's exit hook in either order.
  for (int i = 0; i < 1000 && link.ready(); ++i)
    std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(link.ready());
  EXPECT_FALSE(link.actor());
  EXPECT_NE(link.reason().find("store actor stopped"), std::string::npos) << link.reason();

  auto second = start_store(sys, cfg, link);
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_TRUE(link.ready());
  EXPECT_EQ(link.actor(), *second);
  // Reports of an actor the link no longer names change nothing.
  link.report((*first).address(), false, "stale");
  link.detach((*first).address(), "stale");
  EXPECT_TRUE(link.ready());
  EXPECT_EQ(link.actor(), *second);
  caf::anon_send_exit(*second, caf::exit_reason::user_shutdown);
}

} // namespace
