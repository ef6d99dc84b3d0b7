// The SQLite store's key layout (sqlite/key_index.hpp): new keys in an append log, sorted
// into runs, small runs merged, every key in exactly one place and found from any
// connection. Counted on the database itself, read on a connection of its own.

#include "phoenix/persistence/store.hpp"
#include "sqlite/key_index.hpp"
#include "testing/sqlite_query.hpp"
#include "testing/temp_dir.hpp"

#include <gtest/gtest.h>
#include <random>
#include <sqlite3.h>

namespace {

using namespace phoenix::persistence;

const time_point t0 = time_point{std::chrono::seconds{1767225600}};

using phoenix::persistence::testing::sqlite_column;

// A count, read on a connection of its own (-1 when the query fails).
std::int64_t count(const std::string& path, const std::string& sql) {
  auto column = sqlite_column(path, sql);
  return column.empty() ? -1 : std::stoll(column.front());
}

// Rows of every key table: the log and each run the registry lists.
std::int64_t stored_keys(const std::string& path) {
  std::int64_t n = count(path, "SELECT count(*) FROM request_key_log WHERE state <> 0");
  for (auto& name : sqlite_column(path, "SELECT name FROM request_key_runs"))
    n += count(path, "SELECT count(*) FROM \"" + name + "\"");
  return n;
}

std::int64_t runs(const std::string& path) {
  return count(path, "SELECT count(*) FROM request_key_runs");
}

class key_layout : public ::testing::Test {
protected:
  std::unique_ptr<store> open(std::size_t log_rows) {
    store_config cfg;
    cfg.path = path;
    cfg.key_log_rows = log_rows;
    auto r = open_store(cfg);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : nullptr;
  }

  // Claims and completes `keys` in requests of `per_batch`, as the pipeline's lanes do.
  static void write(store& db, const std::vector<std::string>& keys, std::size_t per_batch,
                    time_point at) {
    for (std::size_t i = 0; i < keys.size(); i += per_batch) {
      std::vector<store_request> batch;
      for (std::size_t j = i; j < std::min(keys.size(), i + per_batch); ++j)
        batch.push_back(store_request{{claim_op{{keys[j]}}, complete_op{{keys[j]}}}});
      auto out = db.apply(batch, at);
      ASSERT_TRUE(out) << out.error().describe();
      for (auto& r : *out)
        ASSERT_TRUE(r && r->claims.at(0) == claim_outcome::claimed);
    }
  }

  static std::vector<std::string> random_keys(std::size_t n, unsigned seed) {
    std::mt19937_64 rng{seed};
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i)
      out.push_back("ce:" + std::to_string(rng()));
    return out;
  }

  phoenix::persistence::testing::temp_dir dir;
  std::string path = dir.file("keys");
};

TEST_F(key_layout, random_keys_move_from_the_log_into_runs_that_merge) {
  auto db = open(10);
  ASSERT_TRUE(db);
  auto keys = random_keys(400, 1);
  write(*db, keys, 7, t0);
  ASSERT_TRUE(db->maintain());
  EXPECT_EQ(stored_keys(path), 400) << "each key in exactly one table";
  EXPECT_LT(count(path, "SELECT count(*) FROM request_key_log"), 10);
  // Runs of about 10 keys merge four at a time; without merging there would be ~40.
  EXPECT_GE(runs(path), 2);
  EXPECT_LE(runs(path), 12);
  EXPECT_GT(count(path, "SELECT max(keys) FROM request_key_runs"), 10) << "none merged";
  for (auto& k : keys) {
    auto r = db->lookup({k});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->state, key_state::completed) << k;
    ASSERT_EQ(*db->claim({k}, t0), claim_outcome::completed) << k;
  }
  // And after a restart, from the database alone.
  db = open(10);
  ASSERT_TRUE(db);
  for (auto& k : keys)
    ASSERT_EQ(*db->claim({k}, t0), claim_outcome::completed) << k;
  EXPECT_EQ(db->lookup({"ce:never"})->state, key_state::absent);
}

TEST_F(key_layout, increasing_keys_are_appended_to_the_newest_run_without_new_runs) {
  auto db = open(10);
  ASSERT_TRUE(db);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    char k[32];
    std::snprintf(k, sizeof k, "ulid-%08d", i);
    keys.push_back(k);
  }
  write(*db, keys, 5, t0);
  EXPECT_EQ(runs(path), 1) << "appended to request_keys, run 0";
  EXPECT_GE(count(path, "SELECT count(*) FROM request_keys"), 290);
  EXPECT_EQ(stored_keys(path), 300);
  for (auto& k : keys)
    ASSERT_EQ(db->lookup({k})->state, key_state::completed) << k;
}

TEST_F(key_layout, two_connections_see_each_others_keys_wherever_they_moved) {
  auto a = open(4), b = open(4);
  ASSERT_TRUE(a && b);
  auto first = random_keys(50, 2), second = random_keys(50, 3);
  // a claims (without completing); the log flushes and runs merge under a.
  for (auto& k : first)
    ASSERT_EQ(*a->claim({k}, t0), claim_outcome::claimed);
  ASSERT_TRUE(a->maintain());
  // b sees them claimed, completes them (in runs a wrote), and writes keys of its own.
  for (auto& k : first) {
    ASSERT_EQ(*b->claim({k}, t0), claim_outcome::in_progress) << k;
    ASSERT_TRUE(b->complete({k}, t0));
  }
  for (auto& k : second)
    ASSERT_EQ(*b->claim({k}, t0), claim_outcome::claimed);
  // a sees both: the completions in its runs, b's claims in the log or b's runs.
  for (auto& k : first)
    ASSERT_EQ(*a->claim({k}, t0), claim_outcome::completed) << k;
  for (auto& k : second)
    ASSERT_EQ(*a->claim({k}, t0), claim_outcome::in_progress) << k;
  // A key b released in the log is free for a.
  ASSERT_EQ(*b->claim({"shared"}, t0), claim_outcome::claimed);
  ASSERT_TRUE(b->release({"shared"}, t0));
  EXPECT_EQ(*a->claim({"shared"}, t0), claim_outcome::claimed);
  EXPECT_EQ(*b->claim({"shared"}, t0), claim_outcome::in_progress);
  EXPECT_EQ(stored_keys(path), 101);
}

TEST_F(key_layout, keys_one_connection_appends_to_a_run_the_other_finds) {
  auto a = open(1000), b = open(1000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*b->claim({"id-000"}, t0), claim_outcome::claimed); // b knows the run now
  std::vector<std::string> keys;
  for (int i = 1; i <= 50; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "id-%03d", i);
    keys.push_back(k);
    ASSERT_EQ(*a->claim({k}, t0), claim_outcome::claimed);
  }
  EXPECT_EQ(count(path, "SELECT count(*) FROM request_key_log"), 0)
      << "appended, not logged";
  for (auto& k : keys)
    ASSERT_EQ(*b->claim({k}, t0), claim_outcome::in_progress) << k;
  ASSERT_TRUE(b->complete({"id-050"}, t0));
  EXPECT_EQ(*a->claim({"id-050"}, t0), claim_outcome::completed);
  // A key below the run's last goes to the log, wherever it is claimed.
  EXPECT_EQ(*b->claim({"id-025x"}, t0), claim_outcome::claimed);
  EXPECT_EQ(*a->claim({"id-025x"}, t0), claim_outcome::in_progress);
  EXPECT_EQ(count(path, "SELECT count(*) FROM request_key_log"), 1);
}

// An append rolled back (here with its request, at a saga conflict) must not leave a's
// idea of the run's end past what was committed: b then appends below it, and a must
// still find b's key.
TEST_F(key_layout, an_append_rolled_back_leaves_the_run_end_where_it_was_committed) {
  auto a = open(1000), b = open(1000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*b->claim({"id-000"}, t0), claim_outcome::claimed);
  ASSERT_EQ(*a->claim({"id-049"}, t0), claim_outcome::claimed);
  saga_op conflicting;
  conflicting.state.id = {"s1"};
  conflicting.expected_version = 5; // s1 does not exist
  auto out = a->apply({store_request{{claim_op{{"id-100"}}, conflicting}}}, t0);
  ASSERT_TRUE(out);
  ASSERT_FALSE(out->at(0)) << "the request conflicts";
  EXPECT_EQ(a->lookup({"id-100"})->state, key_state::absent);
  ASSERT_EQ(*b->claim({"id-050"}, t0), claim_outcome::claimed);
  EXPECT_EQ(*a->claim({"id-050"}, t0), claim_outcome::in_progress);
  EXPECT_EQ(stored_keys(path), 3);
}

// Releasing or purging a run's last key must not let its end move back under another
// connection: that one would read on past the end it knew and miss keys appended below.
TEST_F(key_layout, a_released_last_key_keeps_the_run_end_for_the_other_connection) {
  auto a = open(1000), b = open(1000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*b->claim({"id-000"}, t0), claim_outcome::claimed);
  ASSERT_EQ(*a->claim({"id-049"}, t0), claim_outcome::claimed);
  ASSERT_TRUE(a->release({"id-049"}, t0));
  EXPECT_EQ(a->lookup({"id-049"})->state, key_state::absent);
  ASSERT_EQ(*b->claim({"id-020"}, t0), claim_outcome::claimed);
  EXPECT_EQ(*a->claim({"id-020"}, t0), claim_outcome::in_progress);
  EXPECT_EQ(*a->claim({"id-049"}, t0), claim_outcome::claimed) << "released: free again";
}

TEST_F(key_layout, a_purged_last_key_makes_the_other_connection_read_the_run_again) {
  auto a = open(1000), b = open(1000);
  ASSERT_TRUE(a && b);
  const auto later = t0 + std::chrono::hours{2};
  write(*a, {"id-000", "id-080"}, 2, later);
  write(*a, {"id-090"}, 1, t0); // the last key, and the only old one
  ASSERT_EQ(*b->claim({"id-090"}, later), claim_outcome::completed); // b knows the end
  auto n = a->purge(t0 + std::chrono::hours{1});
  ASSERT_TRUE(n) << n.error().describe();
  ASSERT_EQ(n->keys, 1u);
  ASSERT_EQ(*a->claim({"id-085"}, later), claim_outcome::claimed); // below the old end
  EXPECT_EQ(*b->claim({"id-085"}, later), claim_outcome::in_progress);
  EXPECT_EQ(stored_keys(path), 3);
}

TEST_F(key_layout, a_log_of_released_claims_is_emptied_without_a_run) {
  auto db = open(4);
  ASSERT_TRUE(db);
  write(*db, {"~z"}, 1, t0); // request_keys ends at "~z": the keys below go to the log
  std::vector<store_request> batch; // each key claimed and given back in one request
  for (auto k : {"k1", "k2", "k3", "k4"})
    batch.push_back(store_request{{claim_op{{k}}, release_op{{k}}}});
  ASSERT_TRUE(db->apply(batch, t0));
  ASSERT_EQ(count(path, "SELECT count(*) FROM request_key_log WHERE state = 0"), 4);
  ASSERT_TRUE(db->maintain());
  EXPECT_EQ(count(path, "SELECT count(*) FROM request_key_log"), 0);
  EXPECT_EQ(runs(path), 1) << "no run for a log of released claims";
  for (auto k : {"k1", "k2", "k3", "k4"}) {
    EXPECT_EQ(db->lookup({k})->state, key_state::absent);
    EXPECT_EQ(*db->claim({k}, t0), claim_outcome::claimed);
  }
}

TEST_F(key_layout, purge_empties_and_drops_runs_and_keeps_what_is_younger) {
  auto db = open(8);
  ASSERT_TRUE(db);
  auto old_keys = random_keys(100, 4), new_keys = random_keys(30, 5);
  write(*db, old_keys, 6, t0);
  ASSERT_TRUE(db->maintain());
  const auto later = t0 + std::chrono::hours{2};
  write(*db, new_keys, 6, later);
  ASSERT_TRUE(db->maintain());
  ASSERT_GT(runs(path), 2);
  auto n = db->purge(t0 + std::chrono::hours{1});
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_EQ(n->keys, 100u);
  EXPECT_EQ(stored_keys(path), 30);
  // Runs that held only old keys are gone, tables and registry rows alike.
  EXPECT_EQ(count(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                        "name LIKE 'request_keys_run_%'"),
            runs(path) - 1);
  for (auto& k : old_keys)
    ASSERT_EQ(db->lookup({k})->state, key_state::absent) << k;
  for (auto& k : new_keys)
    ASSERT_EQ(db->lookup({k})->state, key_state::completed) << k;
  for (auto& k : old_keys)
    ASSERT_EQ(*db->claim({k}, later), claim_outcome::claimed) << "purged: new again";
}

// A run's purge bound counts a claimed key by its claim time: the key below, claimed at
// t0 in a run of keys two hours younger and completed there at half past, is purged.
TEST_F(key_layout, a_key_completed_inside_a_younger_run_is_still_purged) {
  auto db = open(4);
  ASSERT_TRUE(db);
  const auto later = t0 + std::chrono::hours{2};
  // Keys that sort last go first, to request_keys, so that the next ones make a run.
  write(*db, {"~a", "~b", "~c", "~d"}, 4, later);
  ASSERT_TRUE(db->maintain());
  ASSERT_EQ(*db->claim({"late"}, t0), claim_outcome::claimed);
  write(*db, random_keys(3, 6), 3, later);
  ASSERT_TRUE(db->maintain());
  ASSERT_EQ(runs(path), 2) << "request_keys and the run the four keys went to";
  ASSERT_EQ(count(path, "SELECT count(*) FROM request_key_log"), 0);
  ASSERT_TRUE(db->complete({"late"}, t0 + std::chrono::minutes{30}));
  auto n = db->purge(t0 + std::chrono::hours{1});
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_EQ(n->keys, 1u);
  EXPECT_EQ(db->lookup({"late"})->state, key_state::absent);
  EXPECT_EQ(stored_keys(path), 7);
}

} // namespace

namespace {

// Every key added is found; of keys never added, few pass (the bound a run's probes
// rely on: each false positive costs a B-tree lookup in that run).
TEST(key_filter, finds_every_key_added_and_few_others) {
  using phoenix::persistence::sqlite::key_filter;
  constexpr std::size_t n = 200000;
  key_filter f{n};
  for (std::size_t i = 0; i < n; ++i)
    f.add(key_filter::hash("phoenix|ce:" + std::to_string(i)));
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_TRUE(f.may_contain(key_filter::hash("phoenix|ce:" + std::to_string(i)))) << i;
  std::size_t passed = 0;
  for (std::size_t i = 0; i < n; ++i)
    passed += f.may_contain(key_filter::hash("phoenix|other:" + std::to_string(i)));
  const double rate = static_cast<double>(passed) / n;
  std::printf("false positives at capacity: %.3f %%\n", 100 * rate);
  EXPECT_LT(rate, 0.03);
}

} // namespace

namespace {

// Two keys of one hash: both rows are candidates (the statements then tell them apart by
// the key), however the table grew in between.
TEST(log_table, keeps_every_row_of_one_hash_across_growth) {
  phoenix::persistence::sqlite::log_table t;
  t.insert(42, 1);
  for (std::int64_t i = 2; i < 5000; ++i)
    t.insert(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL, i);
  t.insert(42, 5000);
  std::vector<std::int64_t> seen;
  t.each(42, [&](std::int64_t rowid) { seen.push_back(rowid); });
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 5000}));
  EXPECT_EQ(t.size(), 5000u);
  seen.clear();
  t.each(43, [&](std::int64_t rowid) { seen.push_back(rowid); });
  EXPECT_TRUE(seen.empty());
}

} // namespace
