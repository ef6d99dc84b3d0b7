#pragma once

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/envelope_view.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::runtime {

// The key under which one message's effects are made once (DESIGN.md §5): the
// `idempotency-key` header, else CloudEvents `ce_source` + `ce_id`, else the record's
// topic/partition/offset. Each source of a key has its own prefix and the event form
// carries the source's length, so different inputs never give the same key:
//
//   idempotency-key: pay-42                  -> h:pay-42
//   ce_source: urn:orders, ce_id: evt-42     -> ce:10:urn:orders/evt-42
//   (neither) orders[3]@1207                 -> o:orders/3/1207
//
// (`a/b` + `c` and `a` + `b/c` were one key when it was `source + "/" + id`.)

/// The key of a record that carries an `idempotency-key` header.
std::string idempotency_key_from_header(std::string_view value);

/// The key of a CloudEvent without an `idempotency-key` header.
std::string idempotency_key_from_event(std::string_view source, std::string_view id);

/// The key of a record without either (Kafka topic names hold no `/`).
std::string idempotency_key_from_position(std::string_view topic, std::int32_t partition,
                                          std::int64_t offset);

/// The key of a decoded envelope: its non-empty `idempotency_key`, else source and id.
std::string idempotency_key_of(const envelope& env);
std::string idempotency_key_of(const envelope_view& env);

/// The key of a record straight from its headers, without decoding the envelope:
/// the first non-empty `idempotency-key` header, else the first `ce_source` and `ce_id`
/// if both are non-empty, else the position. For every record that decodes, this is
/// `idempotency_key_of` of its envelope (decoding refuses duplicates and empty values).
std::string idempotency_key_of(const std::vector<header>& headers, std::string_view topic,
                               std::int32_t partition, std::int64_t offset);
std::string idempotency_key_of(const header_view* headers, std::size_t count,
                               std::string_view topic, std::int32_t partition,
                               std::int64_t offset);

} // namespace phoenix::runtime
