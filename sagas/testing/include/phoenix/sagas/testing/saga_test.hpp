#pragma once

#include "phoenix/persistence/store_link.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/outbox_relay.hpp"
#include "phoenix/sagas/state.hpp"
#include "phoenix/sagas/testing/participants.hpp"
#include "phoenix/testkit/actor_test.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace phoenix::sagas::testing {

/// GoogleTest fixture for saga authors: runs one saga type on CAF's deterministic
/// scheduler with virtual time, over a real SQLite store (in a temporary directory) and
/// the real coordinator and outbox relay; scripted participants answer its commands
/// instead of a broker.
///
///   class lead_saga_test : public phoenix::sagas::testing::saga_test {};
///   TEST_F(lead_saga_test, failed_scoring_releases_the_quota) {
///     use(lead_saga());                                  // the saga_builder's result
///     on("score").fail("model down");                    // the first attempt fails
///     ASSERT_TRUE(start("lead-1", R"({"tenant":"t1"})"));
///     EXPECT_EQ(status("lead-1"), saga_status::compensated);
///     EXPECT_EQ(log().applied, (std::vector<std::string>{
///         "reserve_quota/action", "enrich/action", "enrich/compensate",
///         "reserve_quota/compensate"}));
///   }
///
/// Every call runs the scheduler until nothing is left to do; `advance` moves virtual
/// time (firing timeouts and retry waits).
class saga_test : public testkit::actor_test {
public:
  saga_test();
  ~saga_test() override;

protected:
  /// The saga type under test; fails the test on an invalid definition.
  void use(result<saga_definition> def);

  /// Starts a saga and runs; false if the coordinator refused it (a duplicate id).
  bool start(const std::string& id, std::string data = {});
  /// The same for a saga started by an event carrying the W3C `traceparent`.
  bool start(const std::string& id, std::string data, std::string traceparent);

  /// The script of `step`'s participant for commands of `kind`.
  script& on(const std::string& step, command_kind kind = command_kind::action);

  /// Lets real participant code answer the commands instead of the scripts.
  void serve_with(std::function<std::optional<outcome>(const command&)> f) {
    log_->serve = std::move(f);
  }

  /// Moves virtual time forward and runs what falls due.
  void advance(std::chrono::milliseconds d);

  /// The saga's state as stored (the source of truth), or nullopt.
  std::optional<saga_state> saga(const std::string& id);
  /// Its status; fails the test if the saga does not exist.
  saga_status status(const std::string& id);

  /// Stops the coordinator as a crash would (state stays in the store), starts a new one
  /// and recovers `partition` of `topic` (the values `start` uses by default).
  std::uint64_t restart(const std::string& topic = "saga.test", std::int32_t partition = 0);

  /// The saga's live instance actor; invalid when it is passivated (idle for the
  /// coordinator's `passivate_after`, 1 s of virtual time by default) or unknown.
  caf::actor instance(const std::string& id);
  /// Makes the saga's live instance crash (as an exception in it would) and runs: the
  /// coordinator restarts it from the store. False if it had no live instance.
  bool crash(const std::string& id);

  const participant_log& log() const { return *log_; }
  const saga_stats& stats() const { return *stats_; }
  caf::actor coordinator() const { return coordinator_; }
  persistence::time_point now() const;

  std::string topic = "saga.test";
  std::int32_t partition = 0;
  /// The sagas' journeys (`coordinator_options::trace`): a `saga:<status>` row per
  /// durable transition, keyed by saga id; `trace->take(n)` reads them.
  std::shared_ptr<persistence::trace_log> trace =
      std::make_shared<persistence::trace_log>("test");

private:
  void spawn_coordinator_and_friends();

  std::string dir_;
  persistence::store_link link_;
  caf::actor store_;
  caf::actor coordinator_;
  caf::actor relay_;
  caf::actor participants_;
  std::optional<saga_definition> def_;
  std::shared_ptr<participant_log> log_;
  std::shared_ptr<saga_stats> stats_;
  persistence::time_point wall_base_;
  caf::actor_clock::time_point steady_base_;
};

} // namespace phoenix::sagas::testing
