#include "phoenix/runtime/actor_slot.hpp"

#include "phoenix/testkit/actor_test.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

using namespace phoenix::runtime;
using namespace std::chrono_literals;

namespace {

class actor_slot_test : public phoenix::testkit::actor_test {};

child_spec idle_child() {
  auto start = [](caf::actor_system& sys) -> phoenix::result<caf::actor> {
    return sys.spawn(
        []() -> caf::behavior { return {[](caf::atom_constant<caf::atom("never")>) {}}; });
  };
  return child_spec{"worker", start, restart_type::permanent, 100ms};
}

TEST_F(actor_slot_test, follows_every_incarnation_of_a_tracked_child) {
  auto slot = std::make_shared<actor_slot>();
  EXPECT_FALSE(slot->get());
  supervisor_spec spec;
  spec.name = "sup";
  spec.children.push_back(track(idle_child(), slot));
  auto sup = start_supervisor(sys, spec);
  ASSERT_TRUE(sup.has_value()) << sup.error().describe();
  run();
  auto first = slot->get();
  ASSERT_TRUE(first);

  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();
  auto second = slot->get();
  ASSERT_TRUE(second);
  EXPECT_NE(second, first);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(actor_slot_test, keeps_no_actor_alive) {
  auto slot = std::make_shared<actor_slot>();
  {
    auto a = sys.spawn(
        []() -> caf::behavior { return {[](caf::atom_constant<caf::atom("never")>) {}}; });
    slot->set(a);
    EXPECT_EQ(slot->get(), a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }
  EXPECT_FALSE(slot->get()) << "the slot kept an exited actor alive";
}

} // namespace
