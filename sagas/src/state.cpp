#include "phoenix/sagas/state.hpp"

#include "phoenix/sagas/errc.hpp"

#include <cstring>

namespace phoenix::sagas {
namespace {

// compensation_failed is the status the store's retention keeps.
constexpr const char* saga_names[] = {"running", "compensating", "completed", "compensated",
                                      persistence::saga_status_kept};
constexpr const char* step_names[] = {
    "pending",   "running",      "retry_wait",        "done",        "failed",
    "timed_out", "compensating", "compensation_wait", "compensated", "compensation_failed"};
constexpr std::uint8_t format_version = 1;

// A compact binary layout: an idle saga's row is read at every recovery and written at
// every transition, so it stays small and cheap to code.
void put_u64(std::string& out, std::uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>((x & 0x7f) | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out.append(s);
}

std::uint64_t zigzag(std::int64_t x) {
  return (static_cast<std::uint64_t>(x) << 1) ^ static_cast<std::uint64_t>(x >> 63);
}
std::int64_t unzigzag(std::uint64_t x) {
  return static_cast<std::int64_t>(x >> 1) ^ -static_cast<std::int64_t>(x & 1);
}

struct reader {
  const std::string& in;
  std::size_t pos = 0;
  bool ok = true;

  std::uint64_t u64() {
    std::uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) {
        ok = false;
        return 0;
      }
      auto b = static_cast<unsigned char>(in[pos++]);
      x |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80))
        return x;
    }
    ok = false;
    return 0;
  }
  std::string str() {
    auto n = u64();
    if (!ok || n > in.size() - pos) {
      ok = false;
      return {};
    }
    std::string s = in.substr(pos, n);
    pos += n;
    return s;
  }
};

} // namespace

const char* to_string(saga_status s) noexcept {
  return saga_names[static_cast<int>(s)];
}

const char* to_string(step_status s) noexcept {
  return step_names[static_cast<int>(s)];
}

std::optional<saga_status> saga_status_from(const std::string& text) noexcept {
  for (int i = 0; i < 5; ++i)
    if (text == saga_names[i])
      return static_cast<saga_status>(i);
  return std::nullopt;
}

bool is_final(saga_status s) noexcept {
  return s == saga_status::completed || s == saga_status::compensated ||
         s == saga_status::compensation_failed;
}

micros to_micros(persistence::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch())
      .count();
}

persistence::time_point from_micros(micros us) noexcept {
  return persistence::time_point{
      std::chrono::duration_cast<persistence::time_point::duration>(
          std::chrono::microseconds{us})};
}

persistence::saga_record to_record(const saga_state& s,
                                   const std::vector<std::string>& step_names) {
  persistence::saga_record r;
  r.id.value = s.id;
  r.type = s.type;
  r.topic = s.topic;
  r.partition = s.partition;
  r.status = to_string(s.status);
  r.finished = is_final(s.status);
  r.updated_at = from_micros(s.updated);
  auto& out = r.data;
  out.reserve(32 + s.data.size() + s.last_error.size() + s.steps.size() * 8);
  out.push_back(static_cast<char>(format_version));
  put_u64(out, s.stage);
  put_u64(out, zigzag(s.created));
  put_str(out, s.data);
  put_str(out, s.last_error);
  put_u64(out, s.steps.size());
  for (const auto& st : s.steps) {
    out.push_back(static_cast<char>(st.status));
    put_u64(out, st.attempts);
    put_u64(out, zigzag(st.at));
  }
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    put_str(out, i < step_names.size() ? step_names[i] : std::string{});
  if (!s.trace.empty()) // last and optional: rows written without it still read
    put_str(out, s.trace);
  return r;
}

namespace {

result<saga_state> parse(const persistence::saga_record& r,
                         std::vector<std::string>* names) {
  auto bad = [&r](const char* what) -> result<saga_state> {
    return make_saga_error(errc::bad_message, "saga '" + r.id.value + "': " + what);
  };
  auto status = saga_status_from(r.status);
  if (!status)
    return bad("unknown status");
  if (r.data.empty() || static_cast<std::uint8_t>(r.data[0]) != format_version)
    return bad("state written by another version");
  saga_state s;
  s.id = r.id.value;
  s.type = r.type;
  s.topic = r.topic;
  s.partition = r.partition;
  s.version = r.version;
  s.status = *status;
  s.updated = to_micros(r.updated_at);
  reader in{r.data, 1};
  s.stage = static_cast<std::uint16_t>(in.u64());
  s.created = unzigzag(in.u64());
  s.data = in.str();
  s.last_error = in.str();
  auto n = in.u64();
  if (!in.ok || n > r.data.size())
    return bad("truncated state");
  s.steps.resize(n);
  for (auto& st : s.steps) {
    if (in.pos >= r.data.size())
      return bad("truncated state");
    auto code = static_cast<std::uint8_t>(r.data[in.pos++]);
    if (code > static_cast<std::uint8_t>(step_status::compensation_failed))
      return bad("unknown step status");
    st.status = static_cast<step_status>(code);
    st.attempts = static_cast<std::uint16_t>(in.u64());
    st.at = unzigzag(in.u64());
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto name = in.str();
    if (names)
      names->push_back(std::move(name));
  }
  if (in.ok && in.pos < r.data.size())
    s.trace = in.str();
  if (!in.ok)
    return bad("truncated state");
  return s;
}

} // namespace

result<saga_state> from_record(const persistence::saga_record& r) {
  return parse(r, nullptr);
}

result<std::vector<std::string>> step_names_of(const persistence::saga_record& r) {
  std::vector<std::string> names;
  auto s = parse(r, &names);
  if (!s)
    return s.error();
  return names;
}

} // namespace phoenix::sagas
