#include "phoenix/sagas/definition.hpp"

#include "phoenix/sagas/errc.hpp"

#include <algorithm>
#include <set>

namespace phoenix::sagas {

const char* to_string(command_kind k) noexcept {
  return k == command_kind::action ? "action" : "compensate";
}

std::string make_command_id(const std::string& saga_id, const std::string& step,
                            command_kind kind) {
  std::string id;
  id.reserve(saga_id.size() + step.size() + 12);
  id.append(saga_id).append(1, '/').append(step).append(1, '/').append(to_string(kind));
  return id;
}

std::chrono::milliseconds retry_policy::wait_before(std::uint32_t next) const {
  auto wait = backoff;
  for (std::uint32_t i = 2; i < next && wait < backoff_max; ++i)
    wait *= 2;
  return std::min(wait, backoff_max);
}

int saga_definition::index_of(const std::string& name) const {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].decl.name == name)
      return static_cast<int>(i);
  return -1;
}

saga_builder::saga_builder(std::string type) {
  def_.type = std::move(type);
}

saga_builder& saga_builder::reply_topic(std::string topic) {
  def_.reply_topic = std::move(topic);
  return *this;
}

saga_builder& saga_builder::step(step_decl s) {
  def_.steps.push_back({std::move(s), stage_++});
  return *this;
}

saga_builder& saga_builder::parallel(std::vector<step_decl> group) {
  if (group.empty())
    empty_group_ = true;
  for (auto& s : group)
    def_.steps.push_back({std::move(s), stage_});
  ++stage_;
  return *this;
}

saga_builder& saga_builder::compensation_retry(retry_policy p) {
  def_.compensation_retry = p;
  return *this;
}

result<saga_definition> saga_builder::build() const {
  auto fail = [this](const std::string& what) -> result<saga_definition> {
    return make_saga_error(errc::invalid_definition, "saga '" + def_.type + "': " + what);
  };
  if (def_.type.empty())
    return fail("the saga type needs a name");
  if (def_.steps.empty())
    return fail("no steps");
  if (empty_group_)
    return fail("a parallel group has no steps");
  if (def_.compensation_retry.attempts == 0)
    return fail("compensation_retry: attempts must be at least 1");
  std::set<std::string> names;
  bool commands = false;
  auto check_action = [&](const std::string& step, const action& a,
                          const char* what) -> std::string {
    if (a.is_local() && !a.local)
      return "step '" + step + "': " + what + " has neither a topic nor a local call";
    if (!a.is_local())
      commands = true;
    return {};
  };
  for (const auto& s : def_.steps) {
    const auto& d = s.decl;
    if (d.name.empty())
      return fail("a step has an empty name");
    if (d.name.find('/') != std::string::npos)
      return fail("step '" + d.name + "': a step name cannot contain '/'");
    if (!names.insert(d.name).second)
      return fail("duplicate step name '" + d.name + "'");
    if (auto e = check_action(d.name, d.action, "the action"); !e.empty())
      return fail(e);
    if (d.compensation)
      if (auto e = check_action(d.name, *d.compensation, "the compensation"); !e.empty())
        return fail(e);
    if (d.options.timeout.count() < 0)
      return fail("step '" + d.name + "': negative timeout");
    if (d.options.retry.attempts == 0)
      return fail("step '" + d.name + "': retry attempts must be at least 1");
  }
  if (commands && def_.reply_topic.empty())
    return fail("steps send commands but the saga has no reply topic");
  auto def = def_;
  def.stages = stage_;
  return def;
}

} // namespace phoenix::sagas
