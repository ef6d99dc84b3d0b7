#include "phoenix/runtime/envelope.hpp"

#include <algorithm>
#include <array>

namespace phoenix::runtime {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "phoenix.envelope"; }

  std::string message(int code) const override {
    switch (static_cast<envelope_errc>(code)) {
    case envelope_errc::missing_header:
      return "missing required header";
    case envelope_errc::duplicate_header:
      return "duplicate header";
    case envelope_errc::bad_specversion:
      return "unsupported CloudEvents specversion";
    case envelope_errc::header_too_large:
      return "header too large";
    case envelope_errc::too_many_headers:
      return "too many headers";
    case envelope_errc::payload_too_large:
      return "payload too large";
    case envelope_errc::invalid_utf8:
      return "header is not valid UTF-8 text";
    case envelope_errc::empty_value:
      return "header value is empty";
    case envelope_errc::bad_traceparent:
      return "invalid traceparent";
    }
    return "unknown envelope error";
  }
};

constexpr std::string_view k_id = "ce_id";
constexpr std::string_view k_source = "ce_source";
constexpr std::string_view k_type = "ce_type";
constexpr std::string_view k_specversion = "ce_specversion";
constexpr std::string_view k_content_type = "content-type";
constexpr std::string_view k_time = "ce_time";
constexpr std::string_view k_subject = "ce_subject";
constexpr std::string_view k_traceparent = "traceparent";
constexpr std::string_view k_tenant_id = "tenant-id";
constexpr std::string_view k_idempotency_key = "idempotency-key";

// Indexes into `mapped_keys`; the first four are required.
enum field : std::size_t {
  f_id,
  f_source,
  f_type,
  f_specversion,
  f_content_type,
  f_time,
  f_subject,
  f_traceparent,
  f_tenant_id,
  f_idempotency_key,
  f_count,
};
constexpr std::size_t required_count = 4;

constexpr std::array<std::string_view, f_count> mapped_keys = {
    k_id,   k_source,  k_type,        k_specversion, k_content_type,
    k_time, k_subject, k_traceparent, k_tenant_id,   k_idempotency_key,
};

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
  for (std::size_t i = 0; i < value.size();) {
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

bool is_lower_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int hex_value(char c) noexcept {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

bool all_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!is_lower_hex(c))
      return false;
  return true;
}

bool all_zero(std::string_view s) noexcept {
  return s.find_first_not_of('0') == s.npos;
}

} // namespace

const std::error_category& envelope_category() noexcept {
  static const category instance;
  return instance;
}

bool operator==(const header& a, const header& b) {
  return a.key == b.key && a.value == b.value;
}

bool operator==(const trace_context& a, const trace_context& b) {
  return a.trace_id == b.trace_id && a.parent_id == b.parent_id && a.flags == b.flags;
}

bool operator==(const envelope& a, const envelope& b) {
  return a.id == b.id && a.source == b.source && a.type == b.type &&
         a.specversion == b.specversion && a.content_type == b.content_type &&
         a.time == b.time && a.subject == b.subject && a.trace == b.trace &&
         a.tenant_id == b.tenant_id && a.idempotency_key == b.idempotency_key &&
         a.extensions == b.extensions && a.payload == b.payload;
}

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

std::string trace_context::to_header() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += parent_id;
  out += '-';
  out += hex[flags >> 4];
  out += hex[flags & 0xf];
  return out;
}

result<trace_context> trace_context::parse(std::string_view text) {
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
  const std::string_view version = text.substr(0, 2);
  const std::string_view trace_id = text.substr(3, 32);
  const std::string_view parent_id = text.substr(36, 16);
  const std::string_view flags = text.substr(53, 2);
  if (!all_lower_hex(version) || !all_lower_hex(trace_id) || !all_lower_hex(parent_id) ||
      !all_lower_hex(flags))
    return fail("has a character that is not a lowercase hex digit");
  if (version == "ff")
    return fail("has the forbidden version ff");
  if (all_zero(trace_id))
    return fail("has an all-zero trace id");
  if (all_zero(parent_id))
    return fail("has an all-zero parent id");
  trace_context tc;
  tc.trace_id = std::string(trace_id);
  tc.parent_id = std::string(parent_id);
  tc.flags = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  return tc;
}

result<envelope> decode_envelope(const std::vector<header>& headers,
                                 std::string_view payload, const envelope_limits& limits) {
  if (headers.size() > limits.max_headers)
    return make_err(
        envelope_errc::too_many_headers,
        "record has " + std::to_string(headers.size()) +
            " headers, more than max_headers " + std::to_string(limits.max_headers) +
            "; the first beyond the limit is " + quoted(headers[limits.max_headers].key));
  if (payload.size() > limits.max_payload)
    return make_err(envelope_errc::payload_too_large,
                    "payload (record value) has " + std::to_string(payload.size()) +
                        " bytes, more than max_payload " +
                        std::to_string(limits.max_payload));

  // Positions of the mapped headers; found[f] == nullptr while absent.
  std::array<const header*, f_count> found{};
  std::size_t extension_count = 0;
  for (const header& h : headers) {
    if (h.key.size() > limits.max_header_value || h.value.size() > limits.max_header_value)
      return make_err(envelope_errc::header_too_large,
                      "header " + quoted(h.key) + " has a " +
                          (h.key.size() > limits.max_header_value ? "key" : "value") +
                          " of " + std::to_string(std::max(h.key.size(), h.value.size())) +
                          " bytes, more than max_header_value " +
                          std::to_string(limits.max_header_value));
    std::size_t f = 0;
    while (f < f_count && mapped_keys[f] != h.key)
      ++f;
    if (f == f_count) {
      ++extension_count;
      continue;
    }
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

  envelope env;
  if (found[f_traceparent] != nullptr) {
    auto tc = trace_context::parse(found[f_traceparent]->value);
    if (!tc)
      return tc.error();
    env.trace = std::move(*tc);
  }
  env.id = found[f_id]->value;
  env.source = found[f_source]->value;
  env.type = found[f_type]->value;
  env.specversion = found[f_specversion]->value;
  if (found[f_content_type] != nullptr)
    env.content_type = found[f_content_type]->value;
  const auto optional_of = [&](field f) -> std::optional<std::string> {
    if (found[f] == nullptr)
      return std::nullopt;
    return found[f]->value;
  };
  env.time = optional_of(f_time);
  env.subject = optional_of(f_subject);
  env.tenant_id = optional_of(f_tenant_id);
  env.idempotency_key = optional_of(f_idempotency_key);
  env.extensions.reserve(extension_count);
  for (const header& h : headers)
    if (std::find(mapped_keys.begin(), mapped_keys.end(), h.key) == mapped_keys.end())
      env.extensions.push_back(h);
  env.payload = std::string(payload);
  return env;
}

std::vector<header> encode_headers(const envelope& env) {
  std::vector<header> out;
  out.reserve(f_count + env.extensions.size());
  const auto put = [&](std::string_view key, std::string value) {
    out.push_back(header{std::string(key), std::move(value)});
  };
  put(k_id, env.id);
  put(k_source, env.source);
  put(k_type, env.type);
  put(k_specversion, env.specversion);
  put(k_content_type, env.content_type);
  if (env.time)
    put(k_time, *env.time);
  if (env.subject)
    put(k_subject, *env.subject);
  if (env.trace)
    put(k_traceparent, env.trace->to_header());
  if (env.tenant_id)
    put(k_tenant_id, *env.tenant_id);
  if (env.idempotency_key)
    put(k_idempotency_key, *env.idempotency_key);
  out.insert(out.end(), env.extensions.begin(), env.extensions.end());
  return out;
}

std::string idempotency_key_of(const envelope& env) {
  if (env.idempotency_key && !env.idempotency_key->empty())
    return *env.idempotency_key;
  return env.source + "/" + env.id;
}

} // namespace phoenix::runtime
