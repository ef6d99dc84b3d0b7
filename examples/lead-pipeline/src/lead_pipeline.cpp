#include "phoenix/lead_pipeline/lead_pipeline.hpp"

#include "phoenix/sagas/wire.hpp"

#include <nlohmann/json.hpp>

namespace phoenix::lead_pipeline {
namespace {

struct lead {
  std::int64_t number = -1;
  std::string tenant;
  std::map<std::string, std::int64_t> fail; // step -> deliveries to fail
};

lead parse(const std::string& data) {
  lead out;
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_object()) {
    if (auto n = j.find("lead"); n != j.end() && n->is_number_integer())
      out.number = n->get<std::int64_t>();
    if (auto t = j.find("tenant"); t != j.end() && t->is_string())
      out.tenant = t->get<std::string>();
    if (auto f = j.find("fail"); f != j.end() && f->is_object())
      for (auto& [step, n] : f->items())
        if (n.is_number_integer())
          out.fail[step] = n.get<std::int64_t>();
  }
  return out;
}

bool hits(std::int64_t n, std::uint32_t every, std::int64_t offset) {
  return every > 0 && n >= 0 && n % every == offset % every;
}

} // namespace

result<sagas::saga_definition> lead_saga(const options& opts) {
  using sagas::action;
  const auto& t = opts.topics;
  sagas::step_options timed{opts.step_timeout};
  return sagas::saga_builder{"lead"}
      .reply_topic(t.replies)
      .step({"reserve_quota", action::command(t.quota), action::command(t.quota), timed})
      .step({"enrich", action::command(t.enrich), std::nullopt, timed})
      .step({"score", action::command(t.score), std::nullopt, timed})
      .step({"notify_crm", action::command(t.crm), action::command(t.crm), timed})
      .build();
}

std::optional<sagas::saga_start> start_of(const runtime::envelope& ev) {
  return sagas::saga_start{ev.id, ev.payload};
}

participants::participants(options opts) : opts_(std::move(opts)) {}

std::optional<sagas::outcome> participants::handle(const sagas::command& c) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = done_.find(c.command_id); i != done_.end()) {
    ++duplicates_;
    return i->second; // applied before: answer again, do not apply again
  }
  auto l = parse(c.data);
  const auto& f = opts_.failures;
  bool undo = c.kind == sagas::command_kind::compensate;
  auto apply = [&](sagas::outcome o) {
    done_.emplace(c.command_id, o);
    ++applied_[c.command_id];
    return o;
  };
  // A timed-out step is compensated although its command may not have arrived yet (a
  // killed node, a slow partition): a release or retraction that finds nothing to undo
  // leaves a tombstone, and the action arriving after it is refused, not applied.
  if (c.step == "reserve_quota") {
    if (undo) {
      if (reserved_.erase(c.saga_id) > 0)
        --quota_[l.tenant];
      else
        cancelled_.insert({c.saga_id, c.step});
      return apply(sagas::outcome::success());
    }
    if (cancelled_.count({c.saga_id, c.step}))
      return apply(sagas::outcome::failure("reservation of " + c.saga_id +
                                           " released before it arrived"));
    // A refusal is not remembered: a retry may find quota.
    if (hits(l.number, f.quota_exhausted_every, 1))
      return sagas::outcome::failure("tenant " + l.tenant + ": quota exhausted");
    ++quota_[l.tenant];
    reserved_.insert(c.saga_id);
    return apply(sagas::outcome::success());
  }
  if (c.step == "score" && hits(l.number, f.score_fails_every, 3))
    return sagas::outcome::failure("scoring model unavailable");
  if (c.step == "notify_crm") {
    if (undo) {
      if (notified_.erase(c.saga_id) == 0)
        cancelled_.insert({c.saga_id, c.step});
      return apply(sagas::outcome::success());
    }
    if (cancelled_.count({c.saga_id, c.step}))
      return apply(sagas::outcome::failure("notification of " + c.saga_id +
                                           " retracted before it arrived"));
    notified_.insert(c.saga_id);
    auto o = apply(sagas::outcome::success());
    if (hits(l.number, f.crm_silent_every, 7))
      return std::nullopt; // applied, acknowledgement lost
    return o;
  }
  return apply(sagas::outcome::success()); // enrich, score
}

bool participants::unavailable(const sagas::command& c) {
  if (c.kind == sagas::command_kind::compensate)
    return false;
  auto l = parse(c.data);
  auto f = l.fail.find(c.step);
  if (f == l.fail.end())
    return false;
  std::lock_guard<std::mutex> guard{mtx_};
  if (done_.count(c.command_id))
    return false; // applied already: answered from memory
  auto& n = unavailable_[c.command_id];
  if (n >= f->second)
    return false;
  ++n;
  return true;
}

kafka::record_handler participants::handler(publish_fn publish) {
  return [this, publish](const runtime::envelope_view& ev, const kafka::record_view&) {
    auto c = sagas::read_command(ev);
    if (!c)
      return kafka::handler_status::rejected;
    if (unavailable(*c))
      return kafka::handler_status::retry; // the service did not answer: try again
    if (auto o = handle(*c))
      publish(c->reply_topic, c->saga_id, sagas::make_reply(*c, *o));
    return kafka::handler_status::done;
  };
}

std::map<std::string, int> participants::applied() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return applied_;
}

std::map<std::string, int> participants::unavailable_answers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return unavailable_;
}

std::size_t participants::duplicates() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return duplicates_;
}

std::map<std::string, int> participants::quota() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return quota_;
}

std::set<std::string> participants::notified() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return notified_;
}

} // namespace phoenix::lead_pipeline
