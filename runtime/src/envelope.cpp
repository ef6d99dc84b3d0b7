#include "phoenix/runtime/envelope.hpp"

#include "envelope_keys.hpp"
#include "phoenix/runtime/envelope_view.hpp"

namespace phoenix::runtime {
namespace {

using namespace envelope_keys;

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
  auto view = trace_context_view::parse(text);
  if (!view)
    return view.error();
  return view->to_owned();
}

result<envelope> decode_envelope(const std::vector<header>& headers,
                                 std::string_view payload, const envelope_limits& limits) {
  std::vector<header_view> views;
  views.reserve(headers.size());
  for (const header& h : headers)
    views.push_back({h.key, h.value});
  auto view = decode_envelope_view(views.data(), views.size(), payload, limits);
  if (!view)
    return view.error();
  return view->to_envelope();
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

} // namespace phoenix::runtime
