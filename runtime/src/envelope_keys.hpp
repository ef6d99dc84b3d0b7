#pragma once

// The header keys of the CloudEvents Kafka binding that the envelope maps to fields;
// shared by the codec's two halves (envelope.cpp encodes, envelope_view.cpp decodes).

#include <array>
#include <cstddef>
#include <string_view>

namespace phoenix::runtime::envelope_keys {

constexpr std::string_view k_id = "ce_id";
constexpr std::string_view k_source = "ce_source";
constexpr std::string_view k_type = "ce_type";
constexpr std::string_view k_specversion = "ce_specversion";
constexpr std::string_view k_content_type = "content-type";
constexpr std::string_view k_time = "ce_time";
constexpr std::string_view k_subject = "ce_subject";
constexpr std::string_view k_traceparent = "traceparent";
constexpr std::string_view k_tenant_id = "tenant-id";
constexpr std::string_view k_idempotency_key = "idempotency-key";

// Indexes into `mapped_keys`; the first four are required.
enum field : std::size_t {
  f_id,
  f_source,
  f_type,
  f_specversion,
  f_content_type,
  f_time,
  f_subject,
  f_traceparent,
  f_tenant_id,
  f_idempotency_key,
  f_count,
};
constexpr std::size_t required_count = 4;

constexpr std::array<std::string_view, f_count> mapped_keys = {
    k_id,   k_source,  k_type,        k_specversion, k_content_type,
    k_time, k_subject, k_traceparent, k_tenant_id,   k_idempotency_key,
};

} // namespace phoenix::runtime::envelope_keys
