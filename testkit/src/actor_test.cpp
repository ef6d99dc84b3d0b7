#include "phoenix/testkit/actor_test.hpp"

#include <caf/atom.hpp>
#include <caf/send.hpp>

namespace phoenix::testkit {
namespace {

caf::actor_system_config& deterministic(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

} // namespace

actor_test::actor_test()
  : sys(deterministic(cfg)),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    probe_inbox_(std::make_shared<std::vector<caf::message>>()) {
  // Start the virtual clock away from the epoch so `now - period` stays positive.
  sched.clock().current_time += std::chrono::hours{1};
}

actor_test::~actor_test() {
  run();
  // Actors a test left running (a supervisor, a probe) would make the system's
  // destructor wait forever on the deterministic scheduler.
  sys.await_actors_before_shutdown(false);
}

std::size_t actor_test::run() { return sched.run(); }

std::size_t actor_test::advance_time(std::chrono::nanoseconds d) {
  sched.advance_time(std::chrono::duration_cast<caf::timespan>(d));
  return run();
}

std::size_t actor_test::trigger_timeouts() {
  sched.trigger_timeouts();
  return run();
}

bool actor_test::step() { return sched.try_run_once(); }

caf::actor actor_test::spawn_probe() {
  auto inbox = probe_inbox_;
  return sys.spawn([inbox](caf::event_based_actor* self) -> caf::behavior {
    // Everything lands in the default handler, which records it.
    self->set_default_handler([inbox](caf::scheduled_actor*, caf::message_view& x) {
      inbox->push_back(x.move_content_to_message());
      return caf::result<caf::message>{caf::message{}};
    });
    return {[](caf::atom_constant<caf::atom("pk_never")>) {}};
  });
}

std::optional<caf::message> actor_test::request_message(const caf::actor& dest,
                                                        caf::message msg) {
  auto reply = std::make_shared<std::optional<caf::message>>();
  sys.spawn([dest, msg, reply](caf::event_based_actor* self) {
    self->request(dest, caf::infinite, msg)
      .then([reply](caf::message& m) { *reply = std::move(m); });
  });
  run();
  return *reply;
}

} // namespace phoenix::testkit
