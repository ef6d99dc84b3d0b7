#include "kafka/offset_tracker.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <vector>

using phoenix::kafka::offset_tracker;

TEST(offset_tracker, nothing_is_committable_before_the_first_record_is_done) {
  offset_tracker t;
  t.dispatched(10);
  t.dispatched(11);
  EXPECT_EQ(t.committable(), -1);
  t.done(11);
  EXPECT_EQ(t.committable(), -1) << "10 is not done yet";
  EXPECT_EQ(t.in_flight(), 1u);
}

TEST(offset_tracker, commits_only_contiguous_offsets) {
  offset_tracker t;
  for (int o = 0; o < 5; ++o)
    t.dispatched(o);
  t.done(0);
  EXPECT_EQ(t.committable(), 1);
  t.done(2);
  t.done(3);
  EXPECT_EQ(t.committable(), 1) << "1 is still in flight";
  t.done(1);
  EXPECT_EQ(t.committable(), 4);
  t.done(4);
  EXPECT_EQ(t.committable(), 5);
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(offset_tracker, gaps_in_offsets_do_not_hold_the_watermark) {
  offset_tracker t;
  t.dispatched(3);
  t.dispatched(7); // 4..6 compacted away or transaction markers
  t.done(3);
  t.done(7);
  EXPECT_EQ(t.committable(), 8);
}

TEST(offset_tracker, ignores_unknown_and_repeated_completions) {
  offset_tracker t;
  t.dispatched(1);
  t.dispatched(2);
  t.done(5);
  t.done(2);
  t.done(2);
  EXPECT_EQ(t.in_flight(), 1u);
  EXPECT_EQ(t.committable(), -1);
  t.done(1);
  EXPECT_EQ(t.committable(), 3);
  t.dispatched(2); // a re-dispatch after a restart is not a new record
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(offset_tracker, random_completion_order_never_commits_past_an_undone_record) {
  std::mt19937 rng{7};
  for (int round = 0; round < 50; ++round) {
    offset_tracker t;
    std::vector<std::int64_t> offsets;
    for (std::int64_t o = 100; o < 300; o += 1 + static_cast<std::int64_t>(rng() % 3)) {
      t.dispatched(o);
      offsets.push_back(o);
    }
    auto order = offsets;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> done(offsets.size());
    for (auto o : order) {
      t.done(o);
      done[static_cast<std::size_t>(std::find(offsets.begin(), offsets.end(), o) -
                                    offsets.begin())] = true;
      // The watermark is one past the last record of the all-done prefix.
      std::int64_t expected = -1;
      for (std::size_t i = 0; i < offsets.size() && done[i]; ++i)
        expected = offsets[i] + 1;
      ASSERT_EQ(t.committable(), expected);
    }
    EXPECT_EQ(t.committable(), offsets.back() + 1);
  }
}
