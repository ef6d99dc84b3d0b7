#pragma once

// The acceptance tier's harness: `phoenix run` nodes of the lead pipeline on the system
// tier's TLS cluster, driven from the outside (records in; topics, /metrics, /ready and
// the `phoenix` CLI out).

#include "phoenix/testkit/child_process.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::acceptance {

using namespace std::chrono_literals;

/// Polls `done` every 50 ms until it holds or `bound` passed; returns its last value.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound);

/// What a node is started with. Its config: `[node] id`, `[http] listen` on a free port,
/// `[kafka]` = the identity's TLS settings and `group.id`, `[store] path`, `[app] name =
/// "lead-pipeline"` with `topic_prefix` and `step_timeout_ms`, then `extra` (TOML).
struct node_spec {
  std::string id;
  std::string identity = "phoenix-node";
  std::string group;
  std::string prefix;
  std::string store; ///< SQLite file.
  int step_timeout_ms = 5000;
  std::string app_options; ///< More keys of [app.lead-pipeline].
  std::string extra;       ///< More sections.
};

/// An HTTP answer.
struct http_answer {
  int status = -1; ///< -1: no answer
  std::string body;
};

/// One `phoenix run` process. Stopped (SIGTERM) when destroyed if still running.
class phoenix_node {
public:
  phoenix_node(const testkit::real_cluster& cluster,
               const testkit::client_properties_map& kafka, node_spec spec,
               const std::string& dir);
  ~phoenix_node();

  /// Starts the process and waits until it serves HTTP (its port is in its log); with
  /// `ready`, also until /ready answers 200. Failures are test failures.
  void start(bool ready = true);
  /// SIGTERM; the exit code (nullopt: still running after 60 s, then killed).
  std::optional<int> stop();
  /// kill -9; waits for the process to end.
  void kill9();
  bool running() const { return proc_ != nullptr; }

  const std::string& config() const { return config_; }
  const node_spec& spec() const { return spec_; }
  std::string log() const;
  int port() const { return port_; }

  http_answer get(const std::string& path) const;
  bool wait_ready(std::chrono::milliseconds bound) const;
  /// The sum of the samples of `name` whose labels include all of `labels` (0: none).
  double metric(const std::string& name,
                const std::map<std::string, std::string>& labels = {}) const;

private:
  node_spec spec_;
  std::string config_;
  std::unique_ptr<testkit::child_process> proc_;
  std::string last_log_;
  int port_ = -1;
};

/// The sum as above, from a /metrics text.
double metric_in(const std::string& text, const std::string& name,
                 const std::map<std::string, std::string>& labels);

/// How many samples of `name` with all of `labels` a /metrics text has.
int samples_in(const std::string& text, const std::string& name,
               const std::map<std::string, std::string>& labels);

/// A record read back with its timestamp (ms since the epoch, CreateTime).
struct read_record {
  std::string key;
  std::string value;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t timestamp_ms = -1;
  std::map<std::string, std::string> headers; ///< last value per name
};

/// Reads `topic` from the beginning of every partition without a consumer group until
/// `count` records arrived or `bound` passed.
std::vector<read_record> read_topic(const testkit::client_properties_map& client,
                                    const std::string& topic, std::size_t count,
                                    std::chrono::milliseconds bound);

/// Sends lead events (CloudEvents, binary mode) and raw records as one client.
class lead_sender {
public:
  explicit lead_sender(const testkit::client_properties_map& client);
  ~lead_sender();
  /// A `lead.detected` event with id `id` (also the key), source "/acceptance/radar" and
  /// payload `{"lead": number, "tenant": "t1"}` plus `extra` JSON members (e.g.
  /// `"fail": {"score": 2}`).
  void lead(const std::string& topic, const std::string& id, int number,
            const std::string& extra = "");
  /// A record without CloudEvents headers: no envelope, a poison pill.
  void raw(const std::string& topic, const std::string& key, const std::string& value);
  /// Waits for every delivery report; failures are test failures.
  void flush();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A saga as `phoenix sagas list` prints it.
struct saga_row {
  std::string id;
  std::string type;
  std::string state;
};

/// The fixture of every acceptance test: the system tier's TLS cluster (a test failure
/// when it is not there), a folder of its own, topic and node helpers.
class acceptance_test : public testkit::kafka_cluster_fixture {
protected:
  void SetUp() override;
  void TearDown() override;

  /// The pipeline's topics under `prefix` with `partitions` each (replication factor 3),
  /// plus `extra` topic names (with the prefix put before them, e.g. "lead.detected.dlq").
  void create_pipeline_topics(const std::string& prefix, int partitions,
                              const std::vector<std::string>& extra = {});

  /// A node of this test named `id`; `spec.group`, `.prefix`, `.store` default to the
  /// test's own.
  phoenix_node& add_node(const std::string& id, node_spec spec = {});

  /// Stops (SIGTERM) every node still running; each must exit with 0.
  void stop_nodes();

  /// `phoenix <args...>`, bounded to 60 s.
  testkit::process_result phoenix(std::vector<std::string> args) const;

  /// `phoenix sagas list` on `node`'s store.
  std::vector<saga_row> sagas_of(const phoenix_node& node) const;

  std::string prefix_;
  std::string group_;
  std::string dir_;
  std::vector<std::unique_ptr<phoenix_node>> nodes_;
};

} // namespace phoenix::acceptance
