#pragma once

#include "phoenix/observability/health_monitor.hpp"
#include "phoenix/observability/metrics.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/error.hpp"

#include <memory>
#include <string>

namespace phoenix::observability {

/// What the endpoints serve.
struct http_endpoints {
  std::shared_ptr<health_state> health;      ///< `/health`: liveness.
  std::shared_ptr<readiness> ready;          ///< `/ready`: every registered check.
  std::shared_ptr<metrics_registry> metrics; ///< `/metrics`: Prometheus text format.
  std::string node_id;
};

/// The node's one HTTP listener (cpp-httplib on two threads of its own):
/// - `GET /health`: 200 while the supervision tree is up, else 503; JSON body.
/// - `GET /ready`: 200 when every readiness check passes, else 503; the JSON body lists
///   every check with `ok` and `detail`, so the failing one is named.
/// - `GET /metrics`: the Prometheus text exposition format.
/// With `[http] user` set every endpoint asks for basic auth (401 otherwise); with
/// `tls_cert`/`tls_key` it speaks HTTPS only.
class http_server {
public:
  /// Checks the settings (password file, certificate and key), binds and starts
  /// serving; logs `http: listening on <url>`. Port 0 binds any free port (see `port`).
  ///
  /// Errors: errc::config_bad_value naming `<origin>: [http] <key>` and the file for an
  /// unreadable password file, certificate or key, a key that does not match the
  /// certificate, or an address that cannot be bound (`listen`).
  static result<std::unique_ptr<http_server>> start(const runtime::http_config& cfg,
                                                    const std::string& origin,
                                                    http_endpoints endpoints);

  /// Stops serving (waits for requests in progress).
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The bound port (the one picked when the config said 0).
  int port() const noexcept;
  /// `http://host:port` or `https://host:port`.
  std::string url() const;

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace phoenix::observability
