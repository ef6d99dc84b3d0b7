// The SQLite backend: the conformance suite, and what only SQLite has (pragmas, files).

#include "phoenix/persistence/store.hpp"
#include "testing/sqlite_query.hpp"
#include "testing/store_conformance.hpp"
#include "testing/temp_dir.hpp"

#include <fstream>
#include <sqlite3.h>

namespace {

using namespace phoenix::persistence;
using phoenix::persistence::testing::store_backend;
using phoenix::persistence::testing::store_conformance;
using phoenix::persistence::testing::temp_dir;

temp_dir& dir() {
  static temp_dir d;
  return d;
}

store_config sqlite_config(const std::string& path) {
  store_config cfg;
  cfg.backend = "sqlite";
  cfg.path = path;
  return cfg;
}

// sqlite_runs: a key log of one key, so that every batch first sorts the log into a run
// (or appends it to the newest) and every fourth run merges; the suite then finds its
// keys in runs, merged runs and the log alike.
INSTANTIATE_TEST_SUITE_P(
    sqlite, store_conformance,
    ::testing::Values(store_backend{"sqlite",
                                    [] { return sqlite_config(dir().file("c")); }},
                      store_backend{"sqlite_runs",
                                    [] {
                                      auto cfg = sqlite_config(dir().file("r"));
                                      cfg.key_log_rows = 1;
                                      return cfg;
                                    }}),
    phoenix::persistence::testing::backend_name);

/// The first column of the first row of `sql`, read on a connection of its own.
std::string query(const std::string& path, const std::string& sql) {
  auto column = phoenix::persistence::testing::sqlite_column(path, sql);
  return column.empty() ? "" : column.front();
}

std::string pragma(const std::string& path, const std::string& name) {
  return query(path, "PRAGMA " + name);
}

TEST(sqlite_store, opens_in_wal_mode_at_the_latest_schema_version) {
  auto path = dir().file("wal");
  auto db = open_store(sqlite_config(path));
  ASSERT_TRUE(db) << db.error().describe();
  EXPECT_EQ(pragma(path, "journal_mode"), "wal");
  EXPECT_EQ(pragma(path, "user_version"), std::to_string(latest_schema_version("sqlite")));
  EXPECT_STREQ((*db)->backend(), "sqlite");
}

TEST(sqlite_store, a_file_that_cannot_be_created_is_store_unavailable_naming_the_path) {
  auto db = open_store(sqlite_config("/nonexistent-dir/phoenix.db"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), store_errc::store_unavailable);
  EXPECT_NE(db.error().message().find("/nonexistent-dir/phoenix.db"), std::string::npos)
      << db.error().message();
}

TEST(sqlite_store, a_file_that_is_not_a_database_is_corrupt) {
  auto path = dir().file("garbage");
  std::ofstream{path} << std::string(8192, 'x');
  auto db = open_store(sqlite_config(path));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), store_errc::corrupt) << db.error().describe();
}

TEST(sqlite_store, a_schema_newer_than_this_build_is_refused) {
  auto path = dir().file("newer");
  ASSERT_TRUE(open_store(sqlite_config(path)));
  sqlite3* raw = nullptr;
  sqlite3_open(path.c_str(), &raw);
  sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto db = open_store(sqlite_config(path));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), store_errc::migration_failed);
  EXPECT_NE(db.error().message().find("99"), std::string::npos) << db.error().message();
}

TEST(sqlite_store, unknown_backend_and_empty_path_are_bad_config) {
  auto cfg = sqlite_config("");
  EXPECT_EQ(open_store(cfg).error().code(), store_errc::bad_config);
  cfg.backend = "mysql";
  auto r = open_store(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), store_errc::bad_config);
  EXPECT_NE(r.error().message().find("mysql"), std::string::npos);
}

TEST(sqlite_store, a_wiped_schema_makes_the_store_unavailable_until_reconnect_migrates) {
  auto path = dir().file("dropped");
  auto db = open_store(sqlite_config(path));
  ASSERT_TRUE(db);
  sqlite3* raw = nullptr;
  sqlite3_open(path.c_str(), &raw);
  sqlite3_exec(raw,
               "DROP TABLE request_keys; DROP TABLE request_key_log; DROP TABLE "
               "request_key_runs; DROP TABLE request_key_layout; DROP TABLE "
               "message_traceability; DROP TABLE saga_state; DROP TABLE saga_outbox; "
               "PRAGMA user_version = 0",
               nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto t = std::chrono::system_clock::now();
  auto r = (*db)->claim({"k"}, t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), store_errc::store_unavailable) << r.error().describe();
  EXPECT_EQ((*db)->stats().failed_batches, 1u);
  ASSERT_TRUE((*db)->reconnect());
  EXPECT_EQ(*(*db)->claim({"k"}, t), claim_outcome::claimed);
}

TEST(sqlite_store, pending_outbox_rows_of_schema_3_take_the_partition_of_their_saga) {
  auto path = dir().file("schema3");
  ASSERT_TRUE(open_store(sqlite_config(path)));
  // Back to schema 3 as an older build left it, with rows that build wrote.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* err = nullptr;
  sqlite3_exec(
      raw,
      "ALTER TABLE saga_outbox DROP COLUMN saga_topic;"
      "ALTER TABLE saga_outbox DROP COLUMN saga_partition;"
      "DROP INDEX saga_state_finished;"
      "DROP TABLE request_key_log; DROP TABLE request_key_runs;"
      "DROP INDEX request_keys_released;"
      "DROP TABLE request_key_layout;"
      "PRAGMA user_version = 3;"
      "INSERT INTO saga_state VALUES ('old-2', 'lead', 'leads', 2, 'running', 0, 1, "
      "x'00', 1);"
      "INSERT INTO saga_outbox(saga_id, topic, key, payload, headers, created_at_us, "
      "published_at_us) VALUES ('old-2', 'quota', 'old-2', x'01', x'', 1, 2),"
      "('old-2', 'quota', 'old-2', x'02', x'', 1, NULL),"
      "('orphan', 'quota', 'orphan', x'03', x'', 1, NULL);",
      nullptr, nullptr, &err);
  EXPECT_EQ(err, nullptr) << err;
  sqlite3_free(err);
  sqlite3_close(raw);
  auto db = open_store(sqlite_config(path));
  ASSERT_TRUE(db) << db.error().describe();
  EXPECT_EQ(*(*db)->schema_version(), latest_schema_version("sqlite"));
  phoenix::persistence::testing::expect_rows_of_schema_3_go_out(**db);
  // Schema 5 deleted the row published before; publishing deletes the others.
  EXPECT_EQ(query(path, "SELECT count(*) FROM saga_outbox"), "2");
  auto pending = (*db)->pending_outbox(10);
  ASSERT_TRUE(pending && pending->size() == 2u);
  auto t = std::chrono::system_clock::now();
  ASSERT_TRUE((*db)->mark_published((*pending)[0].id, t));
  EXPECT_EQ(query(path, "SELECT count(*) FROM saga_outbox"), "1");
  ASSERT_TRUE((*db)->mark_published((*pending)[1].id, t));
  ASSERT_TRUE((*db)->mark_published((*pending)[1].id, t)) << "again: no effect, no error";
  EXPECT_EQ(query(path, "SELECT count(*) FROM saga_outbox"), "0");
}

} // namespace
