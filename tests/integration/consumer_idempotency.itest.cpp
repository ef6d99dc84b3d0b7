// The idempotent consumer on the mock cluster with a real SQLite store: duplicated input
// (one key many times, across partitions and lanes) has its effect once, keys already
// complete are skipped and committed, a key whose handler crashed is processed again,
// and two consumer groups keep their own keys.

#include "consumer_fixture.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/idempotency_key.hpp"
#include "testing/temp_dir.hpp"

#include <random>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

class idempotent_consumer_test : public group_consumer_test {
protected:
  persistence::testing::temp_dir dir;
  persistence::store_config store_cfg;
  persistence::store_link link;
  caf::actor store;

  void SetUp() override {
    group_consumer_test::SetUp();
    store_cfg.path = dir.file("idem");
    auto st = persistence::start_store(*sys, store_cfg, link);
    ASSERT_TRUE(st) << st.error().describe();
    store = *st;
  }

  void TearDown() override {
    stop();
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    store = nullptr; // the actor system waits for the last handle to a detached actor
    group_consumer_test::TearDown();
  }

  kafka::group_consumer_config idempotent_config() {
    auto cfg = config();
    cfg.idempotency.store = link;
    return cfg;
  }

  // `copies` records per key k0..k<keys-1>, each copy with another Kafka key (so they
  // spread over partitions and lanes), shuffled; the idempotency-key header is the key.
  void produce_duplicates(int keys, int copies) {
    std::vector<std::pair<int, int>> order;
    for (int k = 0; k < keys; ++k)
      for (int c = 0; c < copies; ++c)
        order.emplace_back(k, c);
    std::shuffle(order.begin(), order.end(), std::mt19937{7});
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    for (auto [k, c] : order) {
      runtime::envelope env;
      env.id = "copy-" + std::to_string(k) + "-" + std::to_string(c); // ids differ
      env.source = "/test";
      env.type = "payment";
      env.idempotency_key = "pay-" + std::to_string(k);
      env.payload = "{}";
      ASSERT_TRUE(p->produce(topic, "kafka-key-" + std::to_string(k * 31 + c), env.payload,
                             runtime::encode_headers(env)));
    }
    ASSERT_TRUE(p->flush(10s));
  }

  persistence::key_state key_state(const std::string& scope, const std::string& key) {
    caf::scoped_actor self{*sys};
    persistence::key_state out = persistence::key_state::absent;
    self->request(store, 10s, persistence::store_lookup_atom::value,
                  persistence::idempotency_key{scope + "|" + key})
        .receive([&](persistence::key_record& r) { out = r.state; },
                 [](caf::error& e) { ADD_FAILURE() << runtime::describe(e); });
    return out;
  }

  // Nothing committed is left claimed: the key of every event lead-0.. ends complete, or
  // (the one given up) released.
  void expect_keys(int events, int given_up = -1) {
    for (int i = 0; i < events; ++i) {
      auto key = runtime::idempotency_key_from_event("/test", "lead-" + std::to_string(i));
      EXPECT_EQ(key_state(group, key), i == given_up ? persistence::key_state::absent
                                                     : persistence::key_state::completed)
          << "lead-" << i;
    }
  }
};

// Effects per idempotency key, counted only when the handler finishes.
struct effects {
  std::mutex mtx;
  std::map<std::string, int> by_key;
  void add(const runtime::envelope_view& env) {
    std::lock_guard<std::mutex> g{mtx};
    ++by_key[std::string(env.idempotency_key.value_or(env.id))];
  }
  std::map<std::string, int> snapshot() {
    std::lock_guard<std::mutex> g{mtx};
    return by_key;
  }
};

TEST_F(idempotent_consumer_test, duplicated_input_across_partitions_has_its_effect_once) {
  constexpr int keys = 60;
  constexpr int copies = 6;
  produce_duplicates(keys, copies);
  auto fx = std::make_shared<effects>();
  auto cfg = idempotent_config();
  cfg.key_concurrency = 3; // copies of one key also meet in different lanes
  start(
      [fx](const runtime::envelope_view& env, const kafka::record_view&) {
        fx->add(env);
        return kafka::handler_status::done;
      },
      cfg);
  ASSERT_TRUE(eventually([&] {
    return stats->handled.load() + stats->duplicates.load() == keys * copies;
  })) << "handled "
      << stats->handled << ", duplicates " << stats->duplicates;
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  auto seen = fx->snapshot();
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(keys));
  for (auto& [key, n] : seen)
    EXPECT_EQ(n, 1) << key << " had its effect " << n << " times";
  EXPECT_EQ(stats->handled.load(), static_cast<std::uint64_t>(keys));
  EXPECT_EQ(stats->duplicates.load(), static_cast<std::uint64_t>(keys * (copies - 1)));
  EXPECT_EQ(key_state(group, "h:pay-0"), persistence::key_state::completed);
  EXPECT_EQ(stats->store_waiting.load(), 0);
  expect_all_committed();
}

TEST_F(idempotent_consumer_test, keys_complete_before_are_skipped_counted_and_committed) {
  produce_events(0, 90);
  { // the first 30 events were handled by an earlier run of this group
    caf::scoped_actor self{*sys};
    persistence::store_request done;
    for (int i = 0; i < 30; ++i)
      done.ops.emplace_back(persistence::complete_op{
          {group + "|" +
           runtime::idempotency_key_from_event("/test", "lead-" + std::to_string(i))}});
    self->request(store, 10s, persistence::store_apply_atom::value, done)
        .receive([](persistence::reply&) {},
                 [](caf::error& e) { ADD_FAILURE() << runtime::describe(e); });
  }
  start([this](const runtime::envelope_view& env,
               const kafka::record_view&) { return record_done(*seen, env); },
        idempotent_config());
  ASSERT_TRUE(eventually([&] { return stats->handled + stats->duplicates == 90; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->duplicates.load(), 30u);
  EXPECT_EQ(seen->done_count(), 60u);
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(seen->calls.count("lead-" + std::to_string(i)), 0u) << i;
  expect_all_committed();
}

TEST_F(idempotent_consumer_test, a_key_claimed_by_a_crashed_run_is_processed_again_once) {
  produce_events(0, 120);
  auto crashed = std::make_shared<std::set<std::string>>();
  auto mtx = std::make_shared<std::mutex>();
  start(
      [this, crashed, mtx](const runtime::envelope_view& env, const kafka::record_view&) {
        auto n = std::stoi(std::string(env.id.substr(5)));
        if (n % 10 == 3) {
          std::lock_guard<std::mutex> g{*mtx};
          if (crashed->insert(std::string(env.id)).second) // its claim stays behind
            throw std::runtime_error("injected crash on " + std::string(env.id));
        }
        return record_done(*seen, env);
      },
      idempotent_config());
  ASSERT_TRUE(eventually([&] { return stats->handled == 120; }))
      << "handled " << stats->handled;
  ASSERT_TRUE(eventually([&] { return all_committed(); }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->restarts.load(), 12u);
  EXPECT_EQ(seen->done_count(), 120u);
  for (auto& [id, calls] : seen->calls)
    EXPECT_EQ(calls, 1) << id << " ran " << calls << " times to completion";
  // What a crashed lane had finished but not yet completed in the store, it handed to
  // the store on its way out: its successor finds those keys complete.
  std::printf("skipped after crashes: %llu\n",
              static_cast<unsigned long long>(stats->duplicates.load()));
}

TEST_F(idempotent_consumer_test,
       a_lane_crashing_while_the_store_is_down_keeps_its_completions) {
  constexpr int events = 90;
  produce_events(0, events);
  auto cfg = idempotent_config();
  cfg.idempotency.retry_min = 20ms;
  cfg.idempotency.retry_max = 200ms;
  auto crashed = std::make_shared<std::atomic<bool>>(false);
  start(
      [this, crashed, old = store, link = link](const runtime::envelope_view& env,
                                                const kafka::record_view&) {
        // Halfway through its batch, the store goes away and then the lane crashes: the
        // completions of the records it finished before are not written yet.
        if (env.id == "lead-45" && !crashed->exchange(true)) {
          caf::anon_send_exit(old, caf::exit_reason::user_shutdown);
          for (int i = 0; i < 5000 && link.actor(); ++i)
            std::this_thread::sleep_for(1ms);
          throw std::runtime_error("injected crash on lead-45 with the store down");
        }
        return record_done(*seen, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return crashed->load() && stats->restarts.load() > 0; }));
  ASSERT_TRUE(eventually([&] { return stats->store_waiting.load() > 0; }))
      << "no lane noticed the outage";
  ASSERT_FALSE(link.actor());
  auto st = persistence::start_store(*sys, store_cfg, link); // the store comes back
  ASSERT_TRUE(st) << st.error().describe();
  store = *st;
  ASSERT_TRUE(eventually([&] { return seen->done_count() == events; }))
      << "handled " << seen->done_count();
  ASSERT_TRUE(eventually([&] { return all_committed(); }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->restarts.load(), 1u);
  for (auto& [id, calls] : seen->calls)
    EXPECT_EQ(calls, 1) << id << " ran " << calls << " times to completion";
  expect_keys(events);
}

TEST_F(idempotent_consumer_test, a_record_given_up_after_crashes_has_its_key_released) {
  constexpr int events = 40;
  produce_events(0, events);
  auto cfg = idempotent_config();
  start(
      [this](const runtime::envelope_view& env, const kafka::record_view&) {
        if (env.id == "lead-17")
          throw std::runtime_error("injected crash on lead-17, every time");
        return record_done(*seen, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return seen->done_count() == events - 1; }))
      << "handled " << seen->done_count();
  ASSERT_TRUE(eventually([&] { return all_committed(); }))
      << "the given-up record was not committed";
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->restarts.load(), static_cast<std::uint64_t>(cfg.max_crashes_per_record));
  EXPECT_EQ(stats->rejected.load(), 1u);
  EXPECT_EQ(seen->calls.count("lead-17"), 0u);
  expect_keys(events, 17);
}

TEST_F(idempotent_consumer_test, two_consumer_groups_keep_their_own_keys) {
  produce_events(0, 40);
  auto other_stats = std::make_shared<kafka::consumer_stats>();
  auto other_seen = std::make_shared<seen_log>();
  start([this](const runtime::envelope_view& env,
               const kafka::record_view&) { return record_done(*seen, env); },
        idempotent_config());
  auto other_cfg = idempotent_config();
  const auto billing = unique_name("billing");
  other_cfg.properties["group.id"] = billing;
  auto other = start_consumer(
      [other_seen](const runtime::envelope_view& env, const kafka::record_view&) {
        return record_done(*other_seen, env);
      },
      other_cfg, other_stats);
  ASSERT_TRUE(eventually([&] {
    return seen->done_count() == 40 && other_seen->done_count() == 40;
  })) << seen->done_count()
      << " / " << other_seen->done_count();
  EXPECT_TRUE(runtime::is_normal_exit(stop(other)));
  EXPECT_EQ(stats->duplicates.load() + other_stats->duplicates.load(), 0u);
  EXPECT_EQ(key_state(billing, runtime::idempotency_key_from_event("/test", "lead-7")),
            persistence::key_state::completed);
  EXPECT_EQ(key_state(group, runtime::idempotency_key_from_event("/test", "lead-7")),
            persistence::key_state::completed);
}

TEST_F(idempotent_consumer_test, a_bad_scope_fails_the_start_naming_it) {
  auto cfg = idempotent_config();
  cfg.idempotency.scope = "a|b";
  auto r = try_start(cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("idempotency scope \"a|b\""), std::string::npos)
      << r.error().message();
}

} // namespace
