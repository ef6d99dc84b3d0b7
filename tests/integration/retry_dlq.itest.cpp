// Retries, retry topics and the dead-letter queue on the mock cluster: a record that
// fails twice is handled once and never dead-lettered; one that always fails reaches the
// DLQ after exactly its attempts, byte for byte with its failure headers, while the rest
// of its partition is handled; a poison pill goes there at once; a crashing record too;
// a retried record is not handled before its due time; a DLQ the producer cannot reach
// holds the record uncommitted until it can; `phoenix dlq list|replay` show and replay
// dead letters, and with the idempotent consumer a second replay changes nothing.

#include "cli_helpers.hpp"
#include "consumer_fixture.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/actors/policies/dlq.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/persistence/trace_log.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "testing/temp_dir.hpp"

using namespace phoenix;
using namespace std::chrono_literals;
namespace headers = phoenix::policies::header;

namespace {

using namespace phoenix::itest;

std::string value_of(const testkit::header_list& hs, std::string_view key) {
  for (auto& [k, v] : hs)
    if (k == key)
      return v;
  return "<missing>";
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class retry_dlq_test : public group_consumer_test {
protected:
  std::shared_ptr<runtime::actor_slot> producer = std::make_shared<runtime::actor_slot>();
  std::map<std::string, std::string> producer_properties;

  retry_dlq_test() { partitions = 1; }

  void SetUp() override {
    group_consumer_test::SetUp();
    if (HasFatalFailure())
      return;
    create_topic(topic + ".dlq", 1);
    producer_properties = client_properties();
  }

  kafka::group_consumer_config
  policy_config(int attempts, std::vector<std::chrono::milliseconds> retry = {}) {
    auto cfg = config();
    auto& p = cfg.policies.fallback;
    p.attempts = attempts;
    p.backoff_base = 5ms;
    p.backoff_cap = 20ms;
    p.retry_topics = std::move(retry);
    cfg.producer = producer;
    cfg.node_id = "node-7";
    return cfg;
  }

  // The producer and the consumer under one supervisor, as in a node.
  void start_with_producer(kafka::handler h, kafka::group_consumer_config cfg) {
    kafka::producer_config pcfg;
    pcfg.properties = producer_properties;
    pcfg.origin = "test";
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(
        runtime::track(kafka::producer_child("producer", pcfg), producer));
    spec.children.push_back(kafka::group_consumer_child("consumer", std::move(cfg), {topic},
                                                        std::move(h), stats));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    root = *r;
  }

  // The DLQ as `phoenix dlq list` reads it (no group: nothing committed).
  std::vector<testkit::consumed_record> dlq(std::size_t n) {
    std::vector<testkit::consumed_record> out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
      auto records = policies::read_dlq(client_properties(), "test", topic, 0, 30s);
      EXPECT_TRUE(records.has_value()) << records.error().describe();
      out.clear();
      for (auto& r : records ? *records : std::vector<policies::dlq_record>{}) {
        testkit::consumed_record c{r.key, r.value, r.partition, r.offset, {}};
        for (auto& h : r.headers)
          c.headers.emplace_back(h.key, h.value);
        out.push_back(std::move(c));
      }
    } while (out.size() < n && std::chrono::steady_clock::now() < deadline);
    return out;
  }

  // A config file whose [kafka] section reaches the test's cluster, for the CLI.
  std::string kafka_config() {
    std::string text = "[kafka]\n";
    for (auto& [k, v] : client_properties())
      text += "\"" + k + "\" = \"" + v + "\"\n";
    return write_config(unique_name("dlq") + ".toml", text);
  }

  testkit::process_result dlq_command(std::vector<std::string> args) {
    std::vector<std::string> argv{PHOENIX_BIN, "dlq"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testkit::run_process(argv, 120s);
  }
};

TEST_F(retry_dlq_test,
       record_failing_twice_then_succeeding_is_handled_once_and_kept_out_of_dlq) {
  produce_events(0, 20);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto log = seen;
  start_with_producer(
      [log, calls](const runtime::envelope_view& env, const kafka::record_view&) {
        if (env.id == "lead-5" && calls->fetch_add(1) < 2)
          return kafka::handler_status::retry;
        return record_done(*log, env);
      },
      policy_config(3));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 20; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(calls->load(), 3);
  EXPECT_EQ(seen->calls["lead-5"], 1); // handled (done) once
  EXPECT_EQ(stats->handled.load(), 20u);
  EXPECT_EQ(stats->failed_attempts.load(), 2u);
  EXPECT_EQ(stats->retried.load(), 2u);
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_TRUE(dlq(0).empty());
  expect_all_committed();
}

TEST_F(retry_dlq_test, always_failing_record_reaches_dlq_after_max_attempts_byte_for_byte) {
  produce_events(0, 10);
  // The failing record: its own key, a binary value and headers the DLQ must keep as sent.
  runtime::envelope env;
  env.id = "poison-1";
  env.source = "/test";
  env.type = "lead.detected";
  auto original = runtime::encode_headers(env);
  testkit::header_list sent;
  for (auto& h : original)
    sent.emplace_back(h.key, h.value);
  sent.emplace_back("x-binary", std::string("\0\x01\xff", 3));
  sent.emplace_back("x-empty", "");
  std::string value("{\"v\":1}\0tail", 12);
  produce(topic, "key-\x01", value, sent);
  produce_events(10, 10);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto position = std::make_shared<std::atomic<std::int64_t>>(-1);
  auto log = seen;
  start_with_producer(
      [log, calls, position](const runtime::envelope_view& ev,
                             const kafka::record_view& rec) {
        if (ev.id == "poison-1") {
          calls->fetch_add(1);
          position->store(rec.offset);
          return kafka::handler_status::retry;
        }
        return record_done(*log, ev);
      },
      policy_config(3));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 20; }));
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(calls->load(), 3); // exactly max attempts
  auto out = dlq(1);
  ASSERT_EQ(out.size(), 1u);
  auto& r = out[0];
  EXPECT_EQ(r.key, "key-\x01");
  EXPECT_EQ(r.value, value);
  ASSERT_GE(r.headers.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i)
    EXPECT_EQ(r.headers[i], sent[i]) << "header " << i;
  EXPECT_EQ(value_of(r.headers, headers::error_class), "handler_retry");
  EXPECT_NE(value_of(r.headers, headers::error_message), "<missing>");
  EXPECT_EQ(value_of(r.headers, headers::attempts), "3");
  EXPECT_EQ(value_of(r.headers, headers::original_topic), topic);
  EXPECT_EQ(value_of(r.headers, headers::original_partition), "0");
  EXPECT_EQ(value_of(r.headers, headers::original_offset),
            std::to_string(position->load()));
  EXPECT_EQ(value_of(r.headers, headers::node_id), "node-7");
  auto first = std::stoll(value_of(r.headers, headers::first_failure));
  EXPECT_GT(first, now_ms() - 3600 * 1000);
  EXPECT_LE(first, now_ms());
  expect_all_committed(); // the partition moved on, the dead-lettered record included
}

TEST_F(retry_dlq_test, poison_pill_goes_to_dlq_at_once) {
  produce(topic, "pp", "not a cloud event", {{"x", "y"}});
  produce_events(0, 5);
  auto log = seen;
  start_with_producer([log](const runtime::envelope_view& env,
                            const kafka::record_view&) { return record_done(*log, env); },
                      policy_config(3));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 5; }));
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->undecodable.load(), 1u);
  EXPECT_EQ(stats->failed_attempts.load(), 1u);
  EXPECT_EQ(stats->retried.load(), 0u);
  auto out = dlq(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "pp");
  EXPECT_EQ(out[0].value, "not a cloud event");
  EXPECT_EQ(out[0].headers.front(), (std::pair<std::string, std::string>{"x", "y"}));
  EXPECT_EQ(value_of(out[0].headers, headers::error_class), "undecodable");
  EXPECT_EQ(value_of(out[0].headers, headers::attempts), "1");
  expect_all_committed();
}

TEST_F(retry_dlq_test, record_crashing_its_lane_goes_to_dlq_after_max_crashes) {
  produce_events(0, 10);
  auto log = seen;
  start_with_producer(
      [log](const runtime::envelope_view& env, const kafka::record_view&) {
        if (env.id == "lead-3")
          throw std::runtime_error("boom");
        return record_done(*log, env);
      },
      policy_config(5));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 9; }));
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->restarts.load(), 3u); // max_crashes_per_record, below attempts = 5
  auto out = dlq(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(value_of(out[0].headers, headers::error_class), "crash");
  EXPECT_NE(value_of(out[0].headers, headers::error_message).find("boom"),
            std::string::npos);
  EXPECT_EQ(value_of(out[0].headers, headers::attempts), "3");
  expect_all_committed();
}

TEST_F(retry_dlq_test, record_through_a_retry_topic_is_not_handled_before_it_is_due) {
  create_topic(topic + ".retry.1", 1);
  produce_events(0, 5);
  auto first = std::make_shared<std::atomic<bool>>(true);
  auto handled_at = std::make_shared<std::atomic<std::int64_t>>(-1);
  auto retry_topic = topic + ".retry.1";
  auto log = seen;
  start_with_producer(
      [log, first, handled_at, retry_topic](const runtime::envelope_view& env,
                                            const kafka::record_view& rec) {
        if (env.id == "lead-2") {
          if (first->exchange(false))
            return kafka::handler_status::retry; // attempts = 1: on to the retry topic
          EXPECT_EQ(rec.topic, retry_topic);
          handled_at->store(now_ms());
        }
        return record_done(*log, env);
      },
      policy_config(1, {1500ms}));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 5; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->retry_topic_records.load(), 1u);
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  auto moved = testkit::consume_from(client_properties(), retry_topic,
                                     unique_name("reader"), 1, 30s);
  ASSERT_EQ(moved.size(), 1u);
  auto due = std::stoll(value_of(moved[0].headers, headers::due));
  EXPECT_GE(handled_at->load(), due);
  EXPECT_EQ(value_of(moved[0].headers, headers::attempts), "1");
  expect_all_committed();
}

// The in-place bound moves a record on before its attempts run out: with waits drawn up
// to 200 ms and at most 200 ms in place, a record failing on its topic reaches the
// retry topic after a few of its 1,000 attempts, and is handled there.
TEST_F(retry_dlq_test, record_past_its_time_in_place_moves_to_the_retry_topic_early) {
  create_topic(topic + ".retry.1", 1);
  produce_events(0, 3);
  auto retry_topic = topic + ".retry.1";
  auto on_topic = std::make_shared<std::atomic<int>>(0);
  auto log = seen;
  auto cfg = policy_config(1000, {100ms});
  cfg.policies.fallback.backoff_base = 200ms;
  cfg.policies.fallback.backoff_cap = 200ms;
  cfg.policies.fallback.max_in_place = 200ms;
  start_with_producer(
      [log, on_topic, retry_topic](const runtime::envelope_view& env,
                                   const kafka::record_view& rec) {
        if (env.id == "lead-1" && rec.topic != retry_topic) {
          on_topic->fetch_add(1);
          return kafka::handler_status::retry;
        }
        return record_done(*log, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 3; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->retry_topic_records.load(), 1u);
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_GE(on_topic->load(), 1);
  EXPECT_LT(on_topic->load(), 1000) << "the record used up its attempts in place";
  auto moved = testkit::consume_from(client_properties(), retry_topic,
                                     unique_name("reader"), 1, 30s);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(value_of(moved[0].headers, headers::attempts),
            std::to_string(on_topic->load()));
  EXPECT_EQ(value_of(moved[0].headers, headers::error_class), "handler_retry");
  expect_all_committed();
}

// A record without a key and without a value (a tombstone) stays so: in the DLQ, and
// again after a replay (the replayed record is rejected once more, so the DLQ holds
// what the replay sent). Empty strings would be bytes Kafka tells apart from null.
TEST_F(retry_dlq_test, null_key_and_tombstone_stay_null_in_the_dlq_and_through_replay) {
  runtime::envelope env;
  env.id = "tomb";
  env.source = "/test";
  env.type = "lead.deleted";
  {
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    ASSERT_TRUE(p->produce(topic, std::string_view{}, std::string_view{},
                           runtime::encode_headers(env)));
    ASSERT_TRUE(p->flush(10s));
  }
  produce_events(0, 3);
  auto log = seen;
  start_with_producer(
      [log](const runtime::envelope_view& ev, const kafka::record_view&) {
        if (ev.id == "tomb")
          return kafka::handler_status::rejected;
        return record_done(*log, ev);
      },
      policy_config(3));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 3; }));
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  auto first = policies::read_dlq(client_properties(), "test", topic, 0, 30s);
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_TRUE((*first)[0].null_key) << "a null key reached the DLQ as an empty one";
  EXPECT_TRUE((*first)[0].null_value) << "a tombstone reached the DLQ with a value";
  auto all = policies::dlq_filter::parse({});
  ASSERT_TRUE(all.has_value());
  auto replayed = policies::replay_dlq(client_properties(), "test", topic, *all, 30s);
  ASSERT_TRUE(replayed.has_value()) << replayed.error().describe();
  EXPECT_EQ(replayed->replayed, 1u);
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 2; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  auto both = policies::read_dlq(client_properties(), "test", topic, 0, 30s);
  ASSERT_TRUE(both.has_value()) << both.error().describe();
  ASSERT_EQ(both->size(), 2u);
  for (const auto& r : *both) {
    EXPECT_TRUE(r.null_key) << "DLQ offset " << r.offset;
    EXPECT_TRUE(r.null_value) << "DLQ offset " << r.offset;
  }
  expect_all_committed();
}

TEST_F(retry_dlq_test, record_is_not_committed_while_the_dlq_cannot_be_written) {
  producer_properties["message.timeout.ms"] = "300";
  produce_events(0, 5);
  // Every Produce request fails for a while: the producer's record times out, the lane
  // sends it again after a backoff, and the record stays uncommitted meanwhile.
  if (!mock())
    GTEST_SKIP() << "fault injection needs the mock cluster";
  ASSERT_TRUE(mock()->push_request_errors(0, std::vector<int>(12, 19)));
  auto log = seen;
  start_with_producer(
      [log](const runtime::envelope_view& env, const kafka::record_view&) {
        if (env.id == "lead-0")
          return kafka::handler_status::rejected; // permanent: straight to the DLQ
        return record_done(*log, env);
      },
      policy_config(3));
  ASSERT_TRUE(eventually([&] { return stats->produce_failures.load() >= 1; }));
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_LE(committed_and_end()[0].first, 0); // lead-0 (offset 0) holds the partition
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 4; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
  EXPECT_GE(dlq(1).size(), 1u); // delivered at least once, never lost
}

TEST_F(retry_dlq_test,
       dlq_replay_handles_dead_letters_and_a_second_replay_changes_nothing) {
  persistence::testing::temp_dir dir;
  persistence::store_config store_cfg;
  store_cfg.path = dir.file("idem");
  persistence::store_link link;
  auto store = persistence::start_store(*sys, store_cfg, link);
  ASSERT_TRUE(store) << store.error().describe();
  produce_events(0, 10);
  auto broken = std::make_shared<std::atomic<bool>>(true);
  auto log = seen;
  auto cfg = policy_config(3);
  cfg.idempotency.store = link;
  start_with_producer(
      [log, broken](const runtime::envelope_view& env, const kafka::record_view&) {
        if (*broken && (env.id == "lead-1" || env.id == "lead-2"))
          return kafka::handler_status::rejected;
        return record_done(*log, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 2; }));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 8; }));
  auto config_file = kafka_config();

  auto list = dlq_command({"list", "--config", config_file, "--topic", topic});
  ASSERT_EQ(list.code, 0) << list.err;
  auto rows = lines_of(list.out);
  ASSERT_EQ(rows.size(), 3u) << list.out; // the header and two records
  EXPECT_TRUE(contains(rows[0], "partition\toffset\tkey\terror")) << rows[0];
  EXPECT_TRUE(contains(rows[1], "\tlead-1\thandler_rejected\t1\t" + topic + "[0]@1\t"))
      << rows[1];
  EXPECT_TRUE(contains(rows[2], "\tlead-2\thandler_rejected\t1\t")) << rows[2];
  EXPECT_TRUE(contains(rows[1], "node-7"));

  broken->store(false); // the downstream is fixed
  auto first = dlq_command({"replay", "--config", config_file, "--topic", topic, "--filter",
                            "error=handler_rejected"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, "read 2, matched 2, replayed 2\n");
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 10; }));
  auto second = dlq_command({"replay", "--config", config_file, "--topic", topic});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, "read 2, matched 2, replayed 2\n");
  ASSERT_TRUE(eventually([&] { return stats->duplicates.load() == 2; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(seen->calls["lead-1"], 1); // applied once over both replays
  EXPECT_EQ(seen->calls["lead-2"], 1);
  EXPECT_EQ(stats->handled.load(), 10u);
  EXPECT_EQ(dlq(2).size(), 2u); // replay leaves the DLQ as it is
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
}

TEST_F(retry_dlq_test, dlq_tools_refuse_unknown_topics_and_bad_filters) {
  auto config_file = kafka_config();
  auto unknown = dlq_command({"list", "--config", config_file, "--topic", topic + "-nope"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown topic " + topic + "-nope.dlq")) << unknown.err;
  auto bad = dlq_command(
      {"replay", "--config", config_file, "--topic", topic, "--filter", "colour=red"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.err, "bad filter \"colour=red\": expected field=value"))
      << bad.err;
  auto number = dlq_command(
      {"replay", "--config", config_file, "--topic", topic, "--filter", "offset=12x"});
  EXPECT_EQ(number.code, 2);
  EXPECT_TRUE(contains(number.err, "offset takes a number")) << number.err;
  auto none = dlq_command({"list", "--topic", topic});
  EXPECT_EQ(none.code, 2);
  EXPECT_TRUE(contains(none.err, "no bootstrap.servers")) << none.err;
  auto empty = dlq_command({"list", "--config", config_file, "--topic", topic});
  EXPECT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(lines_of(empty.out).size(), 1u) << empty.out; // the header only
}

// Three partitions: a record retried in place waits on a timer, not in the poll loop or
// a thread, so the other partitions keep being consumed and committed meanwhile, while
// the records behind it on its own partition wait (its partition stays ordered).
class retry_in_place_test : public retry_dlq_test {
protected:
  retry_in_place_test() { partitions = 3; }
};

TEST_F(retry_in_place_test, record_retried_in_place_holds_only_its_own_partition) {
  produce_events(0, 1); // lead-0: fails until released
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto stuck_partition = std::make_shared<std::atomic<int>>(-1);
  auto handled_on_stuck = std::make_shared<std::atomic<int>>(0);
  auto log = seen;
  auto cfg = policy_config(100000); // waits of 5-20 ms, many attempts
  // Room for the test to take its time: up to 25 s in place (below half the poll limit).
  cfg.properties["max.poll.interval.ms"] = "60000";
  cfg.policies.fallback.max_in_place = 25s;
  start_with_producer(
      [=](const runtime::envelope_view& env, const kafka::record_view& rec) {
        if (env.id == "lead-0") {
          stuck_partition->store(rec.partition);
          if (!release->load()) {
            failures->fetch_add(1);
            return kafka::handler_status::retry;
          }
        } else if (rec.partition == stuck_partition->load()) {
          handled_on_stuck->fetch_add(1);
        }
        return record_done(*log, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return failures->load() >= 1; }));
  const int p = stuck_partition->load();
  produce_events(1, 60); // keyed: they land on all three partitions
  // Every other partition is handled to its end and committed while lead-0 waits.
  ASSERT_TRUE(eventually([&] {
    auto c = committed_and_end();
    for (auto& [partition, offsets] : c)
      if (partition != p && offsets.first != offsets.second)
        return false;
    return true;
  })) << "other partitions did not move while a record of partition "
      << p << " waited";
  auto c = committed_and_end();
  EXPECT_GT(c[p].second, 1) << "no record landed behind lead-0";
  EXPECT_LE(c[p].first, 0) << "committed past the waiting record";
  EXPECT_EQ(handled_on_stuck->load(), 0) << "a record behind lead-0 ran before it";
  EXPECT_NE(seen->done_count(), 61u);
  {
    std::lock_guard<std::mutex> g{seen->mtx};
    EXPECT_EQ(seen->calls.count("lead-0"), 0u) << "lead-0 was handled before its release";
  }
  EXPECT_GE(failures->load(), 2) << "lead-0 was not retried in place meanwhile";
  release->store(true);
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 61; }));
  ASSERT_TRUE(eventually([&] { return all_committed(); }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_EQ(stats->retry_topic_records.load(), 0u);
  EXPECT_EQ(seen->calls["lead-0"], 1);
}

} // namespace

// Issue 7's traceability end to end: a record retried in place, dead-lettered, replayed
// with `phoenix dlq replay` and then handled has all of it in `phoenix trace <ce_id>`,
// in order, with positions; a record handled at once has received and handled.
TEST_F(retry_dlq_test, phoenix_trace_shows_a_record_retried_dead_lettered_and_replayed) {
  persistence::testing::temp_dir dir;
  persistence::store_config store_cfg;
  store_cfg.path = dir.file("trace");
  persistence::store_link link;
  auto store = persistence::start_store(*sys, store_cfg, link);
  ASSERT_TRUE(store) << store.error().describe();
  auto trace = std::make_shared<persistence::trace_log>("node-7");
  runtime::supervisor_spec writers;
  writers.name = "trace";
  writers.children.push_back(
      persistence::trace_writer_child(trace, link, {std::chrono::milliseconds{50}}));
  auto writer = runtime::start_supervisor(*sys, std::move(writers));
  ASSERT_TRUE(writer) << writer.error().describe();

  produce_events(0, 5);
  auto broken = std::make_shared<std::atomic<bool>>(true);
  auto log = seen;
  auto cfg = policy_config(3);
  cfg.idempotency.store = link;
  cfg.trace = trace;
  start_with_producer(
      [log, broken](const runtime::envelope_view& env, const kafka::record_view&) {
        if (*broken && env.id == "lead-3")
          return kafka::handler_status::retry;
        return record_done(*log, env);
      },
      cfg);
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 4; }));
  broken->store(false);
  std::string text =
      "[node]\nid = \"node-7\"\n[store]\npath = \"" + store_cfg.path + "\"\n[kafka]\n";
  for (auto& [k, v] : client_properties())
    text += "\"" + k + "\" = \"" + v + "\"\n";
  auto config_file = write_config(unique_name("trace") + ".toml", text);
  auto replay = dlq_command({"replay", "--config", config_file, "--topic", topic});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_EQ(replay.err, "") << "the replay is recorded without a warning";
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 5; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  // The consumer is stopped: its last rows are queued; the writer writes them on stop.
  caf::anon_send_exit(*writer, caf::exit_reason::user_shutdown);
  ASSERT_TRUE(
      eventually([&] { return trace->pending() == 0 && trace->written.load() > 0; }));

  auto run_trace = [&](const std::string& id) {
    return testkit::run_process({PHOENIX_BIN, "trace", id, "--config", config_file}, 60s);
  };
  auto out = run_trace("lead-3");
  ASSERT_EQ(out.code, 0) << out.err;
  auto rows = lines_of(out.out);
  ASSERT_EQ(rows.size(), 8u) << out.out; // the header and seven rows
  const std::string at3 = topic + "[0]@3";
  auto row_is = [&](std::size_t i, const std::string& stage, const std::string& where,
                    const std::string& detail) {
    EXPECT_TRUE(contains(rows[i], " " + stage + " ")) << i << ": " << rows[i];
    EXPECT_TRUE(contains(rows[i], " " + where + " ")) << i << ": " << rows[i];
    EXPECT_TRUE(contains(rows[i], detail)) << i << ": " << rows[i];
    EXPECT_TRUE(contains(rows[i], " node-7 ")) << i << ": " << rows[i];
  };
  row_is(1, "received", at3, "group " + group);
  row_is(2, "retried", at3, "attempt 1 failed: handler_retry");
  row_is(3, "retried", at3, "attempt 2 failed: handler_retry");
  row_is(4, "dead-lettered", at3, "attempt 3 failed: handler_retry: ");
  EXPECT_TRUE(contains(rows[4], "; to " + topic + ".dlq")) << rows[4];
  row_is(5, "replayed", topic + ".dlq[0]@0", "to " + topic + " by phoenix dlq replay");
  row_is(6, "received", topic + "[0]@5", "group " + group);
  row_is(7, "handled", topic + "[0]@5", "");

  auto plain = run_trace("lead-2");
  ASSERT_EQ(plain.code, 0) << plain.err;
  rows = lines_of(plain.out);
  ASSERT_EQ(rows.size(), 3u) << plain.out;
  row_is(1, "received", topic + "[0]@2", "group " + group);
  row_is(2, "handled", topic + "[0]@2", "");

  auto none = run_trace("lead-99");
  EXPECT_EQ(none.code, 1);
  EXPECT_TRUE(contains(none.err, "no trace of message 'lead-99'")) << none.err;
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
}
