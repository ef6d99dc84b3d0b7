// Two saga nodes (child processes) in one consumer group over one shared store file: each
// node's outbox relay publishes only the rows of the sagas whose partition its saga
// consumer holds, so every command goes out once; and the rows a node wrote but never
// published (it runs without a relay, then is killed with SIGKILL) are published by the
// node that takes its partitions. Publications are counted by command id (`ce_id`) on
// the command topics themselves, read to their end offsets.

#include "kafka/rdkafka.hpp"
#include "saga_fixture.hpp"

#include <algorithm>
#include <signal.h>

using namespace phoenix;
using namespace std::chrono_literals;
using phoenix::testkit::child_process;

namespace {

constexpr int partitions = 3; // of every pipeline topic (saga_node_test::SetUp)
constexpr int commands_per_saga = 4;

class saga_relay_test : public itest::saga_node_test {
protected:
  // The partitions of lead.detected `node` holds now, from what it printed.
  std::set<int> owned(const child_process& node) const {
    std::set<int> out;
    auto err = node.err();
    const auto& topic = opts.topics.lead_detected;
    std::size_t at = 0;
    while ((at = err.find("saga_node: ", at)) != std::string::npos) {
      auto end = err.find('\n', at);
      auto line = err.substr(at, end == std::string::npos ? end : end - at);
      at = end == std::string::npos ? err.size() : end;
      auto tp = line.find(topic + "[");
      if (tp == std::string::npos)
        continue;
      int p = std::atoi(line.c_str() + tp + topic.size() + 1);
      if (line.find("saga_node: owns ") == 0)
        out.insert(p);
      else if (line.find("saga_node: gave up ") == 0)
        out.erase(p);
    }
    return out;
  }

  // Until `a` and `b` hold every partition between them, each at least one.
  bool wait_split(const child_process& a, const child_process& b,
                  std::chrono::seconds bound) const {
    auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      auto x = owned(a), y = owned(b);
      std::set<int> both = x;
      both.insert(y.begin(), y.end());
      if (!x.empty() && !y.empty() && both.size() == x.size() + y.size() &&
          both.size() == static_cast<std::size_t>(partitions))
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  bool wait_owns_all(const child_process& node, std::chrono::seconds bound) const {
    auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      if (owned(node).size() == static_cast<std::size_t>(partitions))
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // Records on `topic` now (sum of end offsets; nothing is deleted in a test).
  std::size_t records_on(const std::string& topic) {
    auto conf = kafka::rd::make_conf(client_properties(), "test");
    EXPECT_TRUE(conf) << conf.error().describe();
    if (!conf)
      return 0;
    auto h = kafka::rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "test");
    EXPECT_TRUE(h) << h.error().describe();
    if (!h)
      return 0;
    std::size_t n = 0;
    for (int p = 0; p < partitions; ++p) {
      std::int64_t low = 0, high = 0;
      auto err =
          rd_kafka_query_watermark_offsets(h->get(), topic.c_str(), p, &low, &high, 10000);
      EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << topic << ": " << rd_kafka_err2str(err);
      n += static_cast<std::size_t>(high - low);
    }
    return n;
  }

  // How often each command id was published, over all command topics.
  std::map<std::string, int> publications() {
    std::map<std::string, int> out;
    for (const auto& topic : opts.topics.commands()) {
      auto n = records_on(topic);
      // A group of its own each time: a group reads on from what it committed.
      auto group = unique_name("count-" + std::to_string(++reads_) + "-" + topic);
      auto records = consume_all(topic, group, n, 60s);
      EXPECT_EQ(records.size(), n) << topic;
      for (const auto& r : records)
        for (const auto& [k, v] : r.headers)
          if (k == "ce_id")
            ++out[v];
    }
    return out;
  }

  std::vector<persistence::outbox_record> pending() {
    auto db = open_node_store();
    EXPECT_TRUE(db);
    if (!db)
      return {};
    auto rows = db->pending_outbox(100000);
    EXPECT_TRUE(rows) << rows.error().describe();
    return rows ? *rows : std::vector<persistence::outbox_record>{};
  }

  // Sagas lead-0 .. lead-(n-1) in the store, by the partition they run on; finished ones
  // in `done`.
  std::map<int, std::set<std::string>> sagas_by_partition(int n,
                                                          std::set<std::string>* done) {
    std::map<int, std::set<std::string>> out;
    for (const auto& r : stored_sagas(n)) {
      out[r.partition].insert(r.id.value);
      if (r.finished && done)
        done->insert(r.id.value);
    }
    return out;
  }

  int reads_ = 0;

  void stop(child_process& node) {
    node.signal(SIGTERM);
    EXPECT_EQ(node.wait(60s), 0) << node.err();
  }
};

TEST_F(saga_relay_test, two_nodes_on_one_store_publish_each_command_once) {
  const int sagas = 200;
  opts.step_timeout = 60s; // no timeout: a command is sent again only by a relay
  start_participants();
  auto group = unique_name("sagas");
  auto a = start_node(group);
  ASSERT_TRUE(wait_owns_all(*a, 60s)) << a->err();
  auto b = start_node(group);
  ASSERT_TRUE(wait_split(*a, *b, 60s)) << a->err() << b->err();
  produce_leads(sagas);
  ASSERT_TRUE(wait_finished(sagas, sagas, 180s)) << a->err() << b->err();
  EXPECT_TRUE(pending().empty());
  auto counts = publications();
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(sagas * commands_per_saga));
  for (const auto& [id, n] : counts)
    EXPECT_EQ(n, 1) << id << " published " << n << " times";
  EXPECT_EQ(parts->duplicates(), 0u);
  stop(*a);
  stop(*b);
  expect_consistent(sagas);
}

TEST_F(saga_relay_test, the_rows_of_a_node_that_died_are_published_by_the_next_owner) {
  const int sagas = 120;
  opts.step_timeout = 60s;
  start_participants();
  auto group = unique_name("sagas");
  auto a = start_node(group, {"--no-relay"}); // writes its sagas' commands, sends none
  ASSERT_TRUE(wait_owns_all(*a, 60s)) << a->err();
  auto b = start_node(group);
  ASSERT_TRUE(wait_split(*a, *b, 60s)) << a->err() << b->err();
  auto of_a = owned(*a);
  produce_leads(sagas);

  // b runs its sagas to the end; a's wait with their first command in the outbox.
  std::set<std::string> of_b, waiting, done;
  auto until = std::chrono::steady_clock::now() + 180s;
  for (;;) {
    done.clear();
    auto by_partition = sagas_by_partition(sagas, &done);
    of_b.clear();
    waiting.clear();
    std::size_t present = 0;
    for (const auto& [p, ids] : by_partition) {
      present += ids.size();
      (of_a.count(p) ? waiting : of_b).insert(ids.begin(), ids.end());
    }
    bool b_done = std::all_of(of_b.begin(), of_b.end(),
                              [&](const std::string& id) { return done.count(id) > 0; });
    if (present == static_cast<std::size_t>(sagas) && b_done &&
        pending().size() == waiting.size())
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), until)
        << present << " sagas stored, " << done.size() << " done\n"
        << a->err() << b->err();
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(waiting.empty()) << "no saga landed on a's partitions";
  ASSERT_FALSE(of_b.empty()) << "no saga landed on b's partitions";
  std::set<std::string> unpublished;
  for (const auto& row : pending()) {
    EXPECT_TRUE(of_a.count(row.owner.partition)) << row.saga.value << " is not a's";
    unpublished.insert(row.saga.value + "/reserve_quota/action");
  }
  EXPECT_EQ(unpublished.size(), waiting.size());
  auto before = publications();
  for (const auto& id : unpublished)
    EXPECT_EQ(before.count(id), 0u) << id << ": b published a row of a's sagas";
  for (const auto& [id, n] : before)
    EXPECT_EQ(n, 1) << id << " published " << n << " times";

  a->signal(SIGKILL);
  EXPECT_EQ(a->wait(30s), 128 + SIGKILL);
  ASSERT_TRUE(wait_finished(sagas, sagas, 180s)) << b->err();
  EXPECT_TRUE(pending().empty()) << "a row a wrote was never published";
  auto after = publications();
  EXPECT_EQ(after.size(), static_cast<std::size_t>(sagas * commands_per_saga));
  for (const auto& id : unpublished) // its old row, and what the recovery sent again
    EXPECT_GE(after[id], 1) << id;
  stop(*b);
  expect_consistent(sagas);
}

} // namespace
