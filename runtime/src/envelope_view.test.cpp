#include "phoenix/runtime/envelope_view.hpp"

#include "phoenix/runtime/idempotency_key.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace phoenix::runtime;

namespace {

// The bytes of one record: headers and payload the views point into.
struct record {
  std::vector<std::string> keys = {"ce_id",     "x-a",         "ce_source",
                                   "ce_type",   "traceparent", "ce_specversion",
                                   "tenant-id", "x-b"};
  std::vector<std::string> values = {
      "evt-1",
      "1",
      "/orders",
      "order.created",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "1.0",
      "t-9",
      "2"};
  std::string payload = R"({"n":1})";
  std::vector<header_view> views;

  record() {
    for (std::size_t i = 0; i < keys.size(); ++i)
      views.push_back({keys[i], values[i]});
  }
  bool inside(std::string_view v, const std::string& owner) const {
    return v.data() >= owner.data() && v.data() + v.size() <= owner.data() + owner.size();
  }
};

TEST(envelope_view, fields_point_into_the_record_without_copies) {
  record r;
  auto v = decode_envelope_view(r.views.data(), r.views.size(), r.payload);
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  EXPECT_TRUE(r.inside(v->id, r.values[0]));
  EXPECT_TRUE(r.inside(v->source, r.values[2]));
  EXPECT_TRUE(r.inside(v->type, r.values[3]));
  ASSERT_TRUE(v->trace.has_value());
  EXPECT_TRUE(r.inside(v->trace->trace_id, r.values[4]));
  EXPECT_EQ(v->trace->flags, 1);
  ASSERT_TRUE(v->tenant_id.has_value());
  EXPECT_TRUE(r.inside(*v->tenant_id, r.values[6]));
  EXPECT_TRUE(r.inside(v->payload, r.payload));
  EXPECT_EQ(v->content_type, "application/json");
  EXPECT_FALSE(v->idempotency_key.has_value());
}

TEST(envelope_view, extensions_are_the_unmapped_headers_in_record_order) {
  record r;
  auto v = decode_envelope_view(r.views.data(), r.views.size(), r.payload);
  ASSERT_TRUE(v.has_value());
  std::vector<std::string> seen;
  v->for_each_extension([&](const header_view& h) { seen.push_back(std::string(h.key)); });
  EXPECT_EQ(seen, (std::vector<std::string>{"x-a", "x-b"}));
  EXPECT_TRUE(envelope_view::is_mapped_header("ce_id"));
  EXPECT_FALSE(envelope_view::is_mapped_header("CE_ID"));
}

TEST(envelope_view, owning_copy_equals_what_decode_envelope_reads) {
  record r;
  std::vector<header> owned;
  for (std::size_t i = 0; i < r.keys.size(); ++i)
    owned.push_back({r.keys[i], r.values[i]});
  auto v = decode_envelope_view(r.views.data(), r.views.size(), r.payload);
  auto e = decode_envelope(owned, r.payload);
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(v->to_envelope(), *e);
  EXPECT_EQ(idempotency_key_of(*v), idempotency_key_of(*e));
  EXPECT_EQ(idempotency_key_of(*v), "ce:7:/orders/evt-1");
}

TEST(envelope_view, a_view_of_an_owning_envelope_reads_the_same_event) {
  record r;
  std::vector<header> owned;
  for (std::size_t i = 0; i < r.keys.size(); ++i)
    owned.push_back({r.keys[i], r.values[i]});
  auto e = decode_envelope(owned, r.payload);
  ASSERT_TRUE(e.has_value());
  std::vector<header_view> storage;
  auto v = view_of(*e, storage);
  EXPECT_EQ(v.to_envelope(), *e);
  EXPECT_EQ(v.id.data(), e->id.data()) << "a view, not a copy";
}

TEST(envelope_view, rejects_what_decode_envelope_rejects_with_the_same_error) {
  record r;
  r.values[5] = "0.3"; // ce_specversion
  r.views[5].value = r.values[5];
  auto v = decode_envelope_view(r.views.data(), r.views.size(), r.payload);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), make_error_code(envelope_errc::bad_specversion));
  EXPECT_NE(v.error().message().find("'0.3'"), std::string::npos) << v.error().message();
  auto missing = decode_envelope_view(r.views.data() + 1, r.views.size() - 1, r.payload);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), make_error_code(envelope_errc::missing_header));
}

} // namespace
