#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <vector>

namespace phoenix::testkit {

/// GoogleTest fixture that runs actors on CAF's deterministic scheduler: nothing runs
/// until the test steps the scheduler, and time is virtual. Use it to assert the
/// messages actors exchange and their timers without sleeping.
///
///   class my_actor_test : public phoenix::testkit::actor_test {};
///   TEST_F(my_actor_test, replies_to_ping) {
///     auto a = sys.spawn(my_actor);
///     auto probe = spawn_probe();
///     caf::anon_send(a, ping_atom::value, probe);
///     run();
///     ASSERT_EQ(probe_messages().size(), 1u);
///   }
class actor_test : public ::testing::Test {
public:
  actor_test();
  ~actor_test() override;

protected:
  /// Runs every ready actor until no message is left; returns the messages handled.
  /// Timers do not fire: use `advance_time` for those.
  std::size_t run();

  /// Moves the virtual clock forward, firing the timers that fall due, then runs.
  std::size_t advance_time(std::chrono::nanoseconds d);

  /// Fires all pending timers, whatever their due time, then runs.
  std::size_t trigger_timeouts();

  /// Handles exactly one message of the next ready actor; false if none is ready.
  bool step();

  /// An actor that records every message it receives, for asserting what others send.
  caf::actor spawn_probe();

  /// Messages received by the probe, oldest first.
  const std::vector<caf::message>& probe_messages() const { return *probe_inbox_; }

  /// Sends a message from a helper actor, runs the scheduler, and returns what the
  /// receiver's handler returned (nullopt if nothing came back, e.g. the receiver is
  /// gone or its handler returns nothing).
  template <class... Ts>
  std::optional<caf::message> request(const caf::actor& dest, Ts&&... xs) {
    return request_message(dest, caf::make_message(std::forward<Ts>(xs)...));
  }

  std::optional<caf::message> request_message(const caf::actor& dest, caf::message msg);

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

private:
  std::shared_ptr<std::vector<caf::message>> probe_inbox_;
};

} // namespace phoenix::testkit
