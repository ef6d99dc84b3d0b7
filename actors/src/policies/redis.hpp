#pragma once

// The one wrapper of hiredis (CONVENTIONS §3): a blocking connection with timeouts, used
// only by the Redis limiter actor, which runs detached on its own thread.

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

struct redisContext;

namespace phoenix::policies {

class redis_connection {
public:
  /// Connects with `timeout` for the connect and for every command.
  /// Errors (all calls): runtime::errc::child_start_failed with the reason, "redis: "
  /// and hiredis's or the server's words ("Connection refused", "NOSCRIPT ...").
  static result<redis_connection> connect(const std::string& host, int port,
                                          std::chrono::milliseconds timeout);

  redis_connection(redis_connection&&) noexcept = default;
  redis_connection& operator=(redis_connection&&) noexcept = default;
  ~redis_connection();

  /// `SCRIPT LOAD`: the script's SHA1.
  result<std::string> load_script(const std::string& script);

  /// `EVALSHA sha 1 key args...`; an array reply of integers. Errors name Redis's answer
  /// (`NOSCRIPT ...` when the server lost the script, e.g. after a restart).
  result<std::vector<long long>> evalsha(const std::string& sha, const std::string& key,
                                         const std::vector<std::string>& args);

  /// `HGET key field` as a string; empty when missing.
  result<std::string> hget(const std::string& key, const std::string& field);

private:
  struct deleter {
    void operator()(redisContext* c) const noexcept;
  };
  explicit redis_connection(redisContext* c) : ctx_(c) {}
  std::unique_ptr<redisContext, deleter> ctx_;
};

} // namespace phoenix::policies
