#pragma once

// Checks of W3C trace ids (lowercase hex, not all zero), shared by the traceparent
// decoder and trace_scope. They run for every record handled, so they test eight
// characters at a time in a 64-bit word instead of one by one.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace phoenix::runtime::detail {

struct hex_scan {
  bool hex = false;     ///< Every character is 0-9 or a-f.
  bool nonzero = false; ///< Some character is not '0'.
};

/// Scans `N` characters (a multiple of 8) at `p`.
template <std::size_t N>
hex_scan scan_lower_hex(const char* p) noexcept {
  static_assert(N % 8 == 0, "whole 64-bit words");
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  // Per byte x < 0x80: x + (0x80 - lo) has its high bit set iff x >= lo, and
  // (0x80 + hi) - x iff x <= hi; neither carries into the next byte.
  const auto at_least = [](std::uint64_t w, std::uint8_t lo) {
    return w + ones * static_cast<std::uint8_t>(0x80 - lo);
  };
  const auto at_most = [](std::uint64_t w, std::uint8_t hi) {
    return ones * static_cast<std::uint8_t>(0x80 + hi) - w;
  };
  std::uint64_t ascii = 0;     // high bits of the characters: must stay 0
  std::uint64_t ok = high;     // high bit per byte: a hex digit so far
  std::uint64_t zeros = ~0ULL; // all ones while every character is '0'
  for (std::size_t i = 0; i < N; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    ascii |= w & high;
    const std::uint64_t digit = at_least(w, '0') & at_most(w, '9');
    const std::uint64_t letter = at_least(w, 'a') & at_most(w, 'f');
    ok &= digit | letter;
    zeros &= ~(w ^ (ones * '0'));
  }
  // Bytes with the high bit set make the sums above meaningless: `ascii` rules them out.
  return {ascii == 0 && (ok & high) == high, zeros != ~0ULL};
}

/// Scans 2 characters (a traceparent's version or flags).
inline hex_scan scan_lower_hex2(const char* p) noexcept {
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return {hex(p[0]) && hex(p[1]), p[0] != '0' || p[1] != '0'};
}

/// 32 lowercase hex digits, not all zero.
inline bool valid_trace_id(std::string_view id) noexcept {
  if (id.size() != 32)
    return false;
  const auto s = scan_lower_hex<32>(id.data());
  return s.hex && s.nonzero;
}

} // namespace phoenix::runtime::detail
