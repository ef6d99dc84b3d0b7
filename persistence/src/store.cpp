#include "phoenix/persistence/store.hpp"

#include "postgres/pg_store.hpp"
#include "sqlite/sqlite_store.hpp"

namespace phoenix::persistence {

const char* to_string(claim_outcome x) noexcept {
  switch (x) {
  case claim_outcome::claimed:
    return "claimed";
  case claim_outcome::in_progress:
    return "in_progress";
  case claim_outcome::completed:
    return "completed";
  }
  return "?";
}

const char* to_string(key_state x) noexcept {
  switch (x) {
  case key_state::absent:
    return "absent";
  case key_state::claimed:
    return "claimed";
  case key_state::completed:
    return "completed";
  }
  return "?";
}

store_request store_request::claim(idempotency_key key, std::chrono::milliseconds lease,
                                   std::string owner) {
  return store_request{{claim_op{std::move(key), lease, std::move(owner)}}};
}

store_request store_request::complete(idempotency_key key) {
  return store_request{{complete_op{std::move(key)}}};
}

store::~store() = default;

result<reply> store::apply_one(store_request r, time_point now) {
  std::vector<store_request> batch;
  batch.push_back(std::move(r));
  auto out = apply(batch, now);
  if (!out)
    return out.error();
  return std::move(out->front());
}

result<claim_outcome> store::claim(const idempotency_key& key, time_point now,
                                   std::chrono::milliseconds lease) {
  auto r = apply_one(store_request::claim(key, lease), now);
  if (!r)
    return r.error();
  return r->claims.front();
}

result<void> store::complete(const idempotency_key& key, time_point now) {
  auto r = apply_one(store_request::complete(key), now);
  if (!r)
    return r.error();
  return {};
}

result<void> store::release(const idempotency_key& key, time_point now) {
  auto r = apply_one(store_request{{release_op{key}}}, now);
  if (!r)
    return r.error();
  return {};
}

result<void> store::record_trace(trace_record row, time_point now) {
  auto r = apply_one(store_request{{trace_op{std::move(row)}}}, now);
  if (!r)
    return r.error();
  return {};
}

result<std::int64_t> store::save_saga(saga_op op, time_point now) {
  auto r = apply_one(store_request{{std::move(op)}}, now);
  if (!r)
    return r.error();
  return r->saga_versions.front();
}

result<void> store::mark_published(std::int64_t outbox_id, time_point now) {
  auto r = apply_one(store_request{{publish_op{outbox_id}}}, now);
  if (!r)
    return r.error();
  return {};
}

result<std::unique_ptr<store>> open_store(const store_config& cfg) {
  if (cfg.backend == "sqlite") {
    if (cfg.path.empty())
      return make_store_error(store_errc::bad_config, "sqlite backend needs a path");
    return open_sqlite_store(cfg);
  }
  if (cfg.backend == "postgres") {
    if (cfg.dsn.empty())
      return make_store_error(store_errc::bad_config, "postgres backend needs a dsn");
    return open_pg_store(cfg);
  }
  return make_store_error(store_errc::bad_config, "unknown backend \"" + cfg.backend +
                                                      "\" (expected sqlite or postgres)");
}

int latest_schema_version(const std::string& backend) {
  return backend == "postgres" ? pg_latest_schema_version()
                               : sqlite_latest_schema_version();
}

} // namespace phoenix::persistence
