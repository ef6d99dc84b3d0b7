#include "machine.hpp"

namespace phoenix::sagas::detail {
namespace {

micros us(std::chrono::milliseconds d) {
  return static_cast<micros>(d.count()) * 1000;
}

} // namespace

micros machine::timeout_of(int step) const {
  return us(def_.steps[static_cast<std::size_t>(step)].decl.options.timeout);
}

saga_state machine::start(std::string id, std::string data, std::string topic,
                          std::int32_t partition, micros now, effects& fx) const {
  saga_state s;
  s.id = std::move(id);
  s.type = def_.type;
  s.data = std::move(data);
  s.topic = std::move(topic);
  s.partition = partition;
  s.created = now;
  s.updated = now;
  s.steps.resize(def_.steps.size());
  fx.changed = true;
  start_stage(s, now, fx);
  return s;
}

void machine::send(const saga_state& s, int step, command_kind kind, effects& fx) const {
  const auto& decl = def_.steps[static_cast<std::size_t>(step)].decl;
  const auto& act = kind == command_kind::action ? decl.action : *decl.compensation;
  command c;
  c.saga_id = s.id;
  c.saga_type = s.type;
  c.step = decl.name;
  c.kind = kind;
  c.command_id = make_command_id(s.id, decl.name, kind);
  c.attempt = s.steps[static_cast<std::size_t>(step)].attempts;
  c.reply_topic = def_.reply_topic;
  c.data = s.data;
  (act.is_local() ? fx.locals : fx.commands).push_back(std::move(c));
}

void machine::start_stage(saga_state& s, micros now, effects& fx) const {
  for (std::size_t i = 0; i < def_.steps.size(); ++i) {
    if (def_.steps[i].stage != s.stage)
      continue;
    s.steps[i] = {step_status::running, 1, now};
    send(s, static_cast<int>(i), command_kind::action, fx);
  }
}

void machine::fail_attempt(saga_state& s, int step, command_kind kind,
                           const std::string& why, micros now, bool timed_out) const {
  auto& st = s.steps[static_cast<std::size_t>(step)];
  const auto& decl = def_.steps[static_cast<std::size_t>(step)].decl;
  s.last_error = decl.name + ": " + why;
  const auto& policy =
      kind == command_kind::action ? decl.options.retry : def_.compensation_retry;
  if (st.attempts < policy.attempts) {
    st.status = kind == command_kind::action ? step_status::retry_wait
                                             : step_status::compensation_wait;
    st.at = now + us(policy.wait_before(st.attempts + 1u));
    return;
  }
  if (kind == command_kind::compensate) {
    st.status = step_status::compensation_failed;
    return;
  }
  st.status = timed_out ? step_status::timed_out : step_status::failed;
  st.at = now;
}

void machine::on_outcome(saga_state& s, int step, command_kind kind, const outcome& o,
                         micros now, effects& fx) const {
  if (step < 0 || static_cast<std::size_t>(step) >= s.steps.size() || is_final(s.status))
    return;
  auto& st = s.steps[static_cast<std::size_t>(step)];
  auto waiting =
      kind == command_kind::action ? step_status::running : step_status::compensating;
  if (st.status != waiting)
    return;
  fx.changed = true;
  if (o.ok) {
    st.status = kind == command_kind::action ? step_status::done : step_status::compensated;
    st.at = now;
  } else {
    fail_attempt(s, step, kind, o.error.empty() ? "failed" : o.error, now, false);
  }
  advance(s, now, fx);
}

void machine::on_timer(saga_state& s, micros now, effects& fx) const {
  if (is_final(s.status))
    return;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    auto& st = s.steps[i];
    auto step = static_cast<int>(i);
    auto timeout = timeout_of(step);
    switch (st.status) {
    case step_status::running:
    case step_status::compensating:
      if (timeout > 0 && st.at + timeout <= now) {
        fx.changed = true;
        fail_attempt(s, step,
                     st.status == step_status::running ? command_kind::action
                                                       : command_kind::compensate,
                     "timed out", now, true);
      }
      break;
    case step_status::retry_wait:
    case step_status::compensation_wait:
      if (st.at <= now) {
        fx.changed = true;
        bool action = st.status == step_status::retry_wait;
        st.status = action ? step_status::running : step_status::compensating;
        ++st.attempts;
        st.at = now;
        send(s, step, action ? command_kind::action : command_kind::compensate, fx);
      }
      break;
    default:
      break;
    }
  }
  if (fx.changed)
    advance(s, now, fx);
}

void machine::advance(saga_state& s, micros now, effects& fx) const {
  s.updated = now;
  if (s.status == saga_status::running) {
    bool waiting = false;
    bool failed = false;
    for (std::size_t i = 0; i < def_.steps.size(); ++i) {
      if (def_.steps[i].stage != s.stage)
        continue;
      auto st = s.steps[i].status;
      waiting |= st == step_status::running || st == step_status::retry_wait;
      failed |= st == step_status::failed || st == step_status::timed_out;
    }
    if (waiting)
      return; // a parallel group joins before it decides
    if (!failed) {
      if (++s.stage == def_.stages) {
        s.status = saga_status::completed;
        return;
      }
      start_stage(s, now, fx);
      return;
    }
    s.status = saga_status::compensating;
  }
  if (s.status != saga_status::compensating)
    return;
  // One compensation at a time, in reverse declaration order.
  for (auto i = s.steps.size(); i-- > 0;) {
    auto& st = s.steps[i];
    if (st.status == step_status::compensating ||
        st.status == step_status::compensation_wait)
      return;
    if (st.status == step_status::compensation_failed) {
      s.status = saga_status::compensation_failed;
      return;
    }
    if (st.status != step_status::done && st.status != step_status::timed_out)
      continue;
    if (!def_.steps[i].decl.compensation) {
      st.status = step_status::compensated;
      st.at = now;
      continue;
    }
    st = {step_status::compensating, 1, now};
    send(s, static_cast<int>(i), command_kind::compensate, fx);
    return;
  }
  s.status = saga_status::compensated;
}

void machine::resume(saga_state& s, effects& fx) const {
  if (is_final(s.status))
    return;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    auto st = s.steps[i].status;
    if (st == step_status::running)
      send(s, static_cast<int>(i), command_kind::action, fx);
    else if (st == step_status::compensating)
      send(s, static_cast<int>(i), command_kind::compensate, fx);
  }
}

micros machine::next_due(const saga_state& s) const {
  if (is_final(s.status))
    return 0;
  micros due = 0;
  auto consider = [&due](micros t) {
    if (due == 0 || t < due)
      due = t;
  };
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    auto timeout = timeout_of(static_cast<int>(i));
    if ((st.status == step_status::running || st.status == step_status::compensating) &&
        timeout > 0)
      consider(st.at + timeout);
    else if (st.status == step_status::retry_wait ||
             st.status == step_status::compensation_wait)
      consider(st.at);
  }
  return due;
}

} // namespace phoenix::sagas::detail
