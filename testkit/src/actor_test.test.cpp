// The deterministic fixture itself: the README's example, request/reply, and that
// nothing runs or fires until the test says so.

#include "phoenix/testkit/actor_test.hpp"

#include <caf/all.hpp>

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using add_atom = caf::atom_constant<caf::atom("add")>;

caf::behavior delayed_ponger(caf::event_based_actor* self) {
  return {[self](ping_atom, caf::actor reply_to) {
    self->delayed_send(reply_to, std::chrono::seconds{5}, pong_atom::value);
  }};
}

caf::behavior adder() {
  return {[](add_atom, int a, int b) { return a + b; }};
}

class actor_test_fixture : public phoenix::testkit::actor_test {};

TEST_F(actor_test_fixture, timers_fire_only_when_virtual_time_reaches_them) {
  auto ponger = sys.spawn(delayed_ponger);
  auto probe = spawn_probe();
  caf::anon_send(ponger, ping_atom::value, probe);
  run();
  EXPECT_TRUE(probe_messages().empty());
  advance_time(std::chrono::seconds{4});
  EXPECT_TRUE(probe_messages().empty());
  advance_time(std::chrono::seconds{1});
  ASSERT_EQ(probe_messages().size(), 1u);
  EXPECT_TRUE(probe_messages()[0].match_elements<pong_atom>());
}

TEST_F(actor_test_fixture, nothing_runs_until_the_scheduler_is_stepped) {
  auto probe = spawn_probe();
  caf::anon_send(probe, add_atom::value, 1, 2);
  EXPECT_TRUE(probe_messages().empty());
  EXPECT_TRUE(step());
  ASSERT_EQ(probe_messages().size(), 1u);
  EXPECT_TRUE((probe_messages()[0].match_elements<add_atom, int, int>()));
  EXPECT_FALSE(step()) << "no message left";
}

TEST_F(actor_test_fixture, request_returns_the_reply) {
  auto a = sys.spawn(adder);
  auto reply = request(a, add_atom::value, 2, 3);
  ASSERT_TRUE(reply.has_value());
  ASSERT_TRUE(reply->match_elements<int>());
  EXPECT_EQ(reply->get_as<int>(0), 5);
}

TEST_F(actor_test_fixture, request_to_a_dead_actor_returns_nothing) {
  auto a = sys.spawn(adder);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  EXPECT_FALSE(request(a, add_atom::value, 2, 3).has_value());
}

} // namespace
