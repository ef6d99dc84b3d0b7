// `rd::header_views` on records librdkafka really consumed from the mock cluster: for
// every shape of header and value, and every compression codec, it gives exactly what
// librdkafka's own parse gives; and it reads in place exactly the records it can prove,
// so the fast path cannot silently stop working.

#include "kafka/header_views.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace rd = phoenix::kafka::rd;
using namespace std::chrono_literals;

using pairs = std::vector<std::pair<std::string, std::string>>;

struct sample {
  std::string key;                  // tells the records apart
  std::optional<std::string> value; // nullopt: a null value (tombstone)
  // nullopt value: a null header value.
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

pairs as_pairs(const std::vector<phoenix::runtime::header_view>& views) {
  pairs out;
  for (const auto& h : views)
    out.emplace_back(std::string(h.key), std::string(h.value));
  return out;
}

// What the test expects `header_views` to read in place: records with a value and at
// least one header whose name holds no NUL, on the librdkafka it knows.
bool provable(const sample& s) {
  if (!s.value || s.value->empty() || s.headers.empty())
    return false;
  for (const auto& h : s.headers)
    if (h.first.find('\0') != std::string::npos)
      return false;
  return true;
}

std::vector<sample> samples() {
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  std::vector<sample> out{
      {"cloudevent",
       std::string(100, 'v'),
       {{"ce_id", "e-1"},
        {"ce_source", "/phoenix/test"},
        {"ce_type", "order.placed"},
        {"ce_specversion", "1.0"},
        {"content-type", "application/json"},
        {"traceparent", traceparent}}},
      {"one-header", "v", {{"tenant-id", "acme"}}},
      {"no-headers", "v", {}},
      {"null-header-value", "v", {{"a", std::nullopt}, {"b", "x"}}},
      {"empty-header-value", "v", {{"a", ""}}},
      {"empty-header-name", "v", {{"", "x"}}},
      {"binary-header-value", "v", {{"bin", std::string("\x00\xff\x80", 3)}}},
      {"nul-in-name", "v", {{std::string("a\0b", 3), "x"}}},
      {"large-header-value", "v", {{"big", std::string(200000, 'b')}}},
      {"tombstone-with-headers", std::nullopt, {{"ce_id", "e-2"}}},
      {"empty-value-with-headers", std::string{}, {{"ce_id", "e-3"}}},
      {"same-name-twice", "v", {{"k", "1"}, {"k", "2"}}},
  };
  sample many{"many-headers", "v", {}};
  for (int i = 0; i < 300; ++i)
    many.headers.emplace_back("h" + std::to_string(i), std::to_string(i));
  out.push_back(std::move(many));
  return out;
}

class header_views_test : public phoenix::testkit::mock_cluster_fixture {
protected:
  // Produces every sample to partition 0 of `topic` with `codec`, in one batch.
  void produce_samples(const std::string& topic, const std::string& codec) {
    auto conf = rd::make_conf({{"bootstrap.servers", bootstrap()},
                               {"compression.codec", codec},
                               {"linger.ms", "100"}},
                              "test producer");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "test producer");
    ASSERT_TRUE(rk) << rk.error().describe();
    for (const auto& s : samples()) {
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(s.headers.size());
      for (const auto& [name, value] : s.headers)
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()),
                            value ? value->data() : nullptr,
                            value ? static_cast<ssize_t>(value->size()) : 0);
      rd_kafka_vu_t vus[6] = {};
      vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vus[0].u.cstr = topic.c_str();
      vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vus[1].u.i32 = 0;
      vus[2].vtype = RD_KAFKA_VTYPE_KEY;
      vus[2].u.mem = {const_cast<char*>(s.key.data()), s.key.size()};
      vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
      if (s.value)
        vus[3].u.mem = {const_cast<char*>(s.value->data()), s.value->size()};
      vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[4].u.i = RD_KAFKA_MSG_F_COPY;
      vus[5].vtype = RD_KAFKA_VTYPE_HEADERS;
      vus[5].u.headers = hdrs; // owned by librdkafka once queued
      rd::error_ptr queued{rd_kafka_produceva(rk->get(), vus, 6)};
      ASSERT_EQ(queued, nullptr) << rd_kafka_error_string(queued.get());
    }
    ASSERT_EQ(rd_kafka_flush(rk->get(), 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Reads partition 0 of `topic` from the start and checks every record.
  void check_consumed(const std::string& topic) {
    auto conf = rd::make_conf({{"bootstrap.servers", bootstrap()},
                               {"group.id", "header-views"},
                               {"enable.auto.commit", "false"}},
                              "test consumer");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "test consumer");
    ASSERT_TRUE(rk) << rk.error().describe();
    rd::topic_partition_list_ptr parts{rd_kafka_topic_partition_list_new(1)};
    rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    ASSERT_EQ(rd_kafka_assign(rk->get(), parts.get()), RD_KAFKA_RESP_ERR_NO_ERROR);

    std::map<std::string, sample> expected;
    for (auto& s : samples())
      expected.emplace(s.key, std::move(s));
    std::size_t seen = 0;
    std::size_t in_place = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen < expected.size() && std::chrono::steady_clock::now() < deadline) {
      rd::message_ptr m{rd_kafka_consumer_poll(rk->get(), 200)};
      if (!m || m->err)
        continue;
      const std::string key{static_cast<const char*>(m->key), m->key_len};
      ASSERT_TRUE(expected.count(key)) << key;
      const auto& s = expected.at(key);
      ++seen;

      std::vector<phoenix::runtime::header_view> views;
      const auto source = rd::header_views(*m, views);
      const pairs got = as_pairs(views);
      // librdkafka's parse of the same record, after: header_views leaves it untouched.
      pairs want;
      rd::for_each_header(*m, [&](std::string_view name, std::string_view value) {
        want.emplace_back(std::string(name), std::string(value));
      });
      EXPECT_EQ(got, want) << key;
      EXPECT_EQ(want.size(), s.headers.size()) << key;

      if (s.headers.empty())
        EXPECT_EQ(source, rd::header_source::none) << key;
      else if (rd::header_views_in_place() && provable(s))
        EXPECT_EQ(source, rd::header_source::record) << key;
      else
        EXPECT_EQ(source, rd::header_source::librdkafka) << key;
      in_place += source == rd::header_source::record;

      // Given somewhere to keep librdkafka's parse, the views outlive the message's.
      rd::headers_ptr parsed;
      const auto again = rd::header_views(*m, views, &parsed);
      EXPECT_EQ(again, source) << key;
      EXPECT_EQ(parsed != nullptr, source == rd::header_source::librdkafka) << key;
      EXPECT_EQ(as_pairs(views), want) << key;
    }
    EXPECT_EQ(seen, expected.size());
    if (rd::header_views_in_place()) {
      std::size_t provable_count = 0;
      for (const auto& [key, s] : expected)
        provable_count += provable(s);
      EXPECT_EQ(provable_count, 9u); // the samples above
      EXPECT_EQ(in_place, provable_count);
    }
  }
};

// Debian 12's librdkafka, which the deploy scripts install, is the one whose layout the
// fast path knows: the tests below must exercise it, not only the fallback.
TEST(header_views_version, the_installed_librdkafka_is_read_in_place) {
  EXPECT_STREQ(rd_kafka_version_str(), "2.0.2");
  EXPECT_TRUE(rd::header_views_in_place());
}

TEST_F(header_views_test, uncompressed_records_read_as_librdkafka_reads_them) {
  create_topic("hv.none", 1);
  ASSERT_NO_FATAL_FAILURE(produce_samples("hv.none", "none"));
  check_consumed("hv.none");
}

TEST_F(header_views_test, compressed_records_read_as_librdkafka_reads_them) {
  for (const std::string codec : {"gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    create_topic("hv." + codec, 1);
    ASSERT_NO_FATAL_FAILURE(produce_samples("hv." + codec, codec));
    check_consumed("hv." + codec);
  }
}

} // namespace
