#include "phoenix/testkit/actor_test.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
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

std::size_t actor_test::run() {
  return sched.run();
}

std::size_t actor_test::advance_time(std::chrono::nanoseconds d) {
  sched.advance_time(std::chrono::duration_cast<caf::timespan>(d));
  return run();
}

std::size_t actor_test::trigger_timeouts() {
  sched.trigger_timeouts();
  return run();
}

bool actor_test::step() {
  return sched.try_run_once();
}

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
  // A handler's return value goes back to the sender as an ordinary message, which the
  // helper's default handler takes as the reply.
  auto reply = std::make_shared<std::optional<caf::message>>();
  auto helper =
      sys.spawn([dest, msg, reply](caf::event_based_actor* self) -> caf::behavior {
        self->set_default_handler([reply](caf::scheduled_actor* me, caf::message_view& x) {
          *reply = x.move_content_to_message();
          me->quit();
          return caf::result<caf::message>{caf::message{}};
        });
        self->send(dest, msg);
        return {[](caf::atom_constant<caf::atom("rq_never")>) {}};
      });
  run();
  caf::anon_send_exit(helper, caf::exit_reason::user_shutdown);
  run();
  return *reply;
}

} // namespace phoenix::testkit
