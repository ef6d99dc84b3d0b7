// The idempotent consumer while its PostgreSQL store goes away and comes back (a real
// PostgreSQL 15 started through deploy/postgres/pg-temp.sh, the mock cluster for
// Kafka): commits stop while the store is down, the store link says not ready, the
// partitions pause at their bound, and once the server is back everything resumes by
// itself with no record lost and none applied twice. And a `phoenix run` node on that
// store: /ready over HTTP follows the store away and back.

#include "consumer_fixture.hpp"
#include "http_node.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/idempotency_key.hpp"
#include "testing/pg_temp.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::persistence::testing::pg_temp;

namespace {

using namespace phoenix::itest;

auto* const server = ::testing::AddGlobalTestEnvironment(new pg_temp{PHOENIX_PG_TEMP});

class store_outage_test : public group_consumer_test {
protected:
  persistence::store_link link;
  caf::actor store;

  void SetUp() override {
    group_consumer_test::SetUp();
    persistence::store_config cfg;
    cfg.backend = "postgres";
    cfg.dsn = pg_temp::get().create_database();
    auto st = persistence::start_store(*sys, cfg, link);
    ASSERT_TRUE(st) << st.error().describe();
    store = *st;
  }

  void TearDown() override {
    pg_temp::get().start(); // whatever the test left, the next one needs the server
    stop();
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    store = nullptr;
    group_consumer_test::TearDown();
  }
};

TEST_F(store_outage_test,
       postgres_restarted_while_consuming_loses_nothing_applies_nothing_twice) {
  constexpr int events = 3000;
  produce_events(0, events);
  auto cfg = config();
  cfg.idempotency.store = link;
  cfg.idempotency.retry_min = 20ms;
  cfg.idempotency.retry_max = 300ms;
  cfg.max_in_flight = 200; // so that the outage fills the bound and pauses partitions
  // Which event sits where, to check the committed offsets against the store.
  auto mtx = std::make_shared<std::mutex>();
  auto at = std::make_shared<std::map<std::pair<int, std::int64_t>, std::string>>();
  start(
      [this, mtx, at](const runtime::envelope_view& env, const kafka::record_view& pos) {
        std::this_thread::sleep_for(1ms); // the outage comes while lanes run a batch
        {
          std::lock_guard<std::mutex> g{*mtx};
          (*at)[{pos.partition, pos.offset}] = std::string(env.id);
        }
        return record_done(*seen, env);
      },
      cfg);
  // Stop the server once a first batch is committed, while the lanes run the next one.
  ASSERT_TRUE(eventually([&] {
    for (auto& [partition, offsets] : committed_and_end())
      if (offsets.first > 0)
        return true;
    return false;
  }));
  ASSERT_TRUE(link.ready());

  pg_temp::get().stop();
  const auto down_at = std::chrono::system_clock::now();
  ASSERT_TRUE(eventually([&] { return stats->store_waiting.load() > 0; }))
      << "no lane noticed the outage";
  ASSERT_TRUE(eventually([&] { return !link.ready(); })) << "the store link stayed ready";
  EXPECT_NE(link.reason(), "");
  ASSERT_TRUE(eventually([&] { return stats->pauses.load() > 0; }))
      << "no partition paused while its records piled up";
  // Commits stop: nothing the store has not made durable becomes committable.
  std::this_thread::sleep_for(500ms); // commits sent just before the outage land
  auto during = committed_and_end();
  auto handled_during = stats->handled.load();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(committed_and_end(), during)
      << "an offset was committed while the store was down";
  EXPECT_LT(handled_during, static_cast<std::uint64_t>(events));

  pg_temp::get().start();
  ASSERT_TRUE(eventually([&] { return seen->done_count() == events; }, 120s))
      << "handled " << seen->done_count() << " of " << events << " after the restart";
  ASSERT_TRUE(eventually([&] { return stats->store_waiting.load() == 0; }));
  EXPECT_TRUE(link.ready()) << link.reason();
  ASSERT_TRUE(eventually([&] {
    auto c = committed_and_end();
    return std::all_of(c.begin(), c.end(),
                       [](auto& p) { return p.second.first == p.second.second; });
  }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  for (auto& [id, calls] : seen->calls)
    EXPECT_EQ(calls, 1) << id << " applied " << calls << " times";
  // Every record below an offset committed during the outage had its completion
  // written before the server went down, not after it came back.
  caf::scoped_actor self{*sys};
  std::size_t checked = 0;
  std::string late;
  for (auto& entry : during)
    for (std::int64_t o = 0; o < entry.second.first && late.empty(); ++o) {
      const int partition = entry.first;
      auto key = group + "|" +
                 runtime::idempotency_key_from_event("/test", at->at({partition, o}));
      self->request(store, 10s, persistence::store_lookup_atom::value,
                    persistence::idempotency_key{key})
          .receive(
              [&](persistence::key_record& r) {
                ++checked;
                if (r.state != persistence::key_state::completed ||
                    r.completed_at > down_at)
                  late = key + " (partition " + std::to_string(partition) + ", offset " +
                         std::to_string(o) + ")";
              },
              [&](caf::error& e) { late = key + ": " + runtime::describe(e); });
    }
  EXPECT_EQ(late, "") << "committed during the outage, completed only after it";
  EXPECT_GT(checked, 0u);
  EXPECT_EQ(stats->duplicates.load(), 0u);
  EXPECT_GT(stats->store_retries.load(), 0u);
  EXPECT_GT(stats->resumes.load(), 0u);
  std::printf("outage: %llu store retries, %llu pauses, %llu handled before it\n",
              static_cast<unsigned long long>(stats->store_retries.load()),
              static_cast<unsigned long long>(stats->pauses.load()),
              static_cast<unsigned long long>(handled_during));
}

// The same outage seen from outside, on an idle `phoenix run` node whose [store] is that
// PostgreSQL: /ready turns 503 naming the store check (no record needs to fail first:
// the store actor checks its connection every 2 s) and 200 again once the server is back.
std::map<std::string, std::pair<bool, std::string>> ready_checks(httplib::Client& cli,
                                                                 int* status) {
  std::map<std::string, std::pair<bool, std::string>> out;
  auto r = cli.Get("/ready");
  *status = r ? r->status : -1;
  if (!r)
    return out;
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (body.is_discarded())
    return out;
  for (auto& c : body["checks"])
    out[c["name"].get<std::string>()] = {c["ok"].get<bool>(),
                                         c["detail"].get<std::string>()};
  return out;
}

TEST(phoenix_run_ready, ready_turns_false_while_the_store_is_away_and_true_once_back) {
  pg_temp::get().start();
  auto dsn = pg_temp::get().create_database();
  running_node n{"[store]\nbackend = \"postgres\"\ndsn = \"" + dsn + "\"\n"};
  ASSERT_GT(n.port, 0);
  httplib::Client cli{"127.0.0.1", n.port};
  auto wait_ready = [&](bool want, std::chrono::seconds bound) {
    auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
      int status = 0;
      auto checks = ready_checks(cli, &status);
      auto store = checks.find("store");
      if (store != checks.end() && store->second.first == want &&
          status == (want ? 200 : 503))
        return checks;
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "/ready did not become " << (want ? "200" : "503")
                      << " with store ok=" << want << " (last status " << status << ")\n"
                      << n.node->err();
        return checks;
      }
      std::this_thread::sleep_for(50ms);
    }
  };
  wait_ready(true, 30s);
  pg_temp::get().stop();
  auto down = wait_ready(false, 30s);
  EXPECT_NE(down["store"].second, "") << "the failing check says why";
  pg_temp::get().start();
  auto up = wait_ready(true, 60s);
  EXPECT_EQ(up["store"].second, "takes writes");
}

} // namespace
