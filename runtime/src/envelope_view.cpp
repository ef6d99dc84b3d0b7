#include "phoenix/runtime/envelope_view.hpp"

#include "envelope_keys.hpp"
#include "lower_hex.hpp"
#include "printable_ascii.hpp"

#include <algorithm>
#include <array>

namespace phoenix::runtime {
namespace {

using namespace envelope_keys;

// Header keys come from the network and may hold any byte; keep them printable and short
// in messages that end up in logs.
std::string quoted(std::string_view key) {
  constexpr std::size_t max_shown = 64;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < key.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (key.size() > max_shown)
    out += "...";
  out += "'";
  return out;
}

error make_err(envelope_errc code, std::string message) {
  return error{make_error_code(code), std::move(message)};
}

// Decodes one code point starting at text[i]; returns its length, or 0 if the sequence
// is not strict UTF-8 (Unicode Table 3-7, "well-formed byte sequences").
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& cp) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0f;
    if (b0 == 0xe0)
      lo = 0xa0; // overlong below U+0800
    else if (b0 == 0xed)
      hi = 0x9f; // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xf0)
      lo = 0x90; // overlong below U+10000
    else if (b0 == 0xf4)
      hi = 0x8f; // above U+10FFFF
  } else {
    return 0; // continuation byte, overlong lead C0/C1, or F5..FF
  }
  if (text.size() - i < len)
    return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xbf;
    if (b < min || b > max)
      return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  return len;
}

bool is_control(char32_t cp) noexcept {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

// Identifiers that end up in keys, logs and SQL rows: non-empty, strict UTF-8, no
// control characters.
result<void> check_text(std::string_view key, std::string_view value) {
  if (value.empty())
    return make_err(envelope_errc::empty_value, "header " + quoted(key) + " is empty");
  // Printable ASCII, what ids, sources and types nearly always are, needs no decoding.
  std::size_t i = detail::printable_ascii_prefix(value);
  while (i < value.size()) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(value, i, cp);
    if (len == 0)
      return make_err(envelope_errc::invalid_utf8, "header " + quoted(key) +
                                                       " is not valid UTF-8 at byte " +
                                                       std::to_string(i));
    if (is_control(cp))
      return make_err(envelope_errc::invalid_utf8,
                      "header " + quoted(key) + " contains a control character at byte " +
                          std::to_string(i));
    i += len;
  }
  return {};
}

int hex_value(char c) noexcept {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// The mapped field a header key names, or f_count for an extension. Keys are compared
// by length first, which rules out all but one or two candidates.
std::size_t field_of(std::string_view key) noexcept {
  std::size_t f = 0;
  while (f < f_count && mapped_keys[f] != key)
    ++f;
  return f;
}

} // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, i, cp);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

trace_context trace_context_view::to_owned() const {
  trace_context tc;
  tc.trace_id = std::string(trace_id);
  tc.parent_id = std::string(parent_id);
  tc.flags = flags;
  return tc;
}

result<trace_context_view> trace_context_view::parse(std::string_view text) {
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  constexpr std::size_t size = 2 + 1 + 32 + 1 + 16 + 1 + 2;
  const auto fail = [](std::string what) {
    return make_err(envelope_errc::bad_traceparent, "header 'traceparent' " + what);
  };
  if (text.size() != size)
    return fail("has " + std::to_string(text.size()) + " characters, expected " +
                std::to_string(size));
  if (text[2] != '-' || text[35] != '-' || text[52] != '-')
    return fail("is not of the form vv-<trace-id>-<parent-id>-ff");
  const std::string_view trace_id = text.substr(3, 32);
  const std::string_view parent_id = text.substr(36, 16);
  const std::string_view flags = text.substr(53, 2);
  const auto version = detail::scan_lower_hex2(text.data());
  const auto trace = detail::scan_lower_hex<32>(trace_id.data());
  const auto parent = detail::scan_lower_hex<16>(parent_id.data());
  if (!version.hex || !trace.hex || !parent.hex ||
      !detail::scan_lower_hex2(flags.data()).hex)
    return fail("has a character that is not a lowercase hex digit");
  if (text.substr(0, 2) == "ff")
    return fail("has the forbidden version ff");
  if (!trace.nonzero)
    return fail("has an all-zero trace id");
  if (!parent.nonzero)
    return fail("has an all-zero parent id");
  trace_context_view tc;
  tc.trace_id = trace_id;
  tc.parent_id = parent_id;
  tc.flags = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  return tc;
}

bool envelope_view::is_mapped_header(std::string_view key) noexcept {
  return field_of(key) != f_count;
}

result<envelope_view> decode_envelope_view(const header_view* headers, std::size_t count,
                                           std::string_view payload,
                                           const envelope_limits& limits) {
  if (count > limits.max_headers)
    return make_err(
        envelope_errc::too_many_headers,
        "record has " + std::to_string(count) + " headers, more than max_headers " +
            std::to_string(limits.max_headers) + "; the first beyond the limit is " +
            quoted(headers[limits.max_headers].key));
  if (payload.size() > limits.max_payload)
    return make_err(envelope_errc::payload_too_large,
                    "payload (record value) has " + std::to_string(payload.size()) +
                        " bytes, more than max_payload " +
                        std::to_string(limits.max_payload));

  // Positions of the mapped headers; found[f] == nullptr while absent.
  std::array<const header_view*, f_count> found{};
  for (std::size_t i = 0; i < count; ++i) {
    const header_view& h = headers[i];
    if (h.key.size() > limits.max_header_value || h.value.size() > limits.max_header_value)
      return make_err(envelope_errc::header_too_large,
                      "header " + quoted(h.key) + " has a " +
                          (h.key.size() > limits.max_header_value ? "key" : "value") +
                          " of " + std::to_string(std::max(h.key.size(), h.value.size())) +
                          " bytes, more than max_header_value " +
                          std::to_string(limits.max_header_value));
    const std::size_t f = field_of(h.key);
    if (f == f_count)
      continue;
    if (found[f] != nullptr)
      return make_err(envelope_errc::duplicate_header,
                      "header " + quoted(h.key) + " appears more than once");
    found[f] = &h;
  }
  for (std::size_t f = 0; f < required_count; ++f)
    if (found[f] == nullptr)
      return make_err(envelope_errc::missing_header,
                      "required header " + quoted(mapped_keys[f]) + " is missing");

  for (std::size_t f : {f_id, f_source, f_type, f_tenant_id, f_idempotency_key})
    if (found[f] != nullptr)
      if (auto ok = check_text(found[f]->key, found[f]->value); !ok)
        return ok.error();
  if (found[f_specversion]->value != "1.0")
    return make_err(envelope_errc::bad_specversion,
                    "header 'ce_specversion' is " + quoted(found[f_specversion]->value) +
                        ", only '1.0' is supported");

  envelope_view env;
  if (found[f_traceparent] != nullptr) {
    auto tc = trace_context_view::parse(found[f_traceparent]->value);
    if (!tc)
      return tc.error();
    env.trace = *tc;
  }
  env.id = found[f_id]->value;
  env.source = found[f_source]->value;
  env.type = found[f_type]->value;
  env.specversion = found[f_specversion]->value;
  if (found[f_content_type] != nullptr)
    env.content_type = found[f_content_type]->value;
  const auto optional_of = [&](field f) -> std::optional<std::string_view> {
    if (found[f] == nullptr)
      return std::nullopt;
    return found[f]->value;
  };
  env.time = optional_of(f_time);
  env.subject = optional_of(f_subject);
  env.tenant_id = optional_of(f_tenant_id);
  env.idempotency_key = optional_of(f_idempotency_key);
  env.payload = payload;
  env.headers_ = headers;
  env.header_count_ = count;
  return env;
}

envelope envelope_view::to_envelope() const {
  const auto owned = [](const std::optional<std::string_view>& v) {
    return v ? std::optional<std::string>{std::string(*v)} : std::nullopt;
  };
  envelope env;
  env.id = std::string(id);
  env.source = std::string(source);
  env.type = std::string(type);
  env.specversion = std::string(specversion);
  env.content_type = std::string(content_type);
  env.time = owned(time);
  env.subject = owned(subject);
  // Set either way: a new envelope starts with the context of the span open on this
  // thread, and a decoded one carries the record's own.
  env.trace = trace ? std::optional<trace_context>{trace->to_owned()} : std::nullopt;
  env.tenant_id = owned(tenant_id);
  env.idempotency_key = owned(idempotency_key);
  for_each_extension([&](const header_view& h) {
    env.extensions.push_back(header{std::string(h.key), std::string(h.value)});
  });
  env.payload = std::string(payload);
  return env;
}

envelope_view view_of(const envelope& env, std::vector<header_view>& storage) {
  const auto viewed = [](const std::optional<std::string>& v) {
    return v ? std::optional<std::string_view>{*v} : std::nullopt;
  };
  envelope_view view;
  view.id = env.id;
  view.source = env.source;
  view.type = env.type;
  view.specversion = env.specversion;
  view.content_type = env.content_type;
  view.time = viewed(env.time);
  view.subject = viewed(env.subject);
  if (env.trace)
    view.trace =
        trace_context_view{env.trace->trace_id, env.trace->parent_id, env.trace->flags};
  view.tenant_id = viewed(env.tenant_id);
  view.idempotency_key = viewed(env.idempotency_key);
  view.payload = env.payload;
  storage.clear();
  for (const header& h : env.extensions)
    if (!envelope_view::is_mapped_header(h.key))
      storage.push_back({h.key, h.value});
  view.headers_ = storage.data();
  view.header_count_ = storage.size();
  return view;
}

} // namespace phoenix::runtime
