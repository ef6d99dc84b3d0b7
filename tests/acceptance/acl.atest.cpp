// Acceptance 5, ACLs: on the mTLS cluster a client and a node without a client
// certificate fail the TLS handshake (the node is never ready); a client whose identity
// (reader) has no ACL on the topics gets TOPIC_AUTHORIZATION_FAILED; after `phoenix acl
// grant` the same identity reads, and a node of that identity runs the pipeline. A node
// started before the grant retries its Kafka clients under backoff, not ready, and
// recovers once granted.

#include "harness.hpp"
#include "phoenix/testkit/acl_probe.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h> // the error codes

using namespace phoenix::acceptance;
using phoenix::testkit::connection_errors;
using phoenix::testkit::every_broker_reports;
using phoenix::testkit::read_first;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class acl : public acceptance_test {
protected:
  // `phoenix acl <args...>` as the cluster's super user.
  phoenix::testkit::process_result acl_admin(std::vector<std::string> args) const {
    args.insert(args.begin(), "acl");
    args.push_back("--config");
    args.push_back(real()->config_file("admin"));
    return phoenix(std::move(args));
  }

  void TearDown() override {
    // Nodes first: a consumer whose fetches are refused is stuck in librdkafka's destroy
    // and takes the node's teardown bound to end (tests/README.md, "Known limits").
    stop_nodes();
    if (granted_) { // the cluster outlives the test: take the grants back
      for (auto* what : {"--topic", "--group"}) {
        auto r =
            acl_admin({"revoke", "--principal", "User:reader", what,
                       what == std::string{"--topic"} ? prefix_ : group_, "--prefixed"});
        EXPECT_EQ(r.code, 0) << r.err;
      }
    }
    acceptance_test::TearDown();
  }

  // Sends one lead to `detected` and waits until `node` completed its saga.
  void run_one_lead(phoenix_node& node, const std::string& detected) const {
    lead_sender send{client_properties()};
    send.lead(detected, prefix_ + "lead-1", 1);
    ASSERT_NO_FATAL_FAILURE(send.flush());
    ASSERT_TRUE(
        eventually([&] { return node.metric("phoenix_sagas_completed_total") >= 1; }, 60s))
        << node.get("/metrics").body;
  }

  bool granted_ = false;
};

std::size_t occurrences(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (auto at = s.find(part); at != std::string::npos; at = s.find(part, at + 1))
    ++n;
  return n;
}

// First in the file: the next test grants `reader` Write on its own prefix, and a Write
// on any topic lets a client acquire an idempotent producer id.
TEST_F(acl, node_without_acls_backs_off_not_ready_and_recovers_after_the_grant) {
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, 1));
  const auto detected = prefix_ + "lead.detected";
  // The cluster is shared by the run: a Write left to `reader` on any topic would give
  // its producer an id, and nothing would need a restart (tests that grant to `reader`
  // hold the reader_acls lock and revoke what they granted).
  auto left = acl_admin({"list", "--principal", "User:reader"});
  ASSERT_EQ(left.code, 0) << left.err;
  ASSERT_EQ(left.out, "") << "ACLs of User:reader left by an earlier test";
  node_spec as_reader;
  as_reader.identity = "reader";
  // Intensity 3: without backoff the node would end after its fourth restart. Every
  // delayed restart restarts the five kafka children (rest_for_one), a restart storm
  // too: a short storm window lets /ready turn 200 soon after the recovery.
  as_reader.extra = "[supervisor]\nintensity = 3\nbackoff_min_ms = 200\n"
                    "backoff_max_ms = 2000\nbackoff_reset_ms = 3000\n"
                    "[health]\nstorm_window_ms = 2000\n";
  auto& node = add_node("acl-backoff", as_reader);
  ASSERT_NO_FATAL_FAILURE(node.start(false));
  ASSERT_TRUE(
      eventually([&] { return occurrences(node.log(), "restart delayed") >= 6; }, 60s))
      << node.log();
  EXPECT_TRUE(contains(node.log(), "Cluster authorization failed")) << node.log();
  auto ready = node.get("/ready");
  EXPECT_EQ(ready.status, 503) << "the node is still up and not ready: " << ready.body;
  EXPECT_TRUE(contains(ready.body, "restarting under backoff")) << ready.body;
  EXPECT_TRUE(contains(ready.body, "kafka/producer")) << ready.body;

  granted_ = true;
  auto r = acl_admin({"grant", "--principal", "User:reader", "--operation", "read",
                      "--group", group_, "--prefixed"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = acl_admin({"grant", "--principal", "User:reader", "--operation",
                 "read,write,describe", "--topic", prefix_, "--prefixed"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Recovers by itself: the next delayed restart succeeds and stays up.
  ASSERT_TRUE(node.wait_ready(90s)) << node.get("/ready").body << node.log();
  ASSERT_NO_FATAL_FAILURE(run_one_lead(node, detected));

  // Revoked while it runs: its fetches are refused, and it still ends on SIGTERM
  // (librdkafka's stuck destroy is left behind, tests/README.md "Known limits").
  r = acl_admin({"revoke", "--principal", "User:reader", "--topic", prefix_, "--prefixed"});
  ASSERT_EQ(r.code, 0) << r.err;
  // One refused fetch per partition it consumes (lead.detected, the saga replies and
  // the four command topics).
  EXPECT_TRUE(eventually(
      [&] {
        return occurrences(node.log(), "failed: Broker: Topic authorization failed") >= 6;
      },
      60s))
      << node.log();
  EXPECT_EQ(node.stop(), 0) << node.log();
}

TEST_F(acl, nodes_are_refused_without_certificate_or_acl_and_work_after_the_grant) {
  // A topic of the prefix with one record, for the reader client to try.
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, 1, {"probe"}));
  const auto detected = prefix_ + "lead.detected", probe = prefix_ + "probe";
  ASSERT_NO_FATAL_FAILURE(produce(probe, "k", "for readers")); // as phoenix-node

  // No certificate: the handshake fails, for a client and for a node.
  bool refused = false;
  for (auto& e : connection_errors(client_properties("anonymous")))
    refused |= contains(e, "certificate");
  EXPECT_TRUE(refused) << "anonymous client: no certificate error";
  node_spec anonymous;
  anonymous.identity = "anonymous";
  auto& stranger = add_node("acl-anonymous", anonymous);
  ASSERT_NO_FATAL_FAILURE(stranger.start(false));
  EXPECT_TRUE(eventually([&] { return contains(stranger.log(), "bad certificate"); }, 30s))
      << stranger.log();
  EXPECT_EQ(stranger.get("/ready").status, 503) << stranger.get("/ready").body;
  EXPECT_EQ(stranger.stop(), 0) << stranger.log();

  // A trusted identity without ACLs: its group may be used (granted below), the topics
  // not yet.
  granted_ = true;
  auto r = acl_admin({"grant", "--principal", "User:reader", "--operation", "read",
                      "--group", group_, "--prefixed"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto reader = client_properties("reader");
  ASSERT_TRUE(
      every_broker_reports(reader, detected, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
  // Every broker applies the group grant at its own pace too.
  phoenix::testkit::read_outcome first;
  eventually(
      [&] {
        first = read_first(reader, detected, group_ + "-probe");
        return first.err != RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
      },
      30s);
  EXPECT_FALSE(first.value);
  EXPECT_EQ(first.err, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) << first.errstr;

  // Granted: the client reads, and the node runs the pipeline.
  r = acl_admin({"grant", "--principal", "User:reader", "--operation",
                 "read,write,describe", "--topic", prefix_, "--prefixed"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(every_broker_reports(reader, probe, RD_KAFKA_RESP_ERR_NO_ERROR));
  ASSERT_TRUE(every_broker_reports(reader, detected, RD_KAFKA_RESP_ERR_NO_ERROR));
  first = read_first(reader, probe, group_ + "-probe");
  EXPECT_EQ(first.value, std::optional<std::string>{"for readers"}) << first.errstr;

  // A node of that identity runs the pipeline.
  node_spec as_reader;
  as_reader.identity = "reader";
  auto& node = add_node("acl-reader", as_reader);
  ASSERT_NO_FATAL_FAILURE(node.start());
  ASSERT_NO_FATAL_FAILURE(run_one_lead(node, detected));
  EXPECT_EQ(node.metric("phoenix_sagas_completed_total"), 1);
}

} // namespace
