#pragma once

// The store conformance suite: every backend must pass it unchanged. A test binary
// includes this header once and instantiates it with its backend:
//
//   INSTANTIATE_TEST_SUITE_P(sqlite, store_conformance,
//                            ::testing::Values(store_backend{"sqlite", fresh_sqlite}));
//
// `fresh` returns the config of a new, empty database for each test.

#include "phoenix/persistence/store.hpp"

#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <ostream>
#include <thread>

namespace phoenix::persistence::testing {

struct store_backend {
  std::string name;
  std::function<store_config()> fresh;
};

inline void PrintTo(const store_backend& b, std::ostream* os) {
  *os << b.name;
}

inline std::string backend_name(const ::testing::TestParamInfo<store_backend>& info) {
  return info.param.name;
}

inline std::unique_ptr<store> must_open(const store_config& cfg) {
  auto r = open_store(cfg);
  if (!r) {
    ADD_FAILURE() << "open_store: " << r.error().describe();
    return nullptr;
  }
  return std::move(*r);
}

class store_conformance : public ::testing::TestWithParam<store_backend> {
protected:
  void SetUp() override {
    cfg = GetParam().fresh();
    db = must_open(cfg);
    ASSERT_TRUE(db);
  }

  static idempotency_key key(const std::string& k) { return {k}; }

  claim_outcome claim(const std::string& k, time_point now,
                      std::chrono::milliseconds lease = std::chrono::minutes{5}) {
    auto r = db->claim(key(k), now, lease);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : claim_outcome::in_progress;
  }

  std::vector<result<reply>> apply(const std::vector<store_request>& batch,
                                   time_point now) {
    auto r = db->apply(batch, now);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : std::vector<result<reply>>{};
  }

  store_config cfg;
  std::unique_ptr<store> db;
  // A fixed wall clock: 2026-01-01T00:00:00Z. Nothing in the suite sleeps.
  const time_point t0 = time_point{std::chrono::seconds{1767225600}};
};

TEST_P(store_conformance, first_claim_wins_later_claims_see_progress_then_completion) {
  EXPECT_EQ(claim("k1", t0), claim_outcome::claimed);
  EXPECT_EQ(claim("k1", t0), claim_outcome::in_progress);
  ASSERT_TRUE(db->complete(key("k1"), t0));
  EXPECT_EQ(claim("k1", t0 + std::chrono::hours{1}), claim_outcome::completed);
}

TEST_P(store_conformance, lookup_reports_state_and_times) {
  EXPECT_EQ(db->lookup(key("nope"))->state, key_state::absent);
  claim("k", t0, std::chrono::seconds{30});
  auto r = db->lookup(key("k"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, key_state::claimed);
  EXPECT_EQ(r->claimed_at, t0);
  EXPECT_EQ(r->lease_until, t0 + std::chrono::seconds{30});
  ASSERT_TRUE(db->complete(key("k"), t0 + std::chrono::seconds{1}));
  EXPECT_EQ(db->lookup(key("k"))->state, key_state::completed);
  EXPECT_EQ(db->lookup(key("k"))->completed_at, t0 + std::chrono::seconds{1});
}

TEST_P(store_conformance, complete_is_idempotent_and_keeps_the_first_time) {
  ASSERT_TRUE(db->complete(key("k"), t0)); // completing an unclaimed key records it
  ASSERT_TRUE(db->complete(key("k"), t0 + std::chrono::hours{2}));
  EXPECT_EQ(db->lookup(key("k"))->completed_at, t0);
}

TEST_P(store_conformance, release_lets_a_retry_claim_again_but_never_undoes_completion) {
  claim("k", t0);
  ASSERT_TRUE(db->release(key("k"), t0));
  EXPECT_EQ(claim("k", t0), claim_outcome::claimed);
  ASSERT_TRUE(db->complete(key("k"), t0));
  ASSERT_TRUE(db->release(key("k"), t0));
  EXPECT_EQ(claim("k", t0), claim_outcome::completed);
}

TEST_P(store_conformance, an_expired_lease_can_be_taken_over_an_unexpired_one_not) {
  claim("k", t0, std::chrono::seconds{10});
  EXPECT_EQ(claim("k", t0 + std::chrono::seconds{9}), claim_outcome::in_progress);
  EXPECT_EQ(claim("k", t0 + std::chrono::seconds{10}), claim_outcome::claimed);
  EXPECT_EQ(claim("k", t0 + std::chrono::seconds{15}), claim_outcome::in_progress);
}

TEST_P(store_conformance, the_owner_of_a_claim_takes_it_back_before_its_lease_ends) {
  auto take = [&](const std::string& k, const std::string& owner, time_point at) {
    auto out = apply({store_request::claim(key(k), std::chrono::minutes{5}, owner)}, at);
    return out.empty() || !out[0] ? claim_outcome::in_progress : out[0]->claims.at(0);
  };
  EXPECT_EQ(take("k", "grp/orders/0/0", t0), claim_outcome::claimed);
  EXPECT_EQ(take("k", "grp/orders/1/0", t0), claim_outcome::in_progress) << "not its own";
  EXPECT_EQ(take("k", "", t0), claim_outcome::in_progress) << "anonymous waits";
  EXPECT_EQ(take("k", "grp/orders/0/0", t0 + std::chrono::seconds{1}),
            claim_outcome::claimed)
      << "restarted under the same identity";
  ASSERT_TRUE(db->complete(key("k"), t0));
  EXPECT_EQ(take("k", "grp/orders/0/0", t0), claim_outcome::completed) << "never undone";
  // An anonymous claim is nobody's: an empty owner never matches another empty one.
  EXPECT_EQ(take("anon", "", t0), claim_outcome::claimed);
  EXPECT_EQ(take("anon", "", t0), claim_outcome::in_progress);
  // An expired lease passes to a new owner, who then holds it.
  EXPECT_EQ(take("anon", "grp/orders/2/0", t0 + std::chrono::minutes{5}),
            claim_outcome::claimed);
  EXPECT_EQ(take("anon", "grp/orders/2/0", t0 + std::chrono::minutes{5}),
            claim_outcome::claimed);
  EXPECT_EQ(take("anon", "", t0 + std::chrono::minutes{5}), claim_outcome::in_progress);
}

TEST_P(store_conformance, a_batch_applies_as_if_request_after_request_in_one_transaction) {
  const auto before = db->stats().transactions;
  std::vector<store_request> batch{
      store_request::claim(key("a")),
      store_request::claim(key("a")),
      store_request::complete(key("a")),
      store_request::claim(key("a")),
      store_request{{release_op{key("b")}, claim_op{key("b")}, claim_op{key("b")}}},
      store_request{{claim_op{key("c")}, release_op{key("c")}, claim_op{key("c")}}},
  };
  auto out = apply(batch, t0);
  ASSERT_EQ(out.size(), batch.size());
  for (auto& r : out)
    ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(out[0]->claims, std::vector<claim_outcome>{claim_outcome::claimed});
  EXPECT_EQ(out[1]->claims, std::vector<claim_outcome>{claim_outcome::in_progress});
  EXPECT_TRUE(out[2]->claims.empty());
  EXPECT_EQ(out[3]->claims, std::vector<claim_outcome>{claim_outcome::completed});
  EXPECT_EQ(out[4]->claims, (std::vector<claim_outcome>{claim_outcome::claimed,
                                                        claim_outcome::in_progress}));
  EXPECT_EQ(out[5]->claims,
            (std::vector<claim_outcome>{claim_outcome::claimed, claim_outcome::claimed}));
  EXPECT_EQ(db->stats().transactions, before + 1);
  EXPECT_EQ(db->stats().requests, batch.size());
}

TEST_P(store_conformance, duplicated_input_across_partitions_has_one_winner_per_key) {
  // 40 keys, each delivered 6 times (as if by 3 partitions, twice each), interleaved
  // and spread over batches of 32 requests.
  std::vector<std::pair<std::string, int>> input;
  for (int copy = 0; copy < 6; ++copy)
    for (int k = 0; k < 40; ++k)
      input.emplace_back("dup-" + std::to_string((k * 7 + copy) % 40), copy % 3);
  std::map<std::string, int> wins;
  for (std::size_t i = 0; i < input.size(); i += 32) {
    std::vector<store_request> batch;
    for (std::size_t j = i; j < std::min(input.size(), i + 32); ++j) {
      trace_record t{key(input[j].first),
                     "leads",
                     input[j].second,
                     static_cast<std::int64_t>(j),
                     "claimed",
                     "n1",
                     "",
                     {}};
      batch.push_back(store_request{{claim_op{key(input[j].first)}, trace_op{t}}});
    }
    auto out = apply(batch, t0);
    for (std::size_t j = 0; j < out.size(); ++j)
      if (out[j] && out[j]->claims.at(0) == claim_outcome::claimed)
        ++wins[input[i + j].first];
  }
  ASSERT_EQ(wins.size(), 40u);
  for (auto& [k, n] : wins)
    EXPECT_EQ(n, 1) << k;
  EXPECT_EQ(db->traces(key("dup-3"))->size(), 6u);
}

TEST_P(store_conformance, concurrent_claims_from_threads_have_exactly_one_winner) {
  constexpr int threads = 4;
  constexpr int keys = 120;
  std::vector<std::map<std::string, int>> wins(threads);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto own = open_store(cfg); // one connection per thread, as one per node
      if (!own) {
        errors[t] = own.error().describe();
        return;
      }
      for (int i = 0; i < keys; i += 10) {
        std::vector<store_request> batch;
        for (int j = i; j < i + 10; ++j) // half the threads walk the keys backwards
          batch.push_back(
              store_request::claim(key("c-" + std::to_string(t % 2 ? keys - 1 - j : j))));
        auto out = (*own)->apply(batch, t0);
        if (!out) {
          errors[t] = out.error().describe();
          return;
        }
        for (std::size_t j = 0; j < out->size(); ++j)
          if ((*out)[j]->claims.at(0) == claim_outcome::claimed)
            ++wins[t][std::get<claim_op>(batch[j].ops[0]).key.value];
      }
    });
  for (auto& th : pool)
    th.join();
  for (auto& e : errors)
    ASSERT_EQ(e, "");
  for (int k = 0; k < keys; ++k) {
    int n = 0;
    for (auto& w : wins)
      n += w.count("c-" + std::to_string(k)) ? w.at("c-" + std::to_string(k)) : 0;
    EXPECT_EQ(n, 1) << "c-" << k;
  }
}

inline saga_op saga_write(const std::string& id, std::int64_t expected, int partition,
                          bool finished, std::vector<outbox_message> outbox = {}) {
  saga_record s;
  s.id = {id};
  s.type = "lead";
  s.topic = "leads";
  s.partition = partition;
  s.status = finished ? "done" : "reserving";
  s.finished = finished;
  s.data = std::string{"state\0bytes\xff", 12};
  return saga_op{s, expected, std::move(outbox)};
}

TEST_P(store_conformance, saga_state_and_outbox_commit_together) {
  auto v = db->save_saga(
      saga_write("s1", 0, 2, false,
                 {{"quota", "s1", std::string{"p\0q", 3}, "h=1"}, {"crm", "s1", "{}", ""}}),
      t0);
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(*v, 1);
  auto s = db->load_saga({"s1"});
  ASSERT_TRUE(s && *s);
  EXPECT_EQ((*s)->version, 1);
  EXPECT_EQ((*s)->data, std::string("state\0bytes\xff", 12));
  EXPECT_EQ((*s)->partition, 2);
  EXPECT_EQ((*s)->updated_at, t0);
  auto out = db->pending_outbox(10);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].message.topic, "quota");
  EXPECT_EQ((*out)[0].message.payload, std::string("p\0q", 3));
  EXPECT_EQ((*out)[0].message.headers, "h=1");
  EXPECT_EQ((*out)[1].message.topic, "crm");
  EXPECT_LT((*out)[0].id, (*out)[1].id);
  EXPECT_EQ(*db->save_saga(saga_write("s1", 1, 2, false), t0), 2);
}

TEST_P(store_conformance, a_saga_version_conflict_fails_only_its_own_request) {
  ASSERT_TRUE(db->save_saga(saga_write("s1", 0, 0, false), t0));
  std::vector<store_request> batch{
      store_request{
          {complete_op{key("ka")}, saga_write("s1", 5, 0, true, {{"crm", "s1", "x", ""}})}},
      store_request::claim(key("kb")),
      store_request{{saga_write("s2", 1, 0, false)}}, // s2 does not exist yet
  };
  auto out = apply(batch, t0);
  ASSERT_EQ(out.size(), 3u);
  ASSERT_FALSE(out[0]);
  EXPECT_EQ(out[0].error().code(), store_errc::conflict);
  ASSERT_TRUE(out[1]);
  EXPECT_EQ(out[1]->claims.at(0), claim_outcome::claimed);
  ASSERT_FALSE(out[2]);
  EXPECT_EQ(out[2].error().code(), store_errc::conflict);
  EXPECT_EQ(db->lookup(key("ka"))->state, key_state::absent) << "rolled back with its saga";
  EXPECT_TRUE(db->pending_outbox(10)->empty());
  EXPECT_EQ((*db->load_saga({"s1"}))->version, 1);
  EXPECT_FALSE(*db->load_saga({"s2"}));
  auto again = db->save_saga(saga_write("s1", 0, 0, false), t0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), store_errc::conflict) << "a second creation conflicts";
}

TEST_P(store_conformance, a_key_a_conflicting_request_claimed_is_free_for_the_next) {
  ASSERT_TRUE(db->save_saga(saga_write("s1", 0, 0, false), t0));
  std::vector<store_request> batch{
      store_request{{claim_op{key("ka")}, saga_write("s1", 5, 0, true)}},
      store_request::claim(key("ka")),
  };
  auto out = apply(batch, t0);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_FALSE(out[0]);
  ASSERT_TRUE(out[1]);
  EXPECT_EQ(out[1]->claims.at(0), claim_outcome::claimed) << "the first claim was undone";
  EXPECT_EQ(db->lookup(key("ka"))->state, key_state::claimed);
}

TEST_P(store_conformance, a_later_saga_write_stores_every_field_whatever_changed) {
  ASSERT_TRUE(db->save_saga(saga_write("s1", 0, 1, false), t0));
  // A step: status, data and time change, the saga stays unfinished where it was.
  auto step = saga_write("s1", 1, 1, false);
  step.state.status = "enriching";
  step.state.data = "after step";
  step.state.updated_at = t0 + std::chrono::seconds{1};
  ASSERT_EQ(*db->save_saga(step, t0), 2);
  auto s = *db->load_saga({"s1"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, "enriching");
  EXPECT_EQ(s->data, "after step");
  EXPECT_EQ(s->updated_at, t0 + std::chrono::seconds{1});
  EXPECT_EQ(db->unfinished_sagas("leads", 1)->size(), 1u);
  // Moved to another partition and type: found there, no longer in the old one.
  auto moved = saga_write("s1", 2, 4, false);
  moved.state.type = "lead.v2";
  ASSERT_EQ(*db->save_saga(moved, t0), 3);
  EXPECT_EQ((*db->load_saga({"s1"}))->type, "lead.v2");
  EXPECT_TRUE(db->unfinished_sagas("leads", 1)->empty());
  EXPECT_EQ(db->unfinished_sagas("leads", 4)->size(), 1u);
  // Finished, then (by a repair) unfinished again: recovery sees each.
  ASSERT_EQ(*db->save_saga(saga_write("s1", 3, 4, true), t0), 4);
  EXPECT_TRUE(db->unfinished_sagas("leads", 4)->empty());
  EXPECT_TRUE((*db->load_saga({"s1"}))->finished);
  ASSERT_EQ(*db->save_saga(saga_write("s1", 4, 4, false), t0), 5);
  EXPECT_FALSE((*db->load_saga({"s1"}))->finished);
  EXPECT_EQ(db->unfinished_sagas("leads", 4)->size(), 1u);
  // A stale version changes nothing, whichever kind of write it is.
  for (bool finished : {false, true}) {
    auto stale = db->save_saga(saga_write("s1", 3, 4, finished), t0);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code(), store_errc::conflict);
    EXPECT_NE(stale.error().message().find("saga s1"), std::string::npos)
        << stale.error().message();
  }
  EXPECT_EQ((*db->load_saga({"s1"}))->version, 5);
  EXPECT_FALSE((*db->load_saga({"s1"}))->finished);
}

TEST_P(store_conformance, unfinished_sagas_of_a_partition_are_found_for_recovery) {
  ASSERT_TRUE(db->save_saga(saga_write("a", 0, 1, false), t0));
  ASSERT_TRUE(db->save_saga(saga_write("b", 0, 1, true), t0));
  ASSERT_TRUE(db->save_saga(saga_write("c", 0, 2, false), t0));
  ASSERT_TRUE(db->save_saga(saga_write("d", 0, 1, false), t0));
  ASSERT_TRUE(db->save_saga(saga_write("d", 1, 1, true), t0));
  auto r = db->unfinished_sagas("leads", 1);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id.value, "a");
}

TEST_P(store_conformance, sagas_are_listed_by_id_with_or_without_a_status) {
  ASSERT_TRUE(db->save_saga(saga_write("c", 0, 1, false), t0));
  ASSERT_TRUE(db->save_saga(saga_write("a", 0, 1, true), t0));
  ASSERT_TRUE(db->save_saga(saga_write("b", 0, 2, false), t0));
  auto ids = [](const result<std::vector<saga_record>>& r) {
    std::vector<std::string> out;
    for (const auto& s : *r)
      out.push_back(s.id.value);
    return out;
  };
  auto all = db->list_sagas("", 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(ids(all), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*all)[0].data, std::string("state\0bytes\xff", 12));
  EXPECT_EQ(ids(db->list_sagas("reserving", 10)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ids(db->list_sagas("done", 10)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids(db->list_sagas("", 2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(db->list_sagas("paused", 10)->empty());
}

TEST_P(store_conformance, published_outbox_rows_leave_the_pending_list) {
  ASSERT_TRUE(db->save_saga(
      saga_write("s", 0, 0, false, {{"t", "s", "1", ""}, {"t", "s", "2", ""}}), t0));
  auto rows = *db->pending_outbox(10);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(db->mark_published(rows[0].id, t0));
  ASSERT_TRUE(db->mark_published(rows[0].id, t0)); // again: no effect, no error
  auto left = *db->pending_outbox(10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].message.payload, "2");
}

TEST_P(store_conformance, traces_come_back_in_time_order) {
  trace_record t{key("k"),  "leads", 3,    42,
                 "handled", "n1",    "ok", t0 + std::chrono::seconds{2}};
  ASSERT_TRUE(db->record_trace(t, t0));
  t.stage = "claimed";
  t.at = {}; // stamped with the batch's time
  ASSERT_TRUE(db->record_trace(t, t0 + std::chrono::seconds{1}));
  auto r = db->traces(key("k"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].stage, "claimed");
  EXPECT_EQ((*r)[0].at, t0 + std::chrono::seconds{1});
  EXPECT_EQ((*r)[1].stage, "handled");
  EXPECT_EQ((*r)[1].partition, 3);
  EXPECT_EQ((*r)[1].offset, 42);
  EXPECT_EQ((*r)[1].detail, "ok");
}

TEST_P(store_conformance, purge_removes_only_what_is_older_than_the_cutoff) {
  using std::chrono::hours;
  ASSERT_TRUE(db->complete(key("old"), t0));
  ASSERT_TRUE(db->complete(key("new"), t0 + hours{48}));
  claim("claimed-long-ago", t0); // a live lease is not history
  ASSERT_TRUE(db->record_trace({key("old"), "t", 0, 1, "done", "n", "", {}}, t0));
  ASSERT_TRUE(
      db->record_trace({key("new"), "t", 0, 2, "done", "n", "", {}}, t0 + hours{48}));
  auto n = db->purge(t0 + hours{24});
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_EQ(n->keys, 1u);
  EXPECT_EQ(n->traces, 1u);
  EXPECT_EQ(db->lookup(key("old"))->state, key_state::absent);
  EXPECT_EQ(db->lookup(key("new"))->state, key_state::completed);
  EXPECT_EQ(db->lookup(key("claimed-long-ago"))->state, key_state::claimed);
  EXPECT_TRUE(db->traces(key("old"))->empty());
  EXPECT_EQ(db->traces(key("new"))->size(), 1u);
  EXPECT_EQ(db->purge(t0 + hours{24})->keys, 0u) << "nothing left to purge";
}

TEST_P(store_conformance, purge_removes_finished_sagas_older_than_the_cutoff_only) {
  using std::chrono::hours;
  auto at = [](saga_op op, time_point t) {
    op.state.updated_at = t;
    return op;
  };
  ASSERT_TRUE(db->save_saga(at(saga_write("done-old", 0, 0, true), t0), t0));
  ASSERT_TRUE(db->save_saga(at(saga_write("done-new", 0, 0, true), t0 + hours{48}), t0));
  ASSERT_TRUE(db->save_saga(at(saga_write("running-old", 0, 0, false), t0), t0));
  ASSERT_TRUE(db->save_saga(at(saga_write("finished-later", 0, 0, false), t0), t0));
  ASSERT_TRUE(
      db->save_saga(at(saga_write("finished-later", 1, 0, true), t0 + hours{30}), t0));
  auto stuck = at(saga_write("stuck", 0, 0, true), t0);
  stuck.state.status = saga_status_kept;
  ASSERT_TRUE(db->save_saga(stuck, t0));
  auto n = db->purge(t0 + hours{24});
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_EQ(n->sagas, 1u);
  EXPECT_FALSE(*db->load_saga({"done-old"}));
  EXPECT_TRUE(*db->load_saga({"done-new"}));
  EXPECT_TRUE(*db->load_saga({"running-old"})) << "an unfinished saga is never history";
  EXPECT_TRUE(*db->load_saga({"finished-later"})) << "its age counts from its last write";
  EXPECT_TRUE(*db->load_saga({"stuck"})) << "a saga waiting for a person is kept";
  EXPECT_EQ(db->unfinished_sagas("leads", 0)->size(), 1u);
  EXPECT_EQ(db->purge(t0 + hours{24})->sagas, 0u) << "nothing left to purge";
  EXPECT_EQ(db->purge(t0 + hours{49})->sagas, 2u);
}

TEST_P(store_conformance, data_survives_reopening_and_migrations_run_once) {
  ASSERT_TRUE(db->complete(key("kept"), t0));
  EXPECT_EQ(*db->schema_version(), latest_schema_version(cfg.backend));
  db.reset();
  auto again = must_open(cfg);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->schema_version(), latest_schema_version(cfg.backend));
  EXPECT_EQ(again->lookup(key("kept"))->state, key_state::completed);
  EXPECT_TRUE(again->verify());
  ASSERT_TRUE(again->reconnect());
  EXPECT_EQ(again->lookup(key("kept"))->state, key_state::completed);
}

} // namespace phoenix::persistence::testing

#include "testing/outbox_conformance.hpp" // IWYU pragma: keep (more of the suite)
