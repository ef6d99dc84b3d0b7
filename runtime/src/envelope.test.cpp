#include "phoenix/runtime/envelope.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

using namespace phoenix::runtime;
using namespace std::string_literals;

namespace {

const std::string valid_traceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::vector<header> minimal_headers() {
  return {{"ce_id", "evt-1"},
          {"ce_source", "/orders"},
          {"ce_type", "order.created"},
          {"ce_specversion", "1.0"}};
}

std::vector<header> with(std::vector<header> hs, std::string key, std::string value) {
  hs.push_back({std::move(key), std::move(value)});
  return hs;
}

std::vector<header> without(std::vector<header> hs, const std::string& key) {
  hs.erase(
      std::remove_if(hs.begin(), hs.end(), [&](const header& h) { return h.key == key; }),
      hs.end());
  return hs;
}

std::vector<header> replaced(std::vector<header> hs, const std::string& key,
                             std::string value) {
  for (auto& h : hs)
    if (h.key == key)
      h.value = std::move(value);
  return hs;
}

envelope full_envelope() {
  envelope e;
  e.id = "evt-42";
  e.source = "urn:phoenix:orders";
  e.type = "order.shipped";
  e.content_type = "application/cloudevents+json; charset=utf-8";
  e.time = "2024-05-01T12:00:00Z";
  e.subject = "order/42";
  e.trace = trace_context{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1};
  e.tenant_id = "tenant-a";
  e.idempotency_key = "pay-42";
  e.extensions = {{"ce_partitionkey", "42"},
                  {"x-retry-count", "3"},
                  {"ce_dataschema", "https://schemas/order"},
                  {"binary", "\x00\xff\xfe"s}};
  e.payload = R"({"order":42})";
  return e;
}

// Asserts that decoding fails with `code` and that the message names `name`.
void expect_error(const std::vector<header>& hs, envelope_errc code,
                  const std::string& name, std::string_view payload = "{}",
                  const envelope_limits& limits = {}) {
  auto r = decode_envelope(hs, payload, limits);
  ASSERT_FALSE(r.has_value()) << "expected " << make_error_code(code).message();
  EXPECT_EQ(r.error().code(), make_error_code(code)) << r.error().describe();
  EXPECT_NE(r.error().message().find(name), std::string::npos)
      << "message does not name " << name << ": " << r.error().message();
}

} // namespace

TEST(envelope, round_trips_every_field_and_keeps_extension_order) {
  const envelope original = full_envelope();
  const auto headers = encode_headers(original);
  auto decoded = decode_envelope(headers, original.payload);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().describe();
  EXPECT_EQ(*decoded, original);
  ASSERT_EQ(decoded->extensions.size(), 4u);
  EXPECT_EQ(decoded->extensions[0].key, "ce_partitionkey");
  EXPECT_EQ(decoded->extensions[3].value, "\x00\xff\xfe"s);
}

TEST(envelope, encodes_headers_in_documented_order) {
  const auto headers = encode_headers(full_envelope());
  std::vector<std::string> keys;
  for (const auto& h : headers)
    keys.push_back(h.key);
  const std::vector<std::string> expected = {
      "ce_id",         "ce_source",       "ce_type",         "ce_specversion",
      "content-type",  "ce_time",         "ce_subject",      "traceparent",
      "tenant-id",     "idempotency-key", "ce_partitionkey", "x-retry-count",
      "ce_dataschema", "binary"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(headers[7].value, valid_traceparent);
}

TEST(envelope, decodes_minimal_record_with_defaults) {
  auto r = decode_envelope(minimal_headers(), "{}");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->id, "evt-1");
  EXPECT_EQ(r->source, "/orders");
  EXPECT_EQ(r->type, "order.created");
  EXPECT_EQ(r->specversion, "1.0");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_FALSE(r->time || r->subject || r->trace || r->tenant_id || r->idempotency_key);
  EXPECT_TRUE(r->extensions.empty());
  EXPECT_EQ(r->payload, "{}");
}

TEST(envelope, keeps_unmapped_headers_in_record_order_including_interleaved_ones) {
  std::vector<header> hs = {{"x-a", "1"},
                            {"ce_id", "evt-1"},
                            {"CE_ID", "not-mapped: keys are case-sensitive"},
                            {"ce_source", "/orders"},
                            {"", "empty key"},
                            {"ce_type", "t"},
                            {"ce_specversion", "1.0"},
                            {"x-a", "2"}};
  auto r = decode_envelope(hs, "");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  const std::vector<header> expected = {{"x-a", "1"},
                                        {"CE_ID", "not-mapped: keys are case-sensitive"},
                                        {"", "empty key"},
                                        {"x-a", "2"}};
  EXPECT_EQ(r->extensions, expected);
}

TEST(envelope, rejects_missing_ce_id_naming_the_header) {
  expect_error(without(minimal_headers(), "ce_id"), envelope_errc::missing_header, "ce_id");
}

TEST(envelope, rejects_each_missing_required_header_naming_it) {
  for (const char* key : {"ce_id", "ce_source", "ce_type", "ce_specversion"}) {
    SCOPED_TRACE(key);
    expect_error(without(minimal_headers(), key), envelope_errc::missing_header, key);
  }
}

TEST(envelope, rejects_duplicate_required_header_naming_it) {
  expect_error(with(minimal_headers(), "ce_source", "/other"),
               envelope_errc::duplicate_header, "ce_source");
}

TEST(envelope, rejects_duplicate_tenant_id_so_readers_cannot_disagree_on_the_tenant) {
  auto hs = with(with(minimal_headers(), "tenant-id", "a"), "tenant-id", "b");
  expect_error(hs, envelope_errc::duplicate_header, "tenant-id");
}

TEST(envelope, rejects_specversion_other_than_1_0_naming_the_header) {
  expect_error(replaced(minimal_headers(), "ce_specversion", "0.3"),
               envelope_errc::bad_specversion, "ce_specversion");
  expect_error(replaced(minimal_headers(), "ce_specversion", "1.0 "),
               envelope_errc::bad_specversion, "ce_specversion");
}

TEST(envelope, rejects_header_value_over_limit_naming_the_header) {
  envelope_limits limits;
  limits.max_header_value = 16;
  auto hs = with(minimal_headers(), "x-big", std::string(17, 'v'));
  expect_error(hs, envelope_errc::header_too_large, "x-big", "{}", limits);
  EXPECT_TRUE(
      decode_envelope(with(minimal_headers(), "x-big", std::string(16, 'v')), "{}", limits)
          .has_value());
}

TEST(envelope, rejects_header_key_over_limit) {
  envelope_limits limits;
  limits.max_header_value = 16;
  expect_error(with(minimal_headers(), std::string(17, 'k'), "v"),
               envelope_errc::header_too_large, "kkkkkkkkkkkkkkkkk", "{}", limits);
}

TEST(envelope, rejects_too_many_headers_naming_the_first_beyond_the_limit) {
  envelope_limits limits;
  limits.max_headers = 5;
  auto hs = with(with(minimal_headers(), "x-fifth", "1"), "x-sixth", "2");
  expect_error(hs, envelope_errc::too_many_headers, "x-sixth", "{}", limits);
}

TEST(envelope, rejects_payload_over_limit) {
  envelope_limits limits;
  limits.max_payload = 4;
  expect_error(minimal_headers(), envelope_errc::payload_too_large, "payload", "12345",
               limits);
  EXPECT_TRUE(decode_envelope(minimal_headers(), "1234", limits).has_value());
}

TEST(envelope, rejects_invalid_utf8_in_ce_type_naming_the_header) {
  expect_error(replaced(minimal_headers(), "ce_type", "order\xc0\xaf"),
               envelope_errc::invalid_utf8, "ce_type");
}

TEST(envelope, rejects_control_characters_in_identifiers) {
  expect_error(replaced(minimal_headers(), "ce_id", "evt\n1"), envelope_errc::invalid_utf8,
               "ce_id");
  expect_error(replaced(minimal_headers(), "ce_id", "evt"s + '\0' + "1"s),
               envelope_errc::invalid_utf8, "ce_id");
  expect_error(replaced(minimal_headers(), "ce_id", "evt\x7f"), envelope_errc::invalid_utf8,
               "ce_id");
  expect_error(replaced(minimal_headers(), "ce_id", "evt\xc2\x85"), // U+0085 NEL
               envelope_errc::invalid_utf8, "ce_id");
  expect_error(with(minimal_headers(), "idempotency-key", "k\t1"),
               envelope_errc::invalid_utf8, "idempotency-key");
}

TEST(envelope, accepts_an_identifier_byte_exactly_when_printable_at_every_position) {
  // Identifiers are scanned for printable ASCII eight characters at a time, the rest of
  // a text of eight or more as the word that ends it, shorter ones one by one: every
  // byte value at every position of ce_ids of 1 to 23 characters (no whole word, whole
  // words only, whole words and a tail) must be judged as on its own. A lone byte of
  // 0x80 or more is not UTF-8.
  const std::string id23 = "evt-0123456789abcdef-xy";
  for (std::size_t size : {1, 7, 8, 9, 15, 16, 17, 22, 23})
    for (std::size_t pos = 0; pos < size; ++pos) {
      const std::string id = id23.substr(0, size);
      for (int b = 0; b < 256; ++b) {
        std::string text = id;
        text[pos] = static_cast<char>(b);
        SCOPED_TRACE(testing::Message()
                     << "size " << size << ", position " << pos << ", byte " << b);
        auto r = decode_envelope(replaced(minimal_headers(), "ce_id", text), "{}");
        if (b >= 0x20 && b < 0x7f) {
          EXPECT_TRUE(r.has_value());
          continue;
        }
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code(), make_error_code(envelope_errc::invalid_utf8));
        EXPECT_NE(r.error().message().find("at byte " + std::to_string(pos)),
                  std::string::npos)
            << r.error().message();
      }
    }
}

TEST(envelope, rejects_empty_identifiers_naming_the_header) {
  for (const char* key : {"ce_id", "ce_source", "ce_type"}) {
    SCOPED_TRACE(key);
    expect_error(replaced(minimal_headers(), key, ""), envelope_errc::empty_value, key);
  }
  expect_error(with(minimal_headers(), "tenant-id", ""), envelope_errc::empty_value,
               "tenant-id");
  expect_error(with(minimal_headers(), "idempotency-key", ""), envelope_errc::empty_value,
               "idempotency-key");
}

TEST(envelope, rejects_bad_traceparent_naming_the_header) {
  expect_error(with(minimal_headers(), "traceparent", "garbage"),
               envelope_errc::bad_traceparent, "traceparent");
}

TEST(envelope, escapes_unprintable_bytes_of_keys_in_messages) {
  envelope_limits limits;
  limits.max_header_value = 16;
  auto r =
      decode_envelope(with(minimal_headers(), "k\n\xff", std::string(17, 'v')), "", limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("'k\\x0a\\xff'"), std::string::npos)
      << r.error().message();
}

TEST(envelope, error_category_is_phoenix_envelope) {
  const std::error_code ec = envelope_errc::bad_traceparent;
  EXPECT_STREQ(ec.category().name(), "phoenix.envelope");
  EXPECT_EQ(ec.message(), "invalid traceparent");
}

TEST(trace_context, parses_valid_traceparent_and_writes_it_back) {
  auto tc = trace_context::parse(valid_traceparent);
  ASSERT_TRUE(tc.has_value()) << tc.error().describe();
  EXPECT_EQ(tc->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tc->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(tc->flags, 1);
  EXPECT_EQ(tc->to_header(), valid_traceparent);
}

TEST(trace_context, parses_all_flag_bits) {
  auto tc = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->flags, 0xff);
}

TEST(trace_context, reads_future_version_with_version_00_layout) {
  auto tc = trace_context::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->to_header(), valid_traceparent);
}

TEST(trace_context, rejects_malformed_values) {
  const std::vector<std::string> bad = {
      "",
      valid_traceparent.substr(0, 54),                             // too short
      valid_traceparent + "-",                                     // too long
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase parent id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // uppercase flags
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // non-hex
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // non-hex version
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent id
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // wrong separator
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",   // wrong separator
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\0"s, // NUL
  };
  for (const auto& text : bad) {
    SCOPED_TRACE(text);
    auto tc = trace_context::parse(text);
    ASSERT_FALSE(tc.has_value());
    EXPECT_EQ(tc.error().code(), make_error_code(envelope_errc::bad_traceparent));
    EXPECT_NE(tc.error().message().find("traceparent"), std::string::npos);
  }
}

TEST(trace_context, accepts_exactly_lowercase_hex_at_every_position) {
  // Every byte value at every hex position of the version, trace id, parent id and flags:
  // the ids are checked several characters at a time, so each position and each byte
  // around '0'-'9' and 'a'-'f' (and those with the high bit set) must be tried.
  for (std::size_t pos = 0; pos < valid_traceparent.size(); ++pos) {
    if (valid_traceparent[pos] == '-')
      continue;
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      std::string text = valid_traceparent;
      text[pos] = c;
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      const bool version_ff = text.compare(0, 2, "ff") == 0;
      SCOPED_TRACE(testing::Message() << "position " << pos << ", byte " << b);
      EXPECT_EQ(trace_context::parse(text).has_value(), hex && !version_ff);
    }
  }
}

TEST(utf8, accepts_ascii_multibyte_and_four_byte_emoji) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9"));      // U+00E9
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));     // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80")); // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));     // U+D7FF, just below surrogates
  EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));     // U+E000, just above surrogates
}

TEST(utf8, rejects_overlong_forms) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf")); // '/' in two bytes
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));     // '/' in three bytes
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf")); // '/' in four bytes
}

TEST(utf8, rejects_surrogates) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80")); // U+D800
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf")); // U+DFFF
}

TEST(utf8, rejects_code_points_above_10ffff_and_invalid_bytes) {
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\x80")); // lone continuation byte
}

TEST(utf8, rejects_truncated_sequences) {
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98")); // emoji missing its last byte
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98x")); // continuation replaced by ASCII
}

TEST(utf8, decode_rejects_overlong_surrogate_and_truncated_ids_but_accepts_emoji) {
  for (std::string bad : {"\xc0\xaf"s, "\xed\xa0\x80"s, "\xf0\x9f\x98"s}) {
    expect_error(replaced(minimal_headers(), "ce_id", bad), envelope_errc::invalid_utf8,
                 "ce_id");
  }
  auto r =
      decode_envelope(replaced(minimal_headers(), "ce_source", "/\xf0\x9f\x98\x80"), "");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->source, "/\xf0\x9f\x98\x80");
}

TEST(envelope, garbage_bytes_in_every_header_give_an_error_not_a_crash) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> len(0, 80);
  const auto garbage = [&] {
    std::string s(len(rng), '\0');
    for (auto& c : s)
      c = static_cast<char>(byte(rng));
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<header> hs;
    for (const char* key :
         {"ce_id", "ce_source", "ce_type", "ce_specversion", "content-type", "ce_time",
          "ce_subject", "traceparent", "tenant-id", "idempotency-key"})
      hs.push_back({key, garbage()});
    hs.push_back({garbage(), garbage()});
    auto r = decode_envelope(hs, garbage());
    // ce_specversion is random bytes, never exactly "1.0" at these odds, so it must fail.
    ASSERT_FALSE(r.has_value());
    EXPECT_FALSE(r.error().message().empty());
  }
}
