#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::kafka {

/// What an ACL is about. `cluster`'s resource name is always "kafka-cluster". `any` is for
/// filters only. librdkafka 2.0 knows no other resource types: it can neither create nor
/// select transactional-id ACLs, and lists them (as any type it does not know) as
/// `unknown`.
enum class acl_resource { any, topic, group, cluster, unknown };

/// How an ACL's resource name matches: exactly, or as a prefix. `any` and `match` are for
/// filters only (`match`: every ACL that applies to the name, wildcards included).
enum class acl_pattern { any, match, literal, prefixed };

/// Kafka's ACL operations; `any` is for filters only.
enum class acl_operation {
  any,
  all,
  read,
  write,
  create,
  remove, ///< Kafka's DELETE
  alter,
  describe,
  cluster_action,
  describe_configs,
  alter_configs,
  idempotent_write,
};

/// `any` is for filters only.
enum class acl_permission { any, allow, deny };

/// One access rule: `principal` (e.g. "User:reader") from `host` ("*": any) may (allow)
/// or may not (deny) do `operation` on the resource.
struct acl_binding {
  acl_resource resource = acl_resource::topic;
  std::string name;
  acl_pattern pattern = acl_pattern::literal;
  std::string principal;
  std::string host = "*";
  acl_operation operation = acl_operation::all;
  acl_permission permission = acl_permission::allow;
};

/// Selects ACLs to list or revoke: an unset name, principal or host and the `any` values
/// match everything.
struct acl_filter {
  acl_resource resource = acl_resource::any;
  std::optional<std::string> name;
  acl_pattern pattern = acl_pattern::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  acl_operation operation = acl_operation::any;
  acl_permission permission = acl_permission::any;
};

/// Kafka's own spelling, lower case: "topic", "prefixed", "idempotent_write", "allow".
std::string_view to_string(acl_resource r) noexcept;
std::string_view to_string(acl_pattern p) noexcept;
std::string_view to_string(acl_operation o) noexcept;
std::string_view to_string(acl_permission p) noexcept;

/// Parses the names to_string() gives, ignoring case, '-' for '_', and "delete" for
/// `remove`. Errors: `runtime::errc::invalid_argument` naming the word and the choices.
result<acl_operation> parse_acl_operation(std::string_view text);

/// One line for people: "User:reader allow read on topic orders (literal) from *".
std::string describe(const acl_binding& acl);

/// Manages ACLs through librdkafka's Admin API (CreateAcls, DescribeAcls, DeleteAcls).
/// The client identity in `properties` needs ALTER (create, delete) or DESCRIBE (list)
/// on the cluster, which a super user has. Move-only.
///
/// Every call waits at most `timeout` for the brokers. Errors of every call:
/// `runtime::errc::kafka_error` with what failed and the broker's or librdkafka's reason
/// ("grant ACLs: Broker: Cluster authorization failed", "... Security features are
/// disabled" on a cluster without an authorizer, "... timed out"), and
/// `runtime::errc::invalid_argument` for a binding librdkafka refuses (an empty name or
/// principal, a filter-only value in a binding), naming the binding.
class acl_admin {
public:
  /// A client of the cluster in `properties` (librdkafka keys, as under `[kafka]`).
  /// Errors: `config_unknown_key` / `config_bad_value` naming `origin` and the key;
  /// `kafka_error` if librdkafka cannot create the client.
  static result<acl_admin> connect(const std::map<std::string, std::string>& properties,
                                   const std::string& origin);

  acl_admin(acl_admin&&) noexcept;
  acl_admin& operator=(acl_admin&&) noexcept;
  ~acl_admin();

  /// Creates every binding (an existing one is kept as is).
  result<void> grant(const std::vector<acl_binding>& acls,
                     std::chrono::milliseconds timeout);

  /// The ACLs matching `filter`. librdkafka 2.0 drops the error of a DescribeAcls
  /// response: a client without DESCRIBE on the cluster gets an empty list, not an error.
  result<std::vector<acl_binding>> list(const acl_filter& filter,
                                        std::chrono::milliseconds timeout);

  /// Deletes the ACLs matching `filter` and returns them (none matching is no error).
  result<std::vector<acl_binding>> revoke(const acl_filter& filter,
                                          std::chrono::milliseconds timeout);

private:
  struct impl;
  explicit acl_admin(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

} // namespace phoenix::kafka
