#include "postgres/pg_batch.hpp"

#include "phoenix/persistence/errc.hpp"
#include "postgres/key_sql.hpp"
#include "postgres/pg_db.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>

namespace phoenix::persistence::pg {
namespace {

using detail::to_us;
using namespace key_sql;

constexpr const char* release_sql =
    "DELETE FROM sys.request_keys WHERE state = 1 AND key = ANY($1::text[])";

constexpr const char* trace_sql = R"sql(
INSERT INTO sys.message_traceability
  (key, topic, kafka_partition, kafka_offset, stage, node, detail, at_us)
SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int8[], $5::text[],
                     $6::text[], $7::text[], $8::int8[]))sql";

// A published row is not kept: nothing reads it again (schema step 5).
constexpr const char* publish_sql =
    "DELETE FROM sys.saga_outbox WHERE id = ANY($1::int8[])";

constexpr const char* saga_insert_sql = R"sql(
INSERT INTO sys.saga_state (saga_id, saga_type, topic, kafka_partition, status, finished,
                            version, data, updated_at_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), $9)
ON CONFLICT (saga_id) DO NOTHING)sql";

constexpr const char* saga_update_sql = R"sql(
UPDATE sys.saga_state SET saga_type = $2, topic = $3, kafka_partition = $4, status = $5,
  finished = $6, version = $7, data = decode($8, 'hex'), updated_at_us = $9
WHERE saga_id = $1 AND version = $10)sql";

constexpr const char* outbox_sql = R"sql(
INSERT INTO sys.saga_outbox (saga_id, topic, key, payload, headers, created_at_us,
                             saga_topic, saga_partition)
SELECT $1, t, k, decode(p, 'hex'), decode(h, 'hex'), $2, $7, $8
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(t, k, p, h, o)
ORDER BY o)sql";

// In store_op order; the index of a writer's per-level segment.
enum class kind { claim, complete, release, trace, publish };

kind kind_of(const store_op& op) {
  switch (op.index()) {
  case 0:
    return kind::claim;
  case 1:
    return kind::complete;
  case 2:
    return kind::release;
  case 3:
    return kind::trace;
  default:
    return kind::publish;
  }
}

const std::string* key_of(const store_op& op) {
  if (auto* c = std::get_if<claim_op>(&op))
    return &c->key.value;
  if (auto* c = std::get_if<complete_op>(&op))
    return &c->key.value;
  if (auto* c = std::get_if<release_op>(&op))
    return &c->key.value;
  return nullptr;
}

/// Sends the simple operations of a batch in as few statements as ordering allows.
/// Operations on different keys commute, so each operation goes to the first "level"
/// after the last earlier operation on its key, and every level sends one statement
/// per kind: the pipeline's claim+trace+complete per key becomes three statements per
/// batch. A key appears at most once per level, as `INSERT ... ON CONFLICT` requires.
class leveled_writer {
public:
  leveled_writer(time_point now, std::uint64_t& round_trips)
      : now_(now), round_trips_(round_trips) {}

  /// `outcome` receives the result of a claim_op (unused for other kinds).
  void add(const store_op& op, claim_outcome* outcome) {
    std::size_t level = 0;
    if (const std::string* key = key_of(op)) {
      auto& next = next_level_[*key];
      level = next++;
    }
    if (levels_.size() <= level)
      levels_.resize(level + 1);
    levels_[level][static_cast<std::size_t>(kind_of(op))].push_back({&op, outcome});
  }

  void flush(pqxx::transaction_base& tx) {
    for (auto& level : levels_)
      for (std::size_t k = 0; k < level.size(); ++k)
        if (!level[k].empty()) {
          send(tx, static_cast<kind>(k), level[k]);
          ++round_trips_;
        }
    levels_.clear();
    next_level_.clear();
  }

private:
  struct entry {
    const store_op* op;
    claim_outcome* outcome;
  };
  using segment = std::vector<entry>;

  void send(pqxx::transaction_base& tx, kind k, const segment& seg) {
    const auto now = to_us(now_);
    std::vector<std::string> keys;
    std::vector<std::int64_t> ints;
    switch (k) {
    case kind::claim: {
      std::vector<std::string> owners;
      for (auto& e : seg) {
        auto& c = std::get<claim_op>(*e.op);
        keys.push_back(c.key.value);
        ints.push_back(to_us(now_ + c.lease));
        owners.push_back(c.owner);
      }
      auto rows = tx.exec_params(claim_sql, text_array(keys), int_array(ints), now,
                                 text_array(owners));
      for (std::size_t i = 0; i < rows.size() && i < seg.size(); ++i) {
        bool won = rows[i][0].as<bool>();
        bool done =
            !rows[i][1].is_null() && rows[i][1].as<int>() == detail::state_completed;
        *seg[i].outcome = won    ? claim_outcome::claimed
                          : done ? claim_outcome::completed
                                 : claim_outcome::in_progress;
      }
      return;
    }
    case kind::complete:
      for (auto& e : seg)
        keys.push_back(std::get<complete_op>(*e.op).key.value);
      tx.exec_params(complete_sql, text_array(keys), now);
      return;
    case kind::release:
      for (auto& e : seg)
        keys.push_back(std::get<release_op>(*e.op).key.value);
      tx.exec_params(release_sql, text_array(keys));
      return;
    case kind::trace:
      return send_traces(tx, seg);
    case kind::publish:
      for (auto& e : seg)
        ints.push_back(std::get<publish_op>(*e.op).outbox_id);
      tx.exec_params(publish_sql, int_array(ints));
      return;
    }
  }

  void send_traces(pqxx::transaction_base& tx, const segment& seg) {
    std::vector<std::string> key, topic, stage, node, det;
    std::vector<std::int64_t> part, off, at;
    for (auto& e : seg) {
      auto& t = std::get<trace_op>(*e.op).row;
      key.push_back(t.key.value);
      topic.push_back(t.topic);
      part.push_back(t.partition);
      off.push_back(t.offset);
      stage.push_back(t.stage);
      node.push_back(t.node);
      det.push_back(t.detail);
      at.push_back(to_us(detail::stamp(t.at, now_)));
    }
    tx.exec_params(trace_sql, text_array(key), text_array(topic), int_array(part),
                   int_array(off), text_array(stage), text_array(node), text_array(det),
                   int_array(at));
  }

  time_point now_;
  std::uint64_t& round_trips_;
  std::vector<std::array<segment, 5>> levels_; // indexed by level, then by kind
  std::unordered_map<std::string, std::size_t> next_level_;
};

std::optional<error> apply_saga(pqxx::transaction_base& tx, const saga_op& op,
                                time_point now, reply& rep) {
  const auto& st = op.state;
  const std::int64_t next = op.expected_version + 1;
  const auto updated = to_us(detail::stamp(st.updated_at, now));
  pqxx::result r =
      op.expected_version == 0
          ? tx.exec_params(saga_insert_sql, st.id.value, st.type, st.topic, st.partition,
                           st.status, st.finished, next, hex(st.data), updated)
          : tx.exec_params(saga_update_sql, st.id.value, st.type, st.topic, st.partition,
                           st.status, st.finished, next, hex(st.data), updated,
                           op.expected_version);
  if (r.affected_rows() != 1)
    return make_store_error(store_errc::conflict, "saga " + st.id.value +
                                                      " is not at version " +
                                                      std::to_string(op.expected_version));
  if (!op.outbox.empty()) {
    std::vector<std::string> topic, key, payload, headers;
    for (const auto& m : op.outbox) {
      topic.push_back(m.topic);
      key.push_back(m.key);
      payload.push_back(hex(m.payload));
      headers.push_back(hex(m.headers));
    }
    tx.exec_params(outbox_sql, st.id.value, to_us(now), text_array(topic), text_array(key),
                   text_array(payload), text_array(headers), st.topic, st.partition);
  }
  rep.saga_versions.push_back(next);
  return std::nullopt;
}

bool has_saga(const store_request& r) {
  for (const auto& op : r.ops)
    if (std::holds_alternative<saga_op>(op))
      return true;
  return false;
}

} // namespace

std::vector<result<reply>> apply_batch(pqxx::work& w,
                                       const std::vector<store_request>& batch,
                                       time_point now, std::uint64_t& round_trips) {
  std::vector<reply> replies(batch.size());
  std::vector<std::optional<error>> failed(batch.size());
  // Claim outcomes are written in place, so each reply's vector is sized up front.
  for (std::size_t i = 0; i < batch.size(); ++i)
    replies[i].claims.resize(static_cast<std::size_t>(
        std::count_if(batch[i].ops.begin(), batch[i].ops.end(),
                      [](const store_op& op) { return op.index() == 0; })));
  leveled_writer writer{now, round_trips};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::size_t claim = 0;
    auto slot = [&](const store_op& op) {
      return op.index() == 0 ? &replies[i].claims[claim++] : nullptr;
    };
    if (!has_saga(batch[i])) {
      for (const auto& op : batch[i].ops)
        writer.add(op, slot(op));
      continue;
    }
    // A saga write can conflict, so it runs alone in a savepoint, after everything
    // before it. Plain SQL, not pqxx::subtransaction: libpqxx 6.4 begins those lazily
    // on exec() only, so with exec_params alone their SAVEPOINT is never sent.
    writer.flush(w);
    w.exec("SAVEPOINT request");
    round_trips += 2; // and RELEASE (or ROLLBACK TO, then RELEASE)
    for (const auto& op : batch[i].ops) {
      if (auto* s = std::get_if<saga_op>(&op)) {
        round_trips += s->outbox.empty() ? 1 : 2;
        if ((failed[i] = apply_saga(w, *s, now, replies[i])))
          break;
      } else {
        writer.add(op, slot(op));
        writer.flush(w);
      }
    }
    if (failed[i])
      w.exec("ROLLBACK TO SAVEPOINT request");
    w.exec("RELEASE SAVEPOINT request");
  }
  writer.flush(w);
  std::vector<result<reply>> out;
  out.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (failed[i])
      out.emplace_back(std::move(*failed[i]));
    else
      out.emplace_back(std::move(replies[i]));
  }
  return out;
}

} // namespace phoenix::persistence::pg
