#include "phoenix/runtime/idempotency_key.hpp"

namespace phoenix::runtime {

std::string idempotency_key_from_header(std::string_view value) {
  std::string out;
  out.reserve(2 + value.size());
  out += "h:";
  out += value;
  return out;
}

std::string idempotency_key_from_event(std::string_view source, std::string_view id) {
  auto n = std::to_string(source.size());
  std::string out;
  out.reserve(5 + n.size() + source.size() + id.size());
  out += "ce:";
  out += n;
  out += ':';
  out += source;
  out += '/';
  out += id;
  return out;
}

std::string idempotency_key_from_position(std::string_view topic, std::int32_t partition,
                                          std::int64_t offset) {
  std::string out = "o:";
  out += topic;
  out += '/';
  out += std::to_string(partition);
  out += '/';
  out += std::to_string(offset);
  return out;
}

std::string idempotency_key_of(const envelope& env) {
  if (env.idempotency_key && !env.idempotency_key->empty())
    return idempotency_key_from_header(*env.idempotency_key);
  return idempotency_key_from_event(env.source, env.id);
}

std::string idempotency_key_of(const envelope_view& env) {
  if (env.idempotency_key && !env.idempotency_key->empty())
    return idempotency_key_from_header(*env.idempotency_key);
  return idempotency_key_from_event(env.source, env.id);
}

namespace {

template <class Header>
std::string key_of_headers(const Header* headers, std::size_t count, std::string_view topic,
                           std::int32_t partition, std::int64_t offset) {
  std::string_view source, id;
  bool has_source = false, has_id = false;
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view key = headers[i].key, value = headers[i].value;
    if (key == "idempotency-key" && !value.empty())
      return idempotency_key_from_header(value);
    if (!has_source && key == "ce_source") {
      source = value;
      has_source = true;
    } else if (!has_id && key == "ce_id") {
      id = value;
      has_id = true;
    }
  }
  if (!source.empty() && !id.empty())
    return idempotency_key_from_event(source, id);
  return idempotency_key_from_position(topic, partition, offset);
}

} // namespace

std::string idempotency_key_of(const std::vector<header>& headers, std::string_view topic,
                               std::int32_t partition, std::int64_t offset) {
  return key_of_headers(headers.data(), headers.size(), topic, partition, offset);
}

std::string idempotency_key_of(const header_view* headers, std::size_t count,
                               std::string_view topic, std::int32_t partition,
                               std::int64_t offset) {
  return key_of_headers(headers, count, topic, partition, offset);
}

} // namespace phoenix::runtime
