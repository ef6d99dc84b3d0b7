#include "kafka/header_views.hpp"

#include <cstdint>
#include <cstring>

namespace phoenix::kafka::rd {
namespace {

// The librdkafka whose message layout is known here, and where in its `rd_kafka_msg_t`
// (src/rdkafka_msg.h of 2.0.2: the public rd_kafka_message_t, a TAILQ link, flags,
// timestamp type and value, parsed headers, status, broker id, then the union whose
// consumer member is `rd_kafkap_bytes_t binhdrs`) the consumer keeps the record's unparsed
// header block: an int32 length, then a pointer into the fetched (or decompressed) batch.
constexpr int known_version = 0x020002ff; // 2.0.2
constexpr std::size_t binhdrs_len_at = 120;
constexpr std::size_t binhdrs_data_at = 128;
// The offsets above are those of librdkafka 2.0.2 on LP64 (x86-64, arm64); anywhere else
// every record takes librdkafka's parse.
constexpr bool lp64 = sizeof(rd_kafka_message_t) == 72 && sizeof(void*) == 8;

// Kafka's zigzag varint, up to 64 bits as librdkafka reads header fields. Header counts
// and name lengths nearly always fit one byte, which is read inline.
bool read_long_varint(const unsigned char*& p, const unsigned char* end,
                      std::int64_t& out) {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end)
      return false;
    const unsigned byte = *p++;
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      out = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
      return true;
    }
  }
  return false;
}

// Inlined into the parse loop so that the lengths stay in registers: through memory, a
// length written here and read back there was the parse's most expensive instruction.
[[gnu::always_inline]] inline bool
read_varint(const unsigned char*& p, const unsigned char* end, std::int64_t& out) {
  if (p != end && *p < 0x80) {
    const unsigned v = *p++;
    out = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
    return true;
  }
  return read_long_varint(p, end, out);
}

bool holds_nul(std::string_view name) {
  for (const char c : name) // names are short: a loop beats a call to memchr
    if (c == '\0')
      return true;
  return false;
}

// The record's header block, when the message shows it where librdkafka 2.0.2 keeps it.
// Reads two fields past the public struct (inside librdkafka's allocation on 2.0.2) and
// uses them only when the pointer is the end of the value: nothing is read through a
// pointer the record did not prove. A null or empty value proves nothing (librdkafka
// points an empty one at a static ""), so those records take librdkafka's parse.
bool block_of(const rd_kafka_message_t& m, std::string_view& block) {
  if (m.payload == nullptr || m.len == 0 || m.err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  const auto* base = reinterpret_cast<const unsigned char*>(&m);
  std::int32_t len = 0;
  const char* data = nullptr;
  std::memcpy(&len, base + binhdrs_len_at, sizeof len);
  std::memcpy(&data, base + binhdrs_data_at, sizeof data);
  if (len <= 0 || data != static_cast<const char*>(m.payload) + m.len)
    return false; // no headers, or not laid out as expected: librdkafka decides
  block = {data, static_cast<std::size_t>(len)};
  return true;
}

header_source through_librdkafka(rd_kafka_message_t& m,
                                 std::vector<runtime::header_view>& out,
                                 headers_ptr* parsed) {
  const auto add = [&](std::string_view name, std::string_view value) {
    out.push_back({name, value});
  };
  if (parsed) {
    *parsed = detach_headers(m);
    for_each_header(static_cast<const rd_kafka_headers_t*>(parsed->get()), add);
  } else {
    for_each_header(m, add);
  }
  // librdkafka parses a block of no headers as none (RD_KAFKA_RESP_ERR__NOENT).
  return out.empty() ? header_source::none : header_source::librdkafka;
}

} // namespace

bool parse_header_block(std::string_view block, std::vector<runtime::header_view>& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(block.data());
  const auto* const end = p + block.size();
  std::int64_t count = 0;
  // librdkafka: a count of 0 or less is no headers, over 100,000 a bad message. A header
  // takes two bytes at least (its two lengths), so a larger count cannot parse either;
  // refusing it here also bounds the allocation below by the block's size.
  if (!read_varint(p, end, count) || count <= 0 || count > 100000 || count > (end - p) / 2)
    return false;
  // Each view is written in place: a header_view built aside and copied in was stored as
  // two words and loaded as one, which the CPU cannot forward (a stall per header).
  out.resize(static_cast<std::size_t>(count));
  for (auto& h : out) {
    std::int64_t name_len = 0;
    if (!read_varint(p, end, name_len) || name_len < 0 || name_len > end - p)
      return false;
    h.key = {reinterpret_cast<const char*>(p), static_cast<std::size_t>(name_len)};
    if (holds_nul(h.key))
      return false; // librdkafka's copy of the name ends at the NUL
    p += name_len;
    std::int64_t value_len = 0;
    if (!read_varint(p, end, value_len) || value_len < -1 || value_len > end - p)
      return false;
    if (value_len >= 0) {
      h.value = {reinterpret_cast<const char*>(p), static_cast<std::size_t>(value_len)};
      p += value_len;
    } else {
      h.value = {};
    }
  }
  return p == end;
}

bool header_views_in_place() {
  static const bool known =
      lp64 && RD_KAFKA_VERSION == known_version && rd_kafka_version() == known_version;
  return known;
}

header_source header_views(rd_kafka_message_t& m, std::vector<runtime::header_view>& out,
                           headers_ptr* parsed) {
  std::string_view block;
  if (header_views_in_place() && block_of(m, block) && parse_header_block(block, out))
    return header_source::record;
  out.clear();
  return through_librdkafka(m, out, parsed);
}

} // namespace phoenix::kafka::rd
