#include "lower_hex.hpp"
#include "phoenix/runtime/trace_context.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace phoenix::runtime {

// Gives the functions below access to a scope's fields without making them public.
struct trace_frame_access {
  static thread_local trace_scope* current;

  static std::string_view trace_id(const trace_scope& s) { return {s.trace_id_, 32}; }

  static std::string_view span_id(trace_scope& s) {
    if (!s.span_made_) {
      make_span_id(s.span_id_);
      s.span_made_ = true;
    }
    return {s.span_id_, 16};
  }

  static std::uint8_t flags(const trace_scope& s) { return s.flags_; }

  // 64 random bits, never all zero (W3C forbids an all-zero span id), as 16 hex digits.
  static void make_span_id(char* out) {
    thread_local std::uint64_t state = seed();
    std::uint64_t x = 0;
    while (x == 0) { // splitmix64
      std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      x = z ^ (z >> 31);
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, x >>= 4)
      out[i] = hex[x & 0xf];
  }

  static std::uint64_t seed() {
    std::random_device rd;
    auto t = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    return (static_cast<std::uint64_t>(rd()) << 32 ^ rd()) ^ t ^
           std::hash<std::thread::id>{}(std::this_thread::get_id());
  }
};

thread_local trace_scope* trace_frame_access::current = nullptr;

trace_scope::trace_scope() noexcept = default;

trace_scope::trace_scope(std::string_view trace_id, std::uint8_t flags) noexcept {
  if (!detail::valid_trace_id(trace_id))
    return;
  std::copy(trace_id.begin(), trace_id.end(), trace_id_);
  flags_ = flags;
  active_ = true;
  outer_ = trace_frame_access::current;
  trace_frame_access::current = this;
}

trace_scope::trace_scope(const std::optional<trace_context>& parent) noexcept
    : trace_scope(parent ? std::string_view{parent->trace_id} : std::string_view{},
                  parent ? parent->flags : 0) {}

trace_scope::~trace_scope() {
  if (active_)
    trace_frame_access::current = outer_;
}

std::optional<trace_context> current_trace() {
  auto* s = trace_frame_access::current;
  if (s == nullptr)
    return std::nullopt;
  trace_context out;
  out.trace_id = std::string(trace_frame_access::trace_id(*s));
  out.parent_id = std::string(trace_frame_access::span_id(*s));
  out.flags = trace_frame_access::flags(*s);
  return out;
}

trace_ids current_trace_ids() {
  auto* s = trace_frame_access::current;
  if (s == nullptr)
    return {};
  return {trace_frame_access::trace_id(*s), trace_frame_access::span_id(*s)};
}

void append_trace_fields(std::string& out) {
  auto ids = current_trace_ids();
  if (ids.trace_id.empty())
    return;
  out += " trace_id=";
  out += ids.trace_id;
  out += " span_id=";
  out += ids.span_id;
}

namespace {
thread_local const cause_scope* current_cause_scope = nullptr;
} // namespace

cause_scope::cause_scope(std::string_view message_id) noexcept
    : id_(message_id), outer_(current_cause_scope), active_(!message_id.empty()) {
  if (active_)
    current_cause_scope = this;
}

cause_scope::~cause_scope() {
  if (active_)
    current_cause_scope = outer_;
}

std::string_view current_cause() noexcept {
  return current_cause_scope ? current_cause_scope->id_ : std::string_view{};
}

} // namespace phoenix::runtime
