#include "phoenix/runtime/idempotency_key.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace phoenix::runtime;

namespace {

envelope event(std::string source, std::string id) {
  envelope e;
  e.source = std::move(source);
  e.id = std::move(id);
  e.type = "t";
  return e;
}

TEST(idempotency_key, prefers_the_idempotency_key_header) {
  auto e = event("urn:phoenix:orders", "evt-42");
  e.idempotency_key = "pay-42";
  EXPECT_EQ(idempotency_key_of(e), "h:pay-42");
}

TEST(idempotency_key, falls_back_to_source_and_id_with_the_length_of_the_source) {
  auto e = event("urn:phoenix:orders", "evt-42");
  EXPECT_EQ(idempotency_key_of(e), "ce:18:urn:phoenix:orders/evt-42");
  e.idempotency_key = "";
  EXPECT_EQ(idempotency_key_of(e), "ce:18:urn:phoenix:orders/evt-42");
}

TEST(idempotency_key, different_source_and_id_pairs_never_share_a_key) {
  // Each of these pairs gave "a/b/c" as source + "/" + id.
  std::set<std::string> keys{
      idempotency_key_of(event("a/b", "c")), idempotency_key_of(event("a", "b/c")),
      idempotency_key_of(event("a/", "b/c")), idempotency_key_of(event("a/b/", "c"))};
  EXPECT_EQ(keys.size(), 4u);
  // Nor can a header forge an event's key, or an event a position's.
  auto forged = event("x", "y");
  forged.idempotency_key = idempotency_key_from_event("a/b", "c");
  EXPECT_NE(idempotency_key_of(forged), idempotency_key_from_event("a/b", "c"));
  EXPECT_NE(idempotency_key_from_event("o:t", "0/1"),
            idempotency_key_from_position("t", 0, 1));
}

TEST(idempotency_key, the_position_names_topic_partition_and_offset) {
  EXPECT_EQ(idempotency_key_from_position("orders", 3, 1207), "o:orders/3/1207");
}

TEST(idempotency_key, from_headers_it_matches_the_decoded_envelope) {
  auto e = event("urn:phoenix:orders", "evt-42");
  e.payload = "{}";
  auto hs = encode_headers(e);
  EXPECT_EQ(idempotency_key_of(hs, "orders", 1, 7), idempotency_key_of(e));
  e.idempotency_key = "pay-42";
  hs = encode_headers(e);
  EXPECT_EQ(idempotency_key_of(hs, "orders", 1, 7), "h:pay-42");
  EXPECT_EQ(idempotency_key_of(*decode_envelope(hs, e.payload)), "h:pay-42");
}

TEST(idempotency_key, a_view_and_header_views_give_the_owning_envelopes_key) {
  auto e = event("urn:phoenix:orders", "evt-42");
  e.payload = "{}";
  auto hs = encode_headers(e);
  std::vector<header_view> views;
  for (auto& h : hs)
    views.push_back({h.key, h.value});
  auto view = decode_envelope_view(views.data(), views.size(), e.payload);
  ASSERT_TRUE(view) << view.error().describe();
  EXPECT_EQ(idempotency_key_of(*view), idempotency_key_of(e));
  EXPECT_EQ(idempotency_key_of(views.data(), views.size(), "orders", 1, 7),
            idempotency_key_of(e));
  EXPECT_EQ(idempotency_key_of(views.data(), 0, "orders", 1, 7), "o:orders/1/7");
}

TEST(idempotency_key, from_headers_without_an_event_it_is_the_position) {
  EXPECT_EQ(idempotency_key_of({}, "orders", 1, 7), "o:orders/1/7");
  EXPECT_EQ(idempotency_key_of({{"ce_id", "x"}}, "orders", 1, 7), "o:orders/1/7");
  EXPECT_EQ(idempotency_key_of({{"ce_id", ""}, {"ce_source", "s"}}, "orders", 1, 7),
            "o:orders/1/7");
  EXPECT_EQ(
      idempotency_key_of({{"idempotency-key", ""}, {"ce_id", "i"}, {"ce_source", "s"}},
                         "orders", 1, 7),
      "ce:1:s/i");
}

} // namespace
