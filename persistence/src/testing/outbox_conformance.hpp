#pragma once

// The conformance suite's outbox scopes (included by store_conformance.hpp): which
// pending rows a relay reads when several nodes share one store.

#include "phoenix/persistence/store.hpp"
#include "testing/store_conformance.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace phoenix::persistence::testing {

/// The saga ids of `rows`, in order.
inline std::vector<std::string>
saga_ids_of(const result<std::vector<outbox_record>>& rows) {
  std::vector<std::string> out;
  if (!rows) {
    ADD_FAILURE() << rows.error().describe();
    return out;
  }
  for (const auto& r : *rows)
    out.push_back(r.saga.value);
  return out;
}

/// One unfinished saga `id` on `topic`/`partition` with one command in the outbox.
inline saga_op saga_with_command(const std::string& id, const std::string& topic,
                                 std::int32_t partition) {
  saga_record s;
  s.id = {id};
  s.type = "lead";
  s.topic = topic;
  s.partition = partition;
  s.status = "running";
  s.data = "x";
  return saga_op{s, 0, {{"quota", id, "cmd-" + id, ""}}};
}

TEST_P(store_conformance, outbox_rows_carry_the_partition_of_their_saga) {
  ASSERT_TRUE(db->save_saga(saga_with_command("a", "leads", 2), t0));
  auto rows = db->pending_outbox(10);
  ASSERT_TRUE(rows) << rows.error().describe();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].owner, (saga_partition{"leads", 2}));
  EXPECT_EQ((*rows)[0].message.payload, "cmd-a");
}

TEST_P(store_conformance,
       an_owned_scope_reads_only_its_partitions_and_those_of_no_partition) {
  ASSERT_TRUE(db->save_saga(saga_with_command("a", "leads", 0), t0));
  ASSERT_TRUE(db->save_saga(saga_with_command("b", "leads", 1), t0));
  ASSERT_TRUE(db->save_saga(saga_with_command("c", "orders", 0), t0));
  ASSERT_TRUE(db->save_saga(saga_with_command("d", "", -1), t0)); // started on no partition
  ASSERT_TRUE(db->save_saga(saga_with_command("e", "leads", 0), t0));
  using v = std::vector<std::string>;
  auto owned = [](std::vector<saga_partition> ps) { return outbox_scope::owned(ps); };
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10)), (v{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10, owned({{"leads", 0}, {"orders", 0}}))),
            (v{"a", "c", "d", "e"}));
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10, owned({{"leads", 1}}))), (v{"b", "d"}));
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10, owned({{"orders", 1}}))), (v{"d"}))
      << "the same number on another topic is another partition";
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10, owned({}))), (v{"d"}))
      << "a node that owns nothing still sends what belongs to no partition";
  EXPECT_EQ(saga_ids_of(db->pending_outbox(2, owned({{"leads", 0}}))), (v{"a", "d"}))
      << "oldest first, at most the limit";
}

TEST_P(store_conformance, a_read_after_an_id_starts_past_it_in_every_scope) {
  for (const char* id : {"a", "b", "c", "d"})
    ASSERT_TRUE(db->save_saga(saga_with_command(id, "leads", 0), t0));
  auto rows = *db->pending_outbox(10);
  ASSERT_EQ(rows.size(), 4u);
  using v = std::vector<std::string>;
  EXPECT_EQ(
      saga_ids_of(db->pending_outbox(10, outbox_scope::everything().after(rows[1].id))),
      (v{"c", "d"}));
  EXPECT_EQ(saga_ids_of(db->pending_outbox(
                1, outbox_scope::owned({{"leads", 0}}).after(rows[0].id))),
            (v{"b"}))
      << "the limit counts from the id";
  EXPECT_EQ(
      saga_ids_of(db->pending_outbox(10, outbox_scope::everything().after(rows[3].id))),
      (v{}));
  ASSERT_TRUE(db->mark_published(rows[2].id, t0));
  EXPECT_EQ(
      saga_ids_of(db->pending_outbox(10, outbox_scope::everything().after(rows[0].id))),
      (v{"b", "d"}));
}

TEST_P(store_conformance, an_owned_scope_skips_published_rows_and_unusual_topic_names) {
  const std::string odd = "we\"ird\\topic";
  ASSERT_TRUE(db->save_saga(saga_with_command("a", odd, 3), t0));
  ASSERT_TRUE(db->save_saga(saga_with_command("b", odd, 3), t0));
  auto rows = *db->pending_outbox(10);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(db->mark_published(rows[0].id, t0));
  auto scope = outbox_scope::owned({{odd, 3}});
  EXPECT_EQ(saga_ids_of(db->pending_outbox(10, scope)), (std::vector<std::string>{"b"}));
}

/// After a store written by schema 3 (no partition in its outbox) was migrated: its
/// pending rows of saga "old-2" (on leads[2]) and of "orphan" (whose saga is gone)
/// must still go out, "old-2"'s from the owner of leads[2].
inline void expect_rows_of_schema_3_go_out(store& db) {
  using v = std::vector<std::string>;
  EXPECT_EQ(saga_ids_of(db.pending_outbox(10)), (v{"old-2", "orphan"}));
  EXPECT_EQ(saga_ids_of(db.pending_outbox(10, outbox_scope::owned({{"leads", 2}}))),
            (v{"old-2", "orphan"}));
  EXPECT_EQ(saga_ids_of(db.pending_outbox(10, outbox_scope::owned({{"leads", 1}}))),
            (v{"orphan"}))
      << "a row whose saga is gone goes out from every relay rather than from none";
}

} // namespace phoenix::persistence::testing
