#include "phoenix/sagas/wire.hpp"

#include "phoenix/sagas/errc.hpp"

#include <cstdint>
#include <map>

namespace phoenix::sagas {
namespace {

std::string source_of(const std::string& type) {
  return "/phoenix/sagas/" + type;
}

// Reads the saga extensions of an envelope or a view into a map.
template <class Env>
std::map<std::string, std::string> saga_headers(const Env& ev) {
  std::map<std::string, std::string> out;
  auto take = [&out](std::string_view k, std::string_view v) {
    if (k.substr(0, 5) == "saga-")
      out.emplace(std::string{k}, std::string{v});
  };
  if constexpr (std::is_same_v<Env, runtime::envelope>) {
    for (const auto& h : ev.extensions)
      take(h.key, h.value);
  } else {
    ev.for_each_extension([&take](const auto& h) { take(h.key, h.value); });
  }
  return out;
}

result<command_kind> kind_from(const std::string& text) {
  if (text == "action")
    return command_kind::action;
  if (text == "compensate")
    return command_kind::compensate;
  return make_saga_error(errc::bad_message, "saga-kind '" + text +
                                                "' is neither action "
                                                "nor compensate");
}

// Checks that every header of `names` is there; returns the saga-kind.
result<command_kind> required(std::map<std::string, std::string>& hs,
                              std::initializer_list<const char*> names, const char* what) {
  for (auto name : names)
    if (hs.find(name) == hs.end())
      return make_saga_error(errc::bad_message,
                             std::string{what} + " without the " + name + " header");
  return kind_from(hs[saga_kind_header]);
}

template <class Env>
result<command> read_command_of(const Env& ev) {
  auto hs = saga_headers(ev);
  auto kind = required(hs,
                       {saga_id_header, saga_type_header, saga_step_header,
                        saga_kind_header, saga_reply_to_header},
                       "command");
  if (!kind)
    return kind.error();
  command c;
  c.saga_id = hs[saga_id_header];
  c.saga_type = hs[saga_type_header];
  c.step = hs[saga_step_header];
  c.kind = *kind;
  c.command_id = std::string{ev.id};
  c.reply_topic = hs[saga_reply_to_header];
  c.data = std::string{ev.payload};
  if (auto a = hs.find(saga_attempt_header); a != hs.end())
    c.attempt = static_cast<std::uint32_t>(std::strtoul(a->second.c_str(), nullptr, 10));
  if (c.command_id != make_command_id(c.saga_id, c.step, c.kind))
    return make_saga_error(errc::bad_message, "command id '" + c.command_id +
                                                  "' does not match its saga headers");
  return c;
}

template <class Env>
result<saga_reply> read_reply_of(const Env& ev) {
  auto hs = saga_headers(ev);
  auto kind = required(
      hs, {saga_id_header, saga_step_header, saga_kind_header, saga_outcome_header},
      "reply");
  if (!kind)
    return kind.error();
  saga_reply r;
  r.saga_id = hs[saga_id_header];
  r.step = hs[saga_step_header];
  r.kind = *kind;
  auto& o = hs[saga_outcome_header];
  if (o != "ok" && o != "failed")
    return make_saga_error(errc::bad_message,
                           "saga-outcome '" + o + "' is neither ok nor failed");
  r.outcome.ok = o == "ok";
  if (!r.outcome.ok)
    r.outcome.error = std::string{ev.payload};
  if (ev.trace) {
    if constexpr (std::is_same_v<Env, runtime::envelope>)
      r.trace = ev.trace->to_header();
    else
      r.trace = ev.trace->to_owned().to_header();
  }
  return r;
}

void put_u32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

} // namespace

runtime::envelope command_envelope(const command& c) {
  runtime::envelope env;
  env.id = c.command_id;
  env.source = source_of(c.saga_type);
  env.type = c.saga_type + "." + c.step + "." + to_string(c.kind);
  env.payload = c.data;
  env.extensions = {{saga_id_header, c.saga_id},
                    {saga_type_header, c.saga_type},
                    {saga_step_header, c.step},
                    {saga_kind_header, to_string(c.kind)},
                    {saga_attempt_header, std::to_string(c.attempt)},
                    {saga_reply_to_header, c.reply_topic}};
  return env;
}

result<command> read_command(const runtime::envelope_view& ev) {
  return read_command_of(ev);
}
result<command> read_command(const runtime::envelope& ev) {
  return read_command_of(ev);
}

runtime::envelope make_reply(const command& c, const outcome& o) {
  runtime::envelope env;
  // One id per attempt: a consumer's idempotency gate must not take the reply to a
  // retry for a duplicate of the failed attempt's.
  env.id = c.command_id + "/reply/" + std::to_string(c.attempt);
  env.source = source_of(c.saga_type) + "/participant";
  env.type = c.saga_type + ".reply";
  env.content_type = "text/plain";
  env.payload = o.ok ? std::string{} : o.error;
  env.extensions = {{saga_id_header, c.saga_id},
                    {saga_step_header, c.step},
                    {saga_kind_header, to_string(c.kind)},
                    {saga_outcome_header, o.ok ? "ok" : "failed"}};
  return env;
}

result<saga_reply> read_reply(const runtime::envelope_view& ev) {
  return read_reply_of(ev);
}
result<saga_reply> read_reply(const runtime::envelope& ev) {
  return read_reply_of(ev);
}

std::string pack_headers(const std::vector<runtime::header>& hs) {
  std::string out;
  for (const auto& h : hs) {
    put_u32(out, h.key.size());
    out.append(h.key);
    put_u32(out, h.value.size());
    out.append(h.value);
  }
  return out;
}

result<std::vector<runtime::header>> unpack_headers(const std::string& text) {
  std::vector<runtime::header> out;
  out.reserve(12); // a command's: CloudEvents attributes, traceparent, saga extensions
  std::size_t pos = 0;
  auto field = [&](std::string& dst) {
    if (text.size() - pos < 4)
      return false;
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= static_cast<std::size_t>(static_cast<unsigned char>(text[pos + i])) << (8 * i);
    pos += 4;
    if (text.size() - pos < n)
      return false;
    dst = text.substr(pos, n);
    pos += n;
    return true;
  };
  while (pos < text.size()) {
    runtime::header h;
    if (!field(h.key) || !field(h.value))
      return make_saga_error(errc::bad_message, "truncated outbox headers");
    out.push_back(std::move(h));
  }
  return out;
}

} // namespace phoenix::sagas
