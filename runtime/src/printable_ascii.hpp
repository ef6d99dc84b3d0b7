#pragma once

// The printable-ASCII scan of header values (ids, sources, types) that the envelope check
// runs on every record handled, eight characters at a time in a 64-bit word.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace phoenix::runtime::detail {

inline bool is_printable_ascii(unsigned char c) noexcept {
  return c >= 0x20 && c < 0x7f;
}

/// How many characters at the start of `text` are printable ASCII (0x20 to 0x7e).
inline std::size_t printable_ascii_prefix(std::string_view text) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  // Per byte x < 0x80: x + 0x60 has its high bit set iff x >= 0x20, and 0xfe - x iff
  // x <= 0x7e; neither carries into the next byte. A byte of 0x80 or more can carry,
  // but it fails the word on its own (w & high), and the bytes then decide one by one.
  const auto printable_word = [&](std::size_t at) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + at, 8);
    const std::uint64_t in_range = (w + ones * 0x60) & (ones * 0xfe - w);
    return ((w & high) | (~in_range & high)) == 0;
  };
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8)
    if (!printable_word(i))
      break;
  // The last one to seven characters of a text of eight or more, as the word that ends
  // the text (overlapping the one before it).
  if (i < text.size() && text.size() >= 8 && i + 8 > text.size() &&
      printable_word(text.size() - 8))
    return text.size();
  while (i < text.size() && is_printable_ascii(static_cast<unsigned char>(text[i])))
    ++i;
  return i;
}

} // namespace phoenix::runtime::detail
