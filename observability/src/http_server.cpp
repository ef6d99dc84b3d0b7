#include "phoenix/observability/http_server.hpp"

#include "credentials.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::observability {

struct http_server::impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> ended{false};
  std::string scheme;
  std::string host;
  int port = 0;
};

namespace {

void route(httplib::Server& srv, const http_endpoints& e) {
  srv.Get("/health", [e](const httplib::Request&, httplib::Response& res) {
    bool up = e.health && e.health->tree_up();
    nlohmann::json body{{"status", up ? "up" : "down"}, {"node", e.node_id}};
    res.status = up ? 200 : 503;
    res.set_content(body.dump(), "application/json");
  });
  srv.Get("/ready", [e](const httplib::Request&, httplib::Response& res) {
    auto report = e.ready ? e.ready->evaluate() : readiness_report{};
    nlohmann::json checks = nlohmann::json::array();
    for (auto& c : report.checks)
      checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    nlohmann::json body{{"ready", report.ready}, {"node", e.node_id}, {"checks", checks}};
    res.status = report.ready ? 200 : 503;
    res.set_content(body.dump(), "application/json");
  });
  srv.Get("/metrics", [e](const httplib::Request&, httplib::Response& res) {
    res.set_content(e.metrics ? e.metrics->render() : std::string{},
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

} // namespace

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

result<std::unique_ptr<http_server>> http_server::start(const runtime::http_config& cfg,
                                                        const std::string& origin,
                                                        http_endpoints endpoints) {
  std::optional<basic_auth> auth;
  if (!cfg.user.empty()) {
    auto a = basic_auth::from_config(cfg, origin);
    if (!a)
      return a.error();
    auth = std::move(*a);
  }
  if (auto ok = check_tls_files(cfg, origin); !ok)
    return ok.error();

  auto p = std::make_unique<impl>();
  if (!cfg.tls_cert.empty()) {
    auto ssl =
        std::make_unique<httplib::SSLServer>(cfg.tls_cert.c_str(), cfg.tls_key.c_str());
    if (!ssl->is_valid())
      return error{runtime::errc::config_bad_value,
                   origin + ": [http] tls_cert: OpenSSL refused " + cfg.tls_cert +
                       " with " + cfg.tls_key};
    p->server = std::move(ssl);
    p->scheme = "https";
  } else {
    p->server = std::make_unique<httplib::Server>();
    p->scheme = "http";
  }
  auto& srv = *p->server;
  // Scrapes and probes are few; two threads serve them without taking the node's cores.
  srv.new_task_queue = [] { return new httplib::ThreadPool(2); };
  if (auth) {
    srv.set_pre_routing_handler(
        [auth = *auth](const httplib::Request& req, httplib::Response& res) {
          if (auth.accepts(req.get_header_value("Authorization")))
            return httplib::Server::HandlerResponse::Unhandled;
          res.status = 401;
          res.set_header("WWW-Authenticate", "Basic realm=\"phoenix\", charset=\"UTF-8\"");
          res.set_content("{\"error\":\"unauthorized\"}", "application/json");
          return httplib::Server::HandlerResponse::Handled;
        });
  }
  // httplib's default also sets SO_REUSEPORT, which would let a second node share the
  // port silently and take half of the scrapes; a port in use must fail the start.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  route(srv, endpoints);

  errno = 0;
  int port = cfg.port == 0 ? srv.bind_to_any_port(cfg.host)
                           : (srv.bind_to_port(cfg.host, cfg.port) ? cfg.port : -1);
  if (port < 0)
    return error{runtime::errc::config_bad_value,
                 origin + ": [http] listen: cannot listen on " + bracketed(cfg.host) + ":" +
                     std::to_string(cfg.port) + ": " +
                     (errno ? std::strerror(errno) : "bind failed")};
  p->host = cfg.host;
  p->port = port;
  auto& ended = p->ended;
  p->thread = std::thread{[&srv, &ended] {
    srv.listen_after_bind();
    ended = true;
  }};
  // httplib's stop() does nothing before the accept loop runs; a server stopped right
  // after its start would otherwise never be joined.
  while (!srv.is_running() && !ended)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  auto out = std::unique_ptr<http_server>(new http_server(std::move(p)));
  spdlog::info("http: listening on {}{}", out->url(), auth ? " (basic auth)" : "");
  return out;
}

http_server::~http_server() {
  if (!impl_)
    return;
  impl_->server->stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

int http_server::port() const noexcept {
  return impl_->port;
}

std::string http_server::url() const {
  return impl_->scheme + "://" + bracketed(impl_->host) + ":" + std::to_string(impl_->port);
}

} // namespace phoenix::observability
