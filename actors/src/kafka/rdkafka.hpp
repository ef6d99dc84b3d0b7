#pragma once

// The one wrapper around librdkafka's C objects (CONVENTIONS.md §3). Every deleter for a
// librdkafka object lives here, so ownership reads the same everywhere; nothing in a
// public header includes this file.

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/error.hpp"

#include <cstddef>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace phoenix::kafka::rd {

struct handle_deleter {
  void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy(p); }
};
struct conf_deleter {
  void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
};
struct topic_partition_list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* p) const noexcept {
    rd_kafka_topic_partition_list_destroy(p);
  }
};
struct message_deleter {
  void operator()(rd_kafka_message_t* p) const noexcept { rd_kafka_message_destroy(p); }
};
struct headers_deleter {
  void operator()(rd_kafka_headers_t* p) const noexcept { rd_kafka_headers_destroy(p); }
};
struct queue_deleter {
  void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
};
struct error_deleter {
  void operator()(rd_kafka_error_t* p) const noexcept { rd_kafka_error_destroy(p); }
};
struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* p) const noexcept {
    rd_kafka_metadata_destroy(p);
  }
};
struct event_deleter {
  void operator()(rd_kafka_event_t* p) const noexcept { rd_kafka_event_destroy(p); }
};
struct admin_options_deleter {
  void operator()(rd_kafka_AdminOptions_t* p) const noexcept {
    rd_kafka_AdminOptions_destroy(p);
  }
};
struct acl_binding_deleter {
  void operator()(rd_kafka_AclBinding_t* p) const noexcept {
    rd_kafka_AclBinding_destroy(p);
  }
};
struct mock_cluster_deleter {
  void operator()(rd_kafka_mock_cluster_t* p) const noexcept {
    rd_kafka_mock_cluster_destroy(p);
  }
};

/// A client handle. Destroying a consumer handle closes the consumer first (librdkafka
/// does so unless told not to); call rd_kafka_consumer_close() explicitly to see errors.
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using topic_partition_list_ptr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, topic_partition_list_deleter>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;
using headers_ptr = std::unique_ptr<rd_kafka_headers_t, headers_deleter>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;
using error_ptr = std::unique_ptr<rd_kafka_error_t, error_deleter>;
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;
using admin_options_ptr = std::unique_ptr<rd_kafka_AdminOptions_t, admin_options_deleter>;
/// Also holds ACL binding filters (the same type in librdkafka).
using acl_binding_ptr = std::unique_ptr<rd_kafka_AclBinding_t, acl_binding_deleter>;
/// A mock cluster must be destroyed before the handle it was created with.
using mock_cluster_ptr = std::unique_ptr<rd_kafka_mock_cluster_t, mock_cluster_deleter>;

/// Record headers in order as (name, value) pairs; a null value reads as "".
using header_list = std::vector<std::pair<std::string, std::string>>;

/// `runtime::errc::kafka_error` with "<context>: <librdkafka's error string>".
inline phoenix::error kafka_error(std::string_view context, rd_kafka_resp_err_t err) {
  std::string msg{context};
  msg += ": ";
  msg += rd_kafka_err2str(err);
  return {runtime::errc::kafka_error, std::move(msg)};
}

inline phoenix::error kafka_error(std::string_view context, const rd_kafka_error_t& err) {
  std::string msg{context};
  msg += ": ";
  msg += rd_kafka_error_string(&err);
  return {runtime::errc::kafka_error, std::move(msg)};
}

/// Applies one property to `conf`. Errors: `config_unknown_key` or `config_bad_value`
/// with the message `<origin>: [kafka] <key>: <librdkafka's reason>`.
result<void> set_property(rd_kafka_conf_t& conf, const std::string& key,
                          const std::string& value, const std::string& origin);

/// `props` without the keys librdkafka 2.0.2 documents for the other kind of client
/// (CONFIGURATION.md, column C/P): the `[kafka]` section serves a node's consumers and
/// producers alike, and librdkafka warns about each foreign key when a client is created
/// ("group.id is a consumer property and will be ignored by this producer instance").
std::map<std::string, std::string> properties_for(rd_kafka_type_t type,
                                                  std::map<std::string, std::string> props);

/// A fresh configuration holding `props`. Errors: as set_property().
result<conf_ptr> make_conf(const std::map<std::string, std::string>& props,
                           const std::string& origin);

/// Creates a client. librdkafka takes the configuration only on success; either way the
/// caller's `conf` is consumed. Errors: `kafka_error` with "<what>: <reason>".
inline result<handle_ptr> make_handle(rd_kafka_type_t type, conf_ptr conf,
                                      std::string_view what) {
  char errstr[512] = {};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) {
    std::string msg{what};
    msg += ": ";
    msg += errstr;
    return phoenix::error{runtime::errc::kafka_error, std::move(msg)};
  }
  (void)conf.release(); // now owned by rk
  return handle_ptr{rk};
}

/// A header list for producing; null for no headers (librdkafka accepts none).
inline headers_ptr make_headers(const header_list& headers) {
  if (headers.empty())
    return nullptr;
  headers_ptr out{rd_kafka_headers_new(headers.size())};
  for (const auto& [name, value] : headers)
    rd_kafka_header_add(out.get(), name.data(), static_cast<ssize_t>(name.size()),
                        value.data(), static_cast<ssize_t>(value.size()));
  return out;
}

/// As above, from Phoenix's header type.
inline headers_ptr make_headers(const std::vector<runtime::header>& headers) {
  if (headers.empty())
    return nullptr;
  headers_ptr out{rd_kafka_headers_new(headers.size())};
  for (const auto& h : headers)
    rd_kafka_header_add(out.get(), h.key.data(), static_cast<ssize_t>(h.key.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  return out;
}

/// Calls `f(std::string_view name, std::string_view value)` for each header of `hdrs`
/// (may be null), in order; a null value reads as "".
template <class F>
void for_each_header(const rd_kafka_headers_t* hdrs, F&& f) {
  if (hdrs == nullptr)
    return;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i)
    f(std::string_view{name},
      value ? std::string_view{static_cast<const char*>(value), size} : std::string_view{});
}

/// Calls `f(std::string_view name, std::string_view value)` for each header of a
/// consumed record, in order; a null value reads as "". The views point into the parsed
/// headers the message owns (librdkafka parses them on the first call).
template <class F>
void for_each_header(rd_kafka_message_t& msg, F&& f) {
  rd_kafka_headers_t* hdrs = nullptr; // owned by msg
  if (rd_kafka_message_headers(&msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  for_each_header(static_cast<const rd_kafka_headers_t*>(hdrs), std::forward<F>(f));
}

/// The headers of a consumed record, parsed and taken from the message: the caller owns
/// them (null when the record has none). The message keeps its unparsed header bytes, so
/// a later call parses them again. Freeing a record's headers as soon as it is handled,
/// rather than with its whole batch, keeps their allocations in the thread's malloc cache.
inline headers_ptr detach_headers(rd_kafka_message_t& msg) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_detach_headers(&msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return nullptr;
  return headers_ptr{hdrs};
}

/// The headers of a consumed record, copied (empty if it has none).
inline header_list read_headers(rd_kafka_message_t& msg) {
  header_list out;
  for_each_header(msg, [&](std::string_view name, std::string_view value) {
    out.emplace_back(std::string(name), std::string(value));
  });
  return out;
}

/// Enqueues one record, copying key, value and headers, to the partition the
/// partitioner picks; `opaque` comes back in its delivery report (`_private`).
/// Returns librdkafka's error (queue full, unknown topic) or null.
/// `partition` picks one explicitly (RD_KAFKA_PARTITION_UA: the partitioner's choice).
inline error_ptr enqueue(rd_kafka_t& rk, const std::string& topic, std::string_view key,
                         std::string_view value, headers_ptr hdrs, void* opaque,
                         std::int32_t partition = RD_KAFKA_PARTITION_UA) {
  rd_kafka_vu_t vus[7] = {};
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_KEY;
  vus[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  vus[3].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[3].u.ptr = opaque;
  // librdkafka copies the key always, the value only with F_COPY; the caller's strings
  // may be gone before delivery.
  vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[4].u.i = RD_KAFKA_MSG_F_COPY;
  std::size_t cnt = 5;
  if (partition != RD_KAFKA_PARTITION_UA) {
    vus[cnt].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[cnt++].u.i32 = partition;
  }
  if (hdrs) {
    vus[cnt].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[cnt++].u.headers = hdrs.get();
  }
  error_ptr err{rd_kafka_produceva(&rk, vus, cnt)};
  if (!err)
    (void)hdrs.release(); // owned by the message now
  return err;
}

/// Asks the brokers for `topic`'s metadata without waiting for the answer. librdkafka
/// holds a record to a topic it has no metadata for until its topic scan, which runs
/// once a second, requests that metadata; so the first record to each topic waited up
/// to 1 s. Sent right after such a record's enqueue, the request is answered in one
/// round trip, and the answer (handled by librdkafka whether or not anyone waits for
/// it) moves the held records to their partitions. Best effort: without a usable
/// broker nothing is sent and the scan still applies.
inline void request_metadata_now(rd_kafka_t& rk, const std::string& topic) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(&rk, topic.c_str(), nullptr);
  if (handle == nullptr)
    return;
  const rd_kafka_metadata_t* md = nullptr;
  // Timeout 0: the request is sent, the call returns at once (normally __TIMED_OUT).
  if (rd_kafka_metadata(&rk, 0, handle, &md, 0) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      md != nullptr)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(handle);
}

/// The topics a producer has enqueued records to. The first record to each one asks
/// for that topic's metadata at once (request_metadata_now). Not thread-safe.
class topic_warmup {
public:
  /// Call after a successful enqueue to `topic`.
  void enqueued(rd_kafka_t& rk, const std::string& topic) {
    if (seen_.insert(topic).second)
      request_metadata_now(rk, topic);
  }

private:
  std::unordered_set<std::string> seen_;
};

/// As enqueue().
/// Errors: `kafka_error` with "produce to <topic>: <reason>" (queue full, unknown topic).
inline result<void> produce(rd_kafka_t& rk, const std::string& topic, std::string_view key,
                            std::string_view value, const header_list& headers,
                            void* opaque) {
  if (auto err = enqueue(rk, topic, key, value, make_headers(headers), opaque))
    return kafka_error("produce to " + topic, *err);
  return {};
}

} // namespace phoenix::kafka::rd
