#include "phoenix/actors/kafka/acl.hpp"

#include "kafka/rdkafka.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace phoenix::kafka {
namespace {

// Kafka's protocol codes (which librdkafka's enums carry) for Phoenix's enums, in the
// enums' order. librdkafka 2.0 names resource type 4 BROKER; Kafka calls it CLUSTER.
// Errors are reported by code name: the broker's own message for an ACL can hold a dump
// of the whole request.
constexpr std::array<int, 5> resource_codes{1, 2, 3, 4, 0};
constexpr std::array<int, 4> pattern_codes{1, 2, 3, 4};
constexpr std::array<int, 12> operation_codes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
constexpr std::array<int, 3> permission_codes{1, 3, 2};

constexpr std::array<std::string_view, 5> resource_names{"any", "topic", "group", "cluster",
                                                         "unknown"};
constexpr std::array<std::string_view, 4> pattern_names{"any", "match", "literal",
                                                        "prefixed"};
constexpr std::array<std::string_view, 12> operation_names{"any",
                                                           "all",
                                                           "read",
                                                           "write",
                                                           "create",
                                                           "delete",
                                                           "alter",
                                                           "describe",
                                                           "cluster_action",
                                                           "describe_configs",
                                                           "alter_configs",
                                                           "idempotent_write"};
constexpr std::array<std::string_view, 3> permission_names{"any", "allow", "deny"};

template <class Enum, std::size_t N>
int code_of(Enum e, const std::array<int, N>& codes) {
  return codes[static_cast<std::size_t>(e)];
}

// The enum value whose code is `code`; `fallback` for codes this librdkafka or Phoenix
// does not know (newer brokers list e.g. delegation-token ACLs).
template <class Enum, std::size_t N>
Enum from_code(int code, const std::array<int, N>& codes, Enum fallback) {
  for (std::size_t i = 0; i < N; ++i)
    if (codes[i] == code)
      return static_cast<Enum>(i);
  return fallback;
}

constexpr std::string_view cluster_name = "kafka-cluster";

acl_binding to_binding(const rd_kafka_AclBinding_t& rd) {
  acl_binding out;
  out.resource =
      from_code(rd_kafka_AclBinding_restype(&rd), resource_codes, acl_resource::unknown);
  out.name = rd_kafka_AclBinding_name(&rd);
  out.pattern = from_code(rd_kafka_AclBinding_resource_pattern_type(&rd), pattern_codes,
                          acl_pattern::any);
  out.principal = rd_kafka_AclBinding_principal(&rd);
  out.host = rd_kafka_AclBinding_host(&rd);
  out.operation =
      from_code(rd_kafka_AclBinding_operation(&rd), operation_codes, acl_operation::any);
  out.permission = from_code(rd_kafka_AclBinding_permission_type(&rd), permission_codes,
                             acl_permission::any);
  return out;
}

result<rd::acl_binding_ptr> to_rd(const acl_binding& acl, std::string_view what) {
  char errstr[256] = {};
  const std::string name = acl.resource == acl_resource::cluster && acl.name.empty()
                               ? std::string{cluster_name}
                               : acl.name;
  rd::acl_binding_ptr out{rd_kafka_AclBinding_new(
      static_cast<rd_kafka_ResourceType_t>(code_of(acl.resource, resource_codes)),
      name.c_str(),
      static_cast<rd_kafka_ResourcePatternType_t>(code_of(acl.pattern, pattern_codes)),
      acl.principal.c_str(), acl.host.c_str(),
      static_cast<rd_kafka_AclOperation_t>(code_of(acl.operation, operation_codes)),
      static_cast<rd_kafka_AclPermissionType_t>(code_of(acl.permission, permission_codes)),
      errstr, sizeof errstr)};
  if (!out)
    return phoenix::error{runtime::errc::invalid_argument,
                          std::string{what} + ": " + describe(acl) + ": " + errstr};
  return out;
}

result<rd::acl_binding_ptr> to_rd(const acl_filter& f, std::string_view what) {
  char errstr[256] = {};
  auto c_str = [](const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; };
  rd::acl_binding_ptr out{rd_kafka_AclBindingFilter_new(
      static_cast<rd_kafka_ResourceType_t>(code_of(f.resource, resource_codes)),
      c_str(f.name),
      static_cast<rd_kafka_ResourcePatternType_t>(code_of(f.pattern, pattern_codes)),
      c_str(f.principal), c_str(f.host),
      static_cast<rd_kafka_AclOperation_t>(code_of(f.operation, operation_codes)),
      static_cast<rd_kafka_AclPermissionType_t>(code_of(f.permission, permission_codes)),
      errstr, sizeof errstr)};
  if (!out)
    return phoenix::error{runtime::errc::invalid_argument,
                          std::string{what} + ": bad filter: " + errstr};
  return out;
}

int to_ms(std::chrono::milliseconds timeout) {
  return static_cast<int>(
      std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 1, 3'600'000));
}

} // namespace

std::string_view to_string(acl_resource r) noexcept {
  return resource_names[static_cast<std::size_t>(r)];
}
std::string_view to_string(acl_pattern p) noexcept {
  return pattern_names[static_cast<std::size_t>(p)];
}
std::string_view to_string(acl_operation o) noexcept {
  return operation_names[static_cast<std::size_t>(o)];
}
std::string_view to_string(acl_permission p) noexcept {
  return permission_names[static_cast<std::size_t>(p)];
}

result<acl_operation> parse_acl_operation(std::string_view text) {
  std::string word;
  for (char c : text)
    word += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::size_t i = 0; i < operation_names.size(); ++i)
    if (operation_names[i] == word)
      return static_cast<acl_operation>(i);
  std::string choices;
  for (std::size_t i = 1; i < operation_names.size(); ++i)
    choices += (i > 1 ? ", " : "") + std::string{operation_names[i]};
  return phoenix::error{runtime::errc::invalid_argument,
                        "unknown ACL operation '" + std::string{text} +
                            "'; expected one of " + choices};
}

std::string describe(const acl_binding& acl) {
  std::string out = acl.principal;
  out += ' ';
  out += to_string(acl.permission);
  out += ' ';
  out += to_string(acl.operation);
  out += " on ";
  out += to_string(acl.resource);
  out += ' ';
  out += acl.name;
  out += " (";
  out += to_string(acl.pattern);
  out += ") from ";
  out += acl.host;
  return out;
}

struct acl_admin::impl {
  rd::handle_ptr rk;

  // Submits one admin request and waits for its result event. A request-level failure
  // (no broker reachable, timed out) is an error here; per-ACL errors are the caller's.
  template <class Submit>
  result<rd::event_ptr> call(rd_kafka_admin_op_t op, std::chrono::milliseconds timeout,
                             const std::string& what, Submit submit) {
    rd::queue_ptr queue{rd_kafka_queue_new(rk.get())};
    rd::admin_options_ptr opts{rd_kafka_AdminOptions_new(rk.get(), op)};
    char errstr[256] = {};
    if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), to_ms(timeout), errstr,
                                                  sizeof errstr) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
      return phoenix::error{runtime::errc::invalid_argument, what + ": " + errstr};
    submit(opts.get(), queue.get());
    // librdkafka times the request out itself; the margin only guards against a hang.
    rd::event_ptr ev{rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 5000)};
    if (!ev)
      return phoenix::error{runtime::errc::kafka_error,
                            what + ": no answer within " + std::to_string(timeout.count()) +
                                " ms"};
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return phoenix::error{runtime::errc::kafka_error,
                            what + ": " + rd_kafka_event_error_string(ev.get())};
    return ev;
  }
};

acl_admin::acl_admin(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
acl_admin::acl_admin(acl_admin&&) noexcept = default;
acl_admin& acl_admin::operator=(acl_admin&&) noexcept = default;
acl_admin::~acl_admin() = default;

result<acl_admin> acl_admin::connect(const std::map<std::string, std::string>& properties,
                                     const std::string& origin) {
  auto conf = rd::make_conf(properties, origin);
  if (!conf)
    return conf.error();
  auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "ACL admin client");
  if (!rk)
    return rk.error();
  auto state = std::make_unique<impl>();
  state->rk = std::move(*rk);
  return acl_admin{std::move(state)};
}

result<void> acl_admin::grant(const std::vector<acl_binding>& acls,
                              std::chrono::milliseconds timeout) {
  const std::string what = "grant ACLs";
  std::vector<rd::acl_binding_ptr> owned;
  std::vector<rd_kafka_AclBinding_t*> raw;
  for (const auto& acl : acls) {
    auto b = to_rd(acl, what);
    if (!b)
      return b.error();
    raw.push_back(b->get());
    owned.push_back(std::move(*b));
  }
  if (raw.empty())
    return {};
  auto ev =
      impl_->call(RD_KAFKA_ADMIN_OP_CREATEACLS, timeout, what,
                  [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                    rd_kafka_CreateAcls(impl_->rk.get(), raw.data(), raw.size(), opts, q);
                  });
  if (!ev)
    return ev.error();
  std::size_t n = 0;
  const auto** results =
      rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev->get()), &n);
  for (std::size_t i = 0; i < n; ++i)
    if (const rd_kafka_error_t* err = rd_kafka_acl_result_error(results[i]))
      return rd::kafka_error(what + ": " + (i < acls.size() ? describe(acls[i]) : ""),
                             rd_kafka_error_code(err));
  return {};
}

result<std::vector<acl_binding>> acl_admin::list(const acl_filter& filter,
                                                 std::chrono::milliseconds timeout) {
  const std::string what = "list ACLs";
  auto f = to_rd(filter, what);
  if (!f)
    return f.error();
  auto ev = impl_->call(RD_KAFKA_ADMIN_OP_DESCRIBEACLS, timeout, what,
                        [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                          rd_kafka_DescribeAcls(impl_->rk.get(), f->get(), opts, q);
                        });
  if (!ev)
    return ev.error();
  std::size_t n = 0;
  const auto** acls =
      rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev->get()), &n);
  std::vector<acl_binding> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(to_binding(*acls[i]));
  return out;
}

result<std::vector<acl_binding>> acl_admin::revoke(const acl_filter& filter,
                                                   std::chrono::milliseconds timeout) {
  const std::string what = "revoke ACLs";
  auto f = to_rd(filter, what);
  if (!f)
    return f.error();
  rd_kafka_AclBindingFilter_t* raw = f->get();
  auto ev = impl_->call(RD_KAFKA_ADMIN_OP_DELETEACLS, timeout, what,
                        [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                          rd_kafka_DeleteAcls(impl_->rk.get(), &raw, 1, opts, q);
                        });
  if (!ev)
    return ev.error();
  std::size_t n = 0;
  const auto** responses =
      rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev->get()), &n);
  std::vector<acl_binding> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* err =
            rd_kafka_DeleteAcls_result_response_error(responses[i]))
      return rd::kafka_error(what, rd_kafka_error_code(err));
    std::size_t m = 0;
    const auto** matching =
        rd_kafka_DeleteAcls_result_response_matching_acls(responses[i], &m);
    for (std::size_t j = 0; j < m; ++j)
      out.push_back(to_binding(*matching[j]));
  }
  return out;
}

} // namespace phoenix::kafka
