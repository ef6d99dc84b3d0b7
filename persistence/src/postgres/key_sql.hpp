#pragma once

// The statements that claim and complete idempotency keys in PostgreSQL, one statement
// per batch over arrays: the store's, and the raw loop's of `phoenix bench store`, which
// must do the same database work. Parameters: claim ($1 keys text[], $2 lease_until_us
// int8[], $3 now_us, $4 owners text[]; rows: claimed?, state, in input order); complete
// ($1 keys text[], $2 now_us).

namespace phoenix::persistence::pg::key_sql {

// Sorting by key inside a statement makes concurrent batches lock rows in one order,
// which keeps two nodes' batches from deadlocking on shared keys.
inline constexpr const char* claim_sql = R"sql(
WITH input AS (
  SELECT k, l, w, o FROM unnest($1::text[], $2::int8[], $4::text[])
    WITH ORDINALITY AS t(k, l, w, o)),
ins AS (
  INSERT INTO sys.request_keys AS r (key, state, claimed_at_us, lease_until_us, owner)
  SELECT k, 1, $3, l, w FROM input ORDER BY k
  ON CONFLICT (key) DO UPDATE SET claimed_at_us = excluded.claimed_at_us,
    lease_until_us = excluded.lease_until_us, owner = excluded.owner
  WHERE r.state = 1 AND (r.lease_until_us <= excluded.claimed_at_us
    OR (excluded.owner <> '' AND r.owner = excluded.owner))
  RETURNING r.key)
SELECT ins.key IS NOT NULL, r.state FROM input
  LEFT JOIN ins ON ins.key = input.k
  LEFT JOIN sys.request_keys r ON r.key = input.k
ORDER BY input.o)sql";

inline constexpr const char* complete_sql = R"sql(
INSERT INTO sys.request_keys AS r (key, state, claimed_at_us, lease_until_us, completed_at_us)
SELECT k, 2, $2, $2, $2 FROM unnest($1::text[]) AS t(k) ORDER BY k
ON CONFLICT (key) DO UPDATE SET state = 2, completed_at_us = excluded.completed_at_us
WHERE r.state <> 2)sql";

} // namespace phoenix::persistence::pg::key_sql
