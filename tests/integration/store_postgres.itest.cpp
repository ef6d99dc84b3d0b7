// The PostgreSQL backend against a real PostgreSQL 15 server that the test starts
// itself (deploy/postgres/pg-temp.sh in a temporary directory) and destroys at the
// end: the conformance suite unchanged, an unreachable DSN, a server restart while
// requests flow through the store actor, and kill -9 of a writer.

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "testing/one_winner.hpp"
#include "testing/pg_temp.hpp"
#include "testing/store_conformance.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <csignal>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

using namespace phoenix::persistence;
using namespace std::chrono_literals;
using phoenix::persistence::testing::pg_temp;
using phoenix::persistence::testing::store_backend;
using phoenix::persistence::testing::store_conformance;

auto* const server = ::testing::AddGlobalTestEnvironment(new pg_temp{PHOENIX_PG_TEMP});

store_config pg_config(const std::string& dsn) {
  store_config cfg;
  cfg.backend = "postgres";
  cfg.dsn = dsn;
  return cfg;
}

INSTANTIATE_TEST_SUITE_P(postgres, store_conformance,
                         ::testing::Values(store_backend{
                             "postgres",
                             [] { return pg_config(pg_temp::get().create_database()); }}),
                         phoenix::persistence::testing::backend_name);

TEST(store_postgres, an_unreachable_server_is_store_unavailable_without_the_password) {
  auto cfg = pg_config("host=127.0.0.1 port=1 user=phoenix password=s3cret dbname=x");
  auto db = open_store(cfg);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), store_errc::store_unavailable);
  EXPECT_NE(db.error().message().find("cannot connect to PostgreSQL"), std::string::npos)
      << db.error().message();
  EXPECT_NE(db.error().message().find("password=***"), std::string::npos);
  EXPECT_EQ(db.error().message().find("s3cret"), std::string::npos);

  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  cfg.origin = "node.toml";
  auto started = start_store(sys, cfg);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message().rfind(
                "node.toml: [store] dsn: cannot connect to PostgreSQL", 0),
            0u)
      << started.error().message();
}

TEST(store_postgres, schema_sys_holds_the_tables_at_the_latest_version) {
  auto dsn = pg_temp::get().create_database();
  auto db = open_store(pg_config(dsn));
  ASSERT_TRUE(db) << db.error().describe();
  auto r = phoenix::testkit::run_process(
      {"/usr/lib/postgresql/15/bin/psql", dsn, "-qAt", "-c",
       "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
       "information_schema.tables WHERE table_schema = 'sys'"},
      30s);
  EXPECT_EQ(r.out, "message_traceability,request_keys,saga_outbox,saga_state,"
                   "schema_migrations\n");
  EXPECT_EQ(*(*db)->schema_version(), latest_schema_version("postgres"));
}

TEST(store_postgres, pending_outbox_rows_of_schema_3_take_the_partition_of_their_saga) {
  auto dsn = pg_temp::get().create_database();
  ASSERT_TRUE(open_store(pg_config(dsn)));
  // Back to schema 3 as an older build left it, with rows that build wrote.
  auto r = phoenix::testkit::run_process(
      {"/usr/lib/postgresql/15/bin/psql", dsn, "-qAt", "-v", "ON_ERROR_STOP=1", "-c",
       "ALTER TABLE sys.saga_outbox DROP COLUMN saga_topic, DROP COLUMN saga_partition;"
       "DROP INDEX sys.saga_state_finished;"
       "DELETE FROM sys.schema_migrations WHERE version >= 4;"
       "INSERT INTO sys.saga_state VALUES ('old-2', 'lead', 'leads', 2, 'running', false, "
       "1, "
       "'\\x00', 1);"
       "INSERT INTO sys.saga_outbox(saga_id, topic, key, payload, headers, created_at_us, "
       "published_at_us) VALUES ('old-2', 'quota', 'old-2', '\\x01', '', 1, 2),"
       "('old-2', 'quota', 'old-2', '\\x02', '', 1, NULL),"
       "('orphan', 'quota', 'orphan', '\\x03', '', 1, NULL);"},
      30s);
  ASSERT_EQ(r.code, 0) << r.err;
  auto db = open_store(pg_config(dsn));
  ASSERT_TRUE(db) << db.error().describe();
  EXPECT_EQ(*(*db)->schema_version(), latest_schema_version("postgres"));
  phoenix::persistence::testing::expect_rows_of_schema_3_go_out(**db);
  // Schema 5 deleted the row published before; publishing deletes the others.
  auto rows = [&] {
    return phoenix::testkit::run_process({"/usr/lib/postgresql/15/bin/psql", dsn, "-qAt",
                                          "-c", "SELECT count(*) FROM sys.saga_outbox"},
                                         30s)
        .out;
  };
  EXPECT_EQ(rows(), "2\n");
  auto pending = (*db)->pending_outbox(10);
  ASSERT_TRUE(pending && pending->size() == 2u);
  auto t = std::chrono::system_clock::now();
  ASSERT_TRUE((*db)->mark_published((*pending)[0].id, t));
  ASSERT_TRUE((*db)->mark_published((*pending)[1].id, t));
  ASSERT_TRUE((*db)->mark_published((*pending)[1].id, t)) << "again: no effect, no error";
  EXPECT_EQ(rows(), "0\n");
}

TEST(store_postgres, a_batch_takes_one_statement_per_kind_not_one_per_row) {
  auto db = open_store(pg_config(pg_temp::get().create_database()));
  ASSERT_TRUE(db) << db.error().describe();
  std::vector<store_request> batch;
  for (int i = 0; i < 1000; ++i) {
    idempotency_key k{"b-" + std::to_string(i)};
    batch.push_back(store_request{
        {claim_op{k}, trace_op{{k, "leads", 0, i, "done", "n1", "", {}}}, complete_op{k}}});
  }
  const auto before = (*db)->stats().round_trips;
  auto out = (*db)->apply(batch, std::chrono::system_clock::now());
  ASSERT_TRUE(out) << out.error().describe();
  // BEGIN, claims, traces, completes, COMMIT.
  EXPECT_EQ((*db)->stats().round_trips - before, 5u);
  for (auto& r : *out)
    ASSERT_EQ(r->claims.at(0), claim_outcome::claimed);
  EXPECT_EQ((*db)->lookup({"b-999"})->state, key_state::completed);
}

TEST(store_postgres, store_actors_of_two_nodes_give_each_key_one_winner) {
  phoenix::persistence::testing::expect_one_winner_per_key(
      pg_config(pg_temp::get().create_database()));
}

// Sends claim+complete requests through the store actor from a thread of its own.
struct request_flow {
  std::mutex mtx;
  std::vector<std::string> acked;
  std::vector<std::string> other_errors;
  std::atomic<int> unavailable{0};
  std::atomic<int> ok{0};
  std::atomic<bool> stop{false};

  void run(caf::actor_system& sys, caf::actor store) {
    caf::scoped_actor self{sys};
    for (int i = 0; !stop; ++i) {
      std::string k = "flow-" + std::to_string(i);
      self->request(store, 30s, store_apply_atom::value,
                    store_request{{claim_op{{k}}, complete_op{{k}}}})
          .receive(
              [&](reply&) {
                std::lock_guard<std::mutex> g{mtx};
                acked.push_back(k);
                ++ok;
              },
              [&](caf::error& e) {
                if (is_store_error(e, store_errc::store_unavailable)) {
                  ++unavailable;
                  std::this_thread::sleep_for(5ms);
                } else {
                  std::lock_guard<std::mutex> g{mtx};
                  other_errors.push_back(phoenix::runtime::describe(e));
                }
              });
    }
  }
};

template <class F>
bool eventually(F f, std::chrono::seconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::pair<bool, std::string> health(caf::actor_system& sys, const caf::actor& store) {
  caf::scoped_actor self{sys};
  std::pair<bool, std::string> out{false, "no answer"};
  self->request(store, 10s, store_health_atom::value)
      .receive(
          [&](bool up, std::string& err) {
            out = {up, err};
          },
          [](caf::error&) {});
  return out;
}

TEST(store_postgres,
     a_server_restart_fails_requests_as_unavailable_then_recovers_losing_nothing) {
  auto& pg = pg_temp::get();
  auto cfg = pg_config(pg.create_database());
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto db = open_store(cfg);
  ASSERT_TRUE(db) << db.error().describe();
  auto opts = actor_options(cfg);
  opts.reconnect_min = 20ms;
  opts.reconnect_max = 200ms;
  auto store = spawn_store_actor(sys, std::move(*db), opts);
  request_flow flow;
  std::thread client{[&] { flow.run(sys, store); }};

  ASSERT_TRUE(eventually([&] { return flow.ok > 100; }, 30s));
  pg.stop();
  EXPECT_TRUE(eventually([&] { return flow.unavailable > 0; }, 30s));
  EXPECT_FALSE(health(sys, store).first);
  EXPECT_NE(health(sys, store).second, "");
  const int ok_during_outage = flow.ok;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(flow.ok, ok_during_outage) << "nothing succeeds while the server is down";
  pg.start();
  EXPECT_TRUE(eventually([&] { return flow.ok > ok_during_outage + 100; }, 30s))
      << "requests succeed again after reconnect";
  EXPECT_TRUE(health(sys, store).first);
  flow.stop = true;
  client.join();
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);

  EXPECT_TRUE(flow.other_errors.empty()) << flow.other_errors.front();
  auto check = open_store(cfg);
  ASSERT_TRUE(check) << check.error().describe();
  for (const auto& k : flow.acked)
    ASSERT_EQ((*check)->lookup({k})->state, key_state::completed) << k;
  std::printf("restart: %d acknowledged, %d failed as store_unavailable\n", flow.ok.load(),
              flow.unavailable.load());
}

TEST(store_postgres, kill_9_of_a_writer_loses_no_acknowledged_key) {
  auto cfg = pg_config(pg_temp::get().create_database());
  constexpr std::size_t batch = 50;
  phoenix::testkit::child_process writer{
      {PHOENIX_CRASH_WRITER, "postgres", cfg.dsn, "pg-", std::to_string(batch)}};
  ASSERT_TRUE(writer.wait_for_stdout("ack 20 ", 60s)) << writer.err();
  std::this_thread::sleep_for(7ms);
  writer.signal(SIGKILL);
  EXPECT_EQ(writer.wait(10s), 128 + SIGKILL);
  std::istringstream in{writer.out()};
  std::string word;
  std::size_t b = 0, first = 0, last = 0, acked_last = 0, batches = 0;
  while (in >> word >> b >> first >> last && word == "ack") {
    acked_last = last;
    ++batches;
  }
  ASSERT_GT(batches, 20u);
  auto db = open_store(cfg);
  ASSERT_TRUE(db) << db.error().describe();
  for (std::size_t i = 0; i <= acked_last + 4 * batch; ++i) {
    auto k = (*db)->lookup({"pg-" + std::to_string(i)});
    ASSERT_TRUE(k);
    if (i <= acked_last)
      ASSERT_EQ(k->state, key_state::completed) << i;
    else
      EXPECT_NE(k->state, key_state::claimed) << i << ": half a request";
  }
}

} // namespace
