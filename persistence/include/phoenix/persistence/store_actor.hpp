#pragma once

#include "phoenix/persistence/store.hpp"
#include "phoenix/persistence/store_link.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace phoenix::observability {
class metrics_registry;
} // namespace phoenix::observability

namespace phoenix::persistence {

// The store actor's protocol. Every request is answered: with its value, or with a
// caf::error made by runtime::to_caf_error (test with `is_store_error`).

/// (store_apply_atom, store_request) -> reply. Group-committed with other requests.
using store_apply_atom = caf::atom_constant<caf::atom("st_apply")>;
/// (store_lookup_atom, idempotency_key) -> key_record
using store_lookup_atom = caf::atom_constant<caf::atom("st_lookup")>;
/// (store_saga_atom, saga_id) -> saga_record; store_errc::not_found if absent.
using store_saga_atom = caf::atom_constant<caf::atom("st_saga")>;
/// (store_sagas_atom, std::string topic, std::int32_t partition) -> saga_list
using store_sagas_atom = caf::atom_constant<caf::atom("st_sagas")>;
/// (store_outbox_atom, std::uint64_t limit) -> outbox_list: every pending row;
/// (store_outbox_atom, std::uint64_t limit, outbox_scope) -> outbox_list: those it covers.
using store_outbox_atom = caf::atom_constant<caf::atom("st_outbox")>;
/// (store_purge_atom) -> purge_counts; purges what is older than the retention.
using store_purge_atom = caf::atom_constant<caf::atom("st_purge")>;
/// (store_health_atom) -> (bool reachable, std::string last_error)
using store_health_atom = caf::atom_constant<caf::atom("st_health")>;
/// (store_stats_atom) -> store_stats
using store_stats_atom = caf::atom_constant<caf::atom("st_stats")>;

using saga_list = std::vector<saga_record>;
using outbox_list = std::vector<outbox_record>;

struct store_actor_options {
  std::size_t batch_max = 1000;
  std::chrono::microseconds batch_window{500};
  std::chrono::hours retention{24 * 7};
  /// Time stamped on writes and used for retention; tests inject a fixed clock.
  std::function<time_point()> clock = [] { return std::chrono::system_clock::now(); };
  /// Reconnect attempts after store_unavailable: first after `reconnect_min`, doubling
  /// up to `reconnect_max`.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{5000};
  /// How often the actor purges by itself; zero disables.
  std::chrono::milliseconds purge_interval = std::chrono::hours{1};
  /// How often the actor asks the database a trivial question while it is healthy, so
  /// that a store that went away is noticed (link and `/ready`) even when nothing is
  /// written or read; zero disables (the default here, for tests on virtual time).
  /// `actor_options` sets 2 s, what nodes run with.
  std::chrono::milliseconds health_interval{0};
  /// The actor blocks on database I/O, so it runs on its own thread by default; tests
  /// on the deterministic scheduler turn this off.
  bool detached = true;
  /// Told when a write fails with store_unavailable or corrupt and when a reconnect
  /// succeeds (the link's actor must be this actor for it to count: `start_store`
  /// attaches it).
  store_link link;
};

store_actor_options actor_options(const store_config& cfg);

/// Spawns the store actor that owns `db`. Requests that arrive within `batch_window`
/// of the first pending one, up to `batch_max`, share one transaction; each requester
/// gets its own reply. A batch that fails fails each of its requests with the store
/// error (store_unavailable, conflict, corrupt). After store_unavailable the actor
/// answers store_unavailable at once and reconnects with backoff until it succeeds.
caf::actor spawn_store_actor(caf::actor_system& sys, std::unique_ptr<store> db,
                             store_actor_options opts);

/// Validates `cfg`, opens the store and spawns its actor, attached to `link` (ready) until
/// it stops: the start function of the node's store child.
///
/// Errors: runtime::errc::config_bad_value for a bad config, and the errors of
/// `open_store`, each message naming the file and key, as
/// `node.toml: [store] dsn: cannot connect to PostgreSQL (host=db password=***): ...`
/// or `node.toml: [store] path: cannot open SQLite database '/x/phoenix.db': ...`.
result<caf::actor> start_store(caf::actor_system& sys, const store_config& cfg,
                               store_link link = {});

/// A supervisor child spec ("store") whose start function is `start_store`; every
/// (re)start attaches the new actor to `link`.
runtime::child_spec store_child(store_config cfg, store_link link = {});

/// The group commit of the store actors behind `link` in `/metrics`, read when scraped:
/// histograms `phoenix_store_batch_size` (requests per transaction) and
/// `phoenix_store_batch_seconds` (time of each transaction), counters
/// `phoenix_store_requests_total` and `phoenix_store_failed_batches_total`. The registry
/// holds the probe weakly: the metrics show while the returned handle lives.
std::shared_ptr<void> expose_store_metrics(observability::metrics_registry& metrics,
                                           store_link link);

} // namespace phoenix::persistence

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::store_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::idempotency_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::key_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::saga_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::saga_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::saga_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::outbox_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::outbox_scope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::purge_counts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::persistence::store_stats)
