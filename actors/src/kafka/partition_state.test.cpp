#include "kafka/partition_state.hpp"

#include <gtest/gtest.h>
#include <random>
#include <vector>

using phoenix::kafka::partition_state;

namespace {

// What a lane publishes after finishing a record (the lanes' side of the channel).
void lane_finishes(partition_state& st, std::size_t lane, std::int64_t offset) {
  auto& ch = *st.lanes()[lane].channel;
  ch.last.store(offset);
  ch.finished.fetch_add(1);
}

TEST(partition_state, nothing_is_committable_before_the_first_record_is_done) {
  partition_state st{1, 2, 100};
  st.dispatched(0, 10);
  st.dispatched(1, 11);
  lane_finishes(st, 1, 11);
  st.refresh();
  EXPECT_EQ(st.commit_due(), -1) << "10 is not done yet";
  EXPECT_EQ(st.in_flight(), 1u);
  EXPECT_FALSE(st.drained());
}

TEST(partition_state, commits_only_contiguous_offsets) {
  partition_state st{1, 3, 100};
  for (std::int64_t o = 0; o < 5; ++o)
    st.dispatched(static_cast<std::size_t>(o % 3), o); // lanes: 0 1 2 0 1
  lane_finishes(st, 0, 0);
  st.refresh();
  EXPECT_EQ(st.commit_due(), 1);
  lane_finishes(st, 2, 2);
  lane_finishes(st, 0, 3);
  st.refresh();
  EXPECT_EQ(st.commit_due(), 1) << "1 is still in flight";
  lane_finishes(st, 1, 1);
  st.refresh();
  EXPECT_EQ(st.commit_due(), 4);
  lane_finishes(st, 1, 4);
  st.refresh();
  EXPECT_EQ(st.commit_due(), 5);
  EXPECT_EQ(st.in_flight(), 0u);
  EXPECT_TRUE(st.drained());
}

TEST(partition_state, a_record_handled_but_not_yet_durable_is_not_drained) {
  partition_state st{1, 1, 100};
  st.dispatched(0, 5);
  auto& ch = *st.lanes()[0].channel;
  ch.handled.store(5); // an idempotent lane: handled, its completion not yet written
  ch.finished.fetch_add(1);
  st.refresh();
  EXPECT_EQ(st.in_flight(), 0u);
  EXPECT_EQ(st.commit_due(), -1) << "not committable before it is durable";
  EXPECT_FALSE(st.drained()) << "a revoke waits for the completion";
  ch.last.store(5);
  st.refresh();
  EXPECT_EQ(st.commit_due(), 6);
  EXPECT_TRUE(st.drained());
}

TEST(partition_state, a_record_given_up_is_committable_at_once_only_without_a_gate) {
  for (bool gated : {false, true}) {
    partition_state st{1, 1, 100};
    st.dispatched(0, 5);
    auto& ch = *st.lanes()[0].channel;
    ch.gated = gated;
    ch.give_up(5);
    st.refresh();
    EXPECT_EQ(st.in_flight(), 0u) << gated;
    EXPECT_EQ(ch.given_up.load(), gated ? 5 : -1);
    // With a gate, the next lane's gate releases its key first, then sets `last`.
    EXPECT_EQ(st.commit_due(), gated ? -1 : 6) << gated;
    EXPECT_EQ(std::max(ch.last.load(), ch.handled.load()), 5) << "the next lane skips it";
  }
}

TEST(partition_state, gaps_in_offsets_do_not_hold_the_watermark) {
  for (std::size_t lanes : {1u, 2u}) {
    partition_state st{1, lanes, 100};
    st.dispatched(0, 3);
    st.dispatched(lanes - 1, 7); // 4..6 compacted away or transaction markers
    lane_finishes(st, 0, 3);
    lane_finishes(st, lanes - 1, 7);
    st.refresh();
    EXPECT_EQ(st.commit_due(), 8) << lanes << " lane(s)";
  }
}

TEST(partition_state, bound_counts_dispatched_records_not_yet_finished) {
  partition_state st{1, 1, 3};
  for (std::int64_t o = 0; o < 3; ++o)
    st.dispatched(0, o);
  EXPECT_EQ(st.room(), 0u);
  lane_finishes(st, 0, 0);
  st.refresh();
  EXPECT_EQ(st.room(), 1u);
  EXPECT_EQ(st.in_flight(), 2u);
}

TEST(partition_state, watermark_is_stored_once_and_due_until_confirmed) {
  partition_state st{1, 1, 10};
  st.dispatched(0, 0);
  lane_finishes(st, 0, 0);
  st.refresh();
  EXPECT_EQ(st.take_store(), 1);
  EXPECT_EQ(st.take_store(), -1) << "unchanged since stored";
  EXPECT_EQ(st.commit_due(), 1);
  st.committed(1);
  EXPECT_EQ(st.commit_due(), -1);
}

TEST(partition_state, random_completion_order_never_commits_past_an_undone_record) {
  std::mt19937 rng{7};
  for (int round = 0; round < 50; ++round) {
    const std::size_t lanes = 1 + rng() % 4;
    partition_state st{1, lanes, 1000};
    std::vector<std::int64_t> offsets;
    std::vector<std::vector<std::size_t>> by_lane(lanes); // indexes into offsets
    for (std::int64_t o = 100; o < 300; o += 1 + static_cast<std::int64_t>(rng() % 3)) {
      auto lane = rng() % lanes;
      st.dispatched(lane, o);
      by_lane[lane].push_back(offsets.size());
      offsets.push_back(o);
    }
    std::vector<bool> done(offsets.size());
    std::vector<std::size_t> next(lanes, 0);
    for (std::size_t n = 0; n < offsets.size(); ++n) {
      std::size_t lane;
      do
        lane = rng() % lanes;
      while (next[lane] == by_lane[lane].size());
      auto i = by_lane[lane][next[lane]++];
      done[i] = true;
      lane_finishes(st, lane, offsets[i]);
      st.refresh();
      // Once a prefix is done, the watermark lies past it and at most at the first record
      // not done (offsets in a gap do not exist, so any value in between is right).
      std::size_t k = 0;
      while (k < offsets.size() && done[k])
        ++k;
      if (k == 0) {
        ASSERT_EQ(st.commit_due(), -1);
        continue;
      }
      const auto low = offsets[k - 1] + 1;
      const auto high = k == offsets.size() ? low : offsets[k];
      ASSERT_GE(st.commit_due(), low);
      ASSERT_LE(st.commit_due(), high);
    }
    EXPECT_EQ(st.commit_due(), offsets.back() + 1);
  }
}

} // namespace
