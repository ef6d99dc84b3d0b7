#include "phoenix/sagas/testing/participants.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/wire.hpp"

#include <caf/all.hpp>

namespace phoenix::sagas::testing {

answer script::next() {
  if (!answers_.empty()) {
    auto a = std::move(answers_.front());
    answers_.pop_front();
    return a;
  }
  return forever_ ? *forever_ : answer{};
}

caf::actor spawn_participants(caf::actor_system& sys, std::shared_ptr<participant_log> log,
                              caf::actor coordinator) {
  return sys.spawn([log, coordinator](caf::event_based_actor*) -> caf::behavior {
    return {
        [=](kafka::produce_atom, kafka::outgoing_record& rec) -> kafka::delivery_report {
          kafka::delivery_report report{rec.topic, 0, 0};
          auto env = runtime::decode_envelope(rec.headers, rec.value);
          if (!env)
            return report;
          auto cmd = read_command(*env);
          if (!cmd)
            return report;
          auto name = cmd->step + "/" + to_string(cmd->kind);
          log->delivered.push_back(name);
          log->traceparents.push_back(env->trace ? env->trace->to_header() : std::string{});
          auto reply = [&](const outcome& o) {
            caf::anon_send(coordinator, saga_reply_atom::value,
                           saga_reply{cmd->saga_id, cmd->step, cmd->kind, o});
          };
          if (log->serve) {
            if (auto o = log->serve(*cmd))
              reply(*o);
            return report;
          }
          // The participant's dedupe: a command id it applied is answered again, not
          // redone.
          if (log->applied_ids.count(cmd->command_id)) {
            ++log->duplicates;
            reply(outcome::success());
            return report;
          }
          auto a = log->scripts[{cmd->step, cmd->kind}].next();
          switch (a.what) {
          case answer::kind::ok:
          case answer::kind::lose_reply:
            log->applied_ids.insert(cmd->command_id);
            log->applied.push_back(name);
            log->applied_by_saga[cmd->saga_id].push_back(name);
            if (a.what == answer::kind::ok)
              reply(outcome::success());
            break;
          case answer::kind::fail:
            reply(outcome::failure(a.error));
            break;
          case answer::kind::silent:
            break;
          }
          return report;
        }};
  });
}

} // namespace phoenix::sagas::testing
