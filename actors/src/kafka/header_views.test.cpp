// The in-place parser of a record's header block: what it reads, and every block it must
// leave to librdkafka (which then reads or rejects it as it always did).

#include "kafka/header_views.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace {

using phoenix::kafka::rd::parse_header_block;
using phoenix::runtime::header_view;

// Kafka's zigzag varint.
std::string varint(std::int64_t n) {
  auto v = (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}

std::string header(const std::string& name, const std::string& value) {
  return varint(static_cast<std::int64_t>(name.size())) + name +
         varint(static_cast<std::int64_t>(value.size())) + value;
}

std::string null_header(const std::string& name) {
  return varint(static_cast<std::int64_t>(name.size())) + name + varint(-1);
}

using pairs = std::vector<std::pair<std::string, std::string>>;

pairs as_pairs(const std::vector<header_view>& views) {
  pairs out;
  for (const auto& h : views)
    out.emplace_back(std::string(h.key), std::string(h.value));
  return out;
}

TEST(header_block, reads_headers_in_order_as_views_into_the_block) {
  const auto block = varint(3) + header("ce_id", "42") + header("ce_type", "order.placed") +
                     header("traceparent", std::string(55, 'a'));
  std::vector<header_view> out;
  ASSERT_TRUE(parse_header_block(block, out));
  EXPECT_EQ(as_pairs(out), (pairs{{"ce_id", "42"},
                                  {"ce_type", "order.placed"},
                                  {"traceparent", std::string(55, 'a')}}));
  // In place: the views point into the block, nothing is copied.
  EXPECT_GE(out[0].key.data(), block.data());
  EXPECT_LE(out[2].value.data() + out[2].value.size(), block.data() + block.size());
}

TEST(header_block, reads_null_and_empty_values_as_empty_and_keeps_binary_values) {
  const std::string binary{"\x00\xff\x80\x01", 4};
  const auto block = varint(4) + null_header("a") + header("b", "") + header("", "v") +
                     header("bin", binary);
  std::vector<header_view> out;
  ASSERT_TRUE(parse_header_block(block, out));
  EXPECT_EQ(as_pairs(out), (pairs{{"a", ""}, {"b", ""}, {"", "v"}, {"bin", binary}}));
}

TEST(header_block, reads_lengths_of_several_varint_bytes) {
  const std::string big(70000, 'x'); // a three-byte varint length
  std::string block = varint(200);
  pairs expected;
  for (int i = 0; i < 199; ++i) {
    block += header("h" + std::to_string(i), std::to_string(i));
    expected.emplace_back("h" + std::to_string(i), std::to_string(i));
  }
  block += header("big", big);
  expected.emplace_back("big", big);
  std::vector<header_view> out;
  ASSERT_TRUE(parse_header_block(block, out));
  EXPECT_EQ(as_pairs(out), expected);
}

TEST(header_block, leaves_to_librdkafka_what_it_reads_otherwise_or_rejects) {
  const auto one = header("k", "v");
  const std::vector<std::pair<const char*, std::string>> cases{
      {"empty block", ""},
      {"no headers", varint(0)},
      {"negative count", varint(-1)},
      {"more than librdkafka's 100,000", varint(100001) + one},
      {"fewer headers than counted", varint(2) + one},
      {"a count the block's bytes cannot hold", varint(100000) + one},
      {"bytes after the last header", varint(1) + one + "x"},
      {"truncated varint", varint(1) + "\x80"},
      {"varint longer than 64 bits", varint(1) + std::string(10, '\xff') + "\x01"},
      {"negative name length", varint(1) + varint(-1) + varint(1) + "v"},
      {"name past the end", varint(1) + varint(5) + "ab"},
      {"value length below -1", varint(1) + varint(1) + "k" + varint(-2)},
      {"value past the end", varint(1) + varint(1) + "k" + varint(9) + "v"},
      {"missing value length", varint(1) + varint(1) + "k"},
      // librdkafka's copy of a name ends at its first NUL: its parse decides.
      {"name holding a NUL", varint(1) + header(std::string("a\0b", 3), "v")},
  };
  for (const auto& [what, block] : cases) {
    std::vector<header_view> out;
    EXPECT_FALSE(parse_header_block(block, out)) << what;
  }
}

} // namespace
