// Flow control of the group consumer: per-key concurrency under the commit rule, the
// in-flight bound with pause/resume, and actor handlers.

#include "consumer_fixture.hpp"

#include <atomic>
#include <caf/event_based_actor.hpp>
#include <random>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

// Produces `n` events whose keys cycle through `keys` distinct values, numbered from
// `first` (ids "ev-<i>", payload "<i>").
void produce_keyed(const testkit::client_properties_map& client, const std::string& topic,
                   int n, int keys, int first = 0) {
  auto p = kafka::producer::create(client, "test");
  ASSERT_TRUE(p.has_value()) << p.error().describe();
  for (int i = first; i < first + n; ++i) {
    runtime::envelope env;
    env.id = "ev-" + std::to_string(i);
    env.source = "/test";
    env.type = "t";
    env.payload = std::to_string(i);
    ASSERT_TRUE(p->produce(topic, "key-" + std::to_string(i % keys), env.payload,
                           runtime::encode_headers(env)));
  }
  ASSERT_TRUE(p->flush(10s));
}

class consumer_flow_test : public group_consumer_test {
protected:
  consumer_flow_test() { partitions = 1; }
};

TEST_F(consumer_flow_test, per_key_concurrency_keeps_each_key_in_order) {
  produce_keyed(client_properties(), topic, 800, 16);
  struct observed {
    std::mutex mtx;
    std::map<std::string, std::vector<int>> by_key; // payload sequence per key
    std::atomic<int> running{0};
    std::atomic<int> most_at_once{0};
  };
  auto obs = std::make_shared<observed>();
  auto cfg = config();
  cfg.key_concurrency = 4;
  start(
      [obs](const runtime::envelope_view& env, const kafka::record_view&) {
        auto now = ++obs->running;
        for (auto m = obs->most_at_once.load();
             now > m && !obs->most_at_once.compare_exchange_weak(m, now);) {
        }
        // Uneven handler times make lanes finish out of order.
        auto n = std::stoi(std::string(env.payload));
        std::this_thread::sleep_for(std::chrono::microseconds{(n * 7919) % 900});
        {
          std::lock_guard<std::mutex> g{obs->mtx};
          obs->by_key[std::to_string(n % 16)].push_back(n);
        }
        --obs->running;
        return kafka::handler_status::done;
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return stats->handled.load() == 800; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_GT(obs->most_at_once.load(), 1) << "lanes never ran at the same time";
  ASSERT_EQ(obs->by_key.size(), 16u);
  for (auto& [key, seq] : obs->by_key) {
    EXPECT_EQ(seq.size(), 50u) << key;
    EXPECT_TRUE(std::is_sorted(seq.begin(), seq.end())) << "key " << key << " out of order";
  }
  expect_all_committed();
}

TEST_F(consumer_flow_test, slow_handler_pauses_the_partition_at_its_bound_and_resumes_it) {
  produce_keyed(client_properties(), topic, 600, 1);
  auto cfg = config();
  cfg.max_in_flight = 40;
  cfg.poll_batch = 100;
  auto log = seen;
  start(
      [log](const runtime::envelope_view& env, const kafka::record_view&) {
        std::this_thread::sleep_for(2ms);
        log->add(env.id, true);
        return kafka::handler_status::done;
      },
      cfg);
  // Paused, the partition holds what the consumer queue had of it (about 560 records,
  // more than a second of work); what librdkafka fetches meanwhile waits in the partition's
  // own queue, and past the bound the partition is paused at librdkafka too.
  ASSERT_TRUE(eventually([&] { return stats->pauses.load() >= 1; }));
  ASSERT_NO_FATAL_FAILURE(produce_keyed(client_properties(), topic, 300, 1, 600));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 900; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_LE(stats->max_in_flight.load(), 40u) << "in-flight bound exceeded";
  EXPECT_GE(stats->resumes.load(), 1u);
  EXPECT_GE(stats->fetch_pauses.load(), 1u) << "what was fetched while paused is unbounded";
  for (auto& [id, n] : seen->calls)
    EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(stats->consumed.load(), 900u) << "pausing re-fetched or lost records";
  expect_all_committed();
}

using handle_atom = kafka::handle_atom;

TEST_F(consumer_flow_test, actor_handler_gets_each_record_and_its_reply_counts) {
  produce_keyed(client_properties(), topic, 100, 4);
  auto attempts = std::make_shared<std::map<std::string, int>>();
  // Asks for a retry on the first attempt of every 10th event.
  auto handler_actor = sys->spawn([attempts](caf::event_based_actor*) -> caf::behavior {
    return {[attempts](handle_atom, const runtime::envelope& env,
                       const kafka::record_position&) {
      auto n = std::stoi(std::string(env.payload));
      auto& a = (*attempts)[env.id];
      ++a;
      return n % 10 == 0 && a == 1 ? kafka::handler_status::retry
                                   : kafka::handler_status::done;
    }};
  });
  start(kafka::handler::from_actor(handler_actor, 5s), config());
  ASSERT_TRUE(eventually([&] { return stats->handled.load() == 100; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->retried.load(), 10u);
  EXPECT_EQ(attempts->size(), 100u);
  expect_all_committed();
  caf::anon_send_exit(handler_actor, caf::exit_reason::user_shutdown);
}

TEST_F(consumer_flow_test, actor_handler_that_never_answers_counts_as_a_crash) {
  produce_keyed(client_properties(), topic, 20, 1);
  auto handler_actor = sys->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](handle_atom, const runtime::envelope& env,
                   const kafka::record_position&) -> caf::result<kafka::handler_status> {
      if (env.id == "ev-5")
        return self->make_response_promise<kafka::handler_status>(); // never delivered
      return kafka::handler_status::done;
    }};
  });
  start(kafka::handler::from_actor(handler_actor, 200ms), config());
  ASSERT_TRUE(eventually([&] { return stats->handled.load() == 19; }));
  ASSERT_TRUE(eventually([&] { return stats->rejected.load() == 1; }));
  EXPECT_EQ(stats->restarts.load(), 3u);
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
  caf::anon_send_exit(handler_actor, caf::exit_reason::user_shutdown);
}

} // namespace
