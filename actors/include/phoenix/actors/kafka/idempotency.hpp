#pragma once

#include "phoenix/persistence/store_link.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace phoenix::kafka {

/// The idempotent consumer of one subscription (DESIGN.md §5): every record's key
/// (`idempotency-key` header, else CloudEvents source + id, else topic/partition/offset,
/// see runtime/idempotency_key.hpp) is claimed in the store before its handler runs and
/// completed after the handler returned `done`. A record whose key is already complete
/// is skipped and counted (`consumer_stats::duplicates`); its offset becomes committable
/// like a handled one. Claims and completions travel in one store request per lane batch.
///
/// A record's offset becomes committable only once its completion is durable, so a
/// store that cannot be written (file not writable, PostgreSQL down) holds the
/// partition's commits back; its lanes retry with backoff, records pile up to
/// `max_in_flight`, the partition pauses, and everything resumes by itself when the
/// store answers again. `persistence::store_link::ready()` says meanwhile whether the
/// store takes writes (what `/ready` reads).
struct idempotency_config {
  /// The node's store. Without it the consumer is not idempotent (a bare
  /// `group_consumer_child`); the node sets it on every subscription, so it is on by
  /// default wherever a store is configured, which a node always has.
  std::optional<persistence::store_link> store;
  /// Namespace of the keys, so that two applications (consumer groups) reading one
  /// topic each make their own effects once. Empty: the consumer's `group.id`. Must not
  /// hold `|` or control characters.
  std::string scope;
  /// How long a claim keeps other owners out when its holder dies without completing.
  /// The holder's identity is scope/topic/partition/lane, so the partition's next owner
  /// takes its keys back at once; the lease only delays records with the same key on
  /// other partitions.
  std::chrono::milliseconds lease = std::chrono::minutes{5};
  /// Backoff of a lane whose store request failed (doubling from min to max), and the
  /// wait before asking again about a key another owner holds.
  std::chrono::milliseconds retry_min{50};
  std::chrono::milliseconds retry_max{5000};
  /// A store request without an answer this long counts as failed and is retried (the
  /// request is idempotent, so an answer that comes late does no harm).
  std::chrono::milliseconds request_timeout{30000};
};

} // namespace phoenix::kafka
