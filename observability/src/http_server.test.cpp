// The listener over real HTTP(S) on the loopback interface, with httplib's client.

#include "phoenix/observability/http_server.hpp"

#include "phoenix/testkit/child_process.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace phoenix::observability;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string temp_file(const std::string& name, const std::string& text) {
  auto path = ::testing::TempDir() + "/" + name;
  std::ofstream{path} << text;
  return path;
}

phoenix::runtime::http_config any_port() {
  phoenix::runtime::http_config cfg;
  cfg.port = 0;
  return cfg;
}

class http_server_test : public ::testing::Test {
protected:
  http_endpoints endpoints() { return {health, ready, metrics, "n-1"}; }

  std::unique_ptr<http_server> start(const phoenix::runtime::http_config& cfg) {
    auto s = http_server::start(cfg, "node.toml", endpoints());
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
  }

  phoenix::error start_error(const phoenix::runtime::http_config& cfg) {
    auto s = http_server::start(cfg, "node.toml", endpoints());
    EXPECT_FALSE(s.has_value());
    return s ? phoenix::error{} : s.error();
  }

  std::shared_ptr<health_state> health = std::make_shared<health_state>();
  std::shared_ptr<readiness> ready = std::make_shared<readiness>();
  std::shared_ptr<metrics_registry> metrics = std::make_shared<metrics_registry>();
};

TEST_F(http_server_test, serves_health_ready_and_metrics) {
  expose_build_info(*metrics);
  auto srv = start(any_port());
  ASSERT_TRUE(srv);
  ASSERT_GT(srv->port(), 0);
  httplib::Client cli{"127.0.0.1", srv->port()};

  auto down = cli.Get("/health");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503) << "tree not up yet";
  health->set_tree_up(true);
  auto up = cli.Get("/health");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 200);
  EXPECT_EQ(nlohmann::json::parse(up->body)["status"], "up");

  auto flag = ready->add_flag("consumer:leads", {false, "not joined"});
  ready->add("store", [] { return check_state{true, "reachable"}; });
  auto unready = cli.Get("/ready");
  ASSERT_TRUE(unready);
  EXPECT_EQ(unready->status, 503);
  auto body = nlohmann::json::parse(unready->body);
  EXPECT_EQ(body["ready"], false);
  ASSERT_EQ(body["checks"].size(), 2u);
  EXPECT_EQ(body["checks"][0]["name"], "consumer:leads");
  EXPECT_EQ(body["checks"][0]["ok"], false);
  EXPECT_EQ(body["checks"][0]["detail"], "not joined");
  flag->set(true, "joined");
  auto readied = cli.Get("/ready");
  ASSERT_TRUE(readied);
  EXPECT_EQ(readied->status, 200);

  auto m = cli.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(contains(m->body, "phoenix_build_info{")) << m->body;

  auto missing = cli.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(http_server_test, basic_auth_rejects_strangers_with_401_and_lets_the_user_in) {
  auto cfg = any_port();
  cfg.user = "ops";
  cfg.password_file = temp_file("phoenix-http-pw", "s3cret\n");
  auto srv = start(cfg);
  ASSERT_TRUE(srv);
  httplib::Client cli{"127.0.0.1", srv->port()};
  for (auto path : {"/health", "/ready", "/metrics"}) {
    auto anon = cli.Get(path);
    ASSERT_TRUE(anon);
    EXPECT_EQ(anon->status, 401) << path;
    EXPECT_TRUE(contains(anon->get_header_value("WWW-Authenticate"), "Basic")) << path;
  }
  cli.set_basic_auth("ops", "wrong");
  EXPECT_EQ(cli.Get("/metrics")->status, 401);
  cli.set_basic_auth("eve", "s3cret");
  EXPECT_EQ(cli.Get("/metrics")->status, 401);
  cli.set_basic_auth("ops", "s3cret");
  EXPECT_EQ(cli.Get("/metrics")->status, 200);
}

TEST_F(http_server_test, basic_auth_with_a_sha256_hash_accepts_the_password) {
  auto cfg = any_port();
  cfg.user = "ops";
  auto r = phoenix::testkit::run_process(
      {"/bin/sh", "-c", "printf %s s3cret | sha256sum | cut -d' ' -f1"}, 30s);
  ASSERT_EQ(r.code, 0);
  cfg.password_sha256 = r.out.substr(0, 64);
  auto srv = start(cfg);
  ASSERT_TRUE(srv);
  httplib::Client cli{"127.0.0.1", srv->port()};
  EXPECT_EQ(cli.Get("/ready")->status, 401);
  cli.set_basic_auth("ops", "s3cret");
  EXPECT_EQ(cli.Get("/ready")->status, 200);
}

// A self-signed certificate for 127.0.0.1 made with the openssl command.
struct tls_files {
  std::string cert, key;
};

tls_files make_cert(const std::string& name) {
  auto dir = ::testing::TempDir();
  tls_files f{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  auto r = phoenix::testkit::run_process(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", f.key,
       "-out", f.cert},
      60s);
  EXPECT_EQ(r.code, 0) << r.err;
  return f;
}

TEST_F(http_server_test, tls_serves_https_with_the_configured_certificate) {
  auto files = make_cert("phoenix-http");
  auto cfg = any_port();
  cfg.tls_cert = files.cert;
  cfg.tls_key = files.key;
  auto srv = start(cfg);
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->url(), "https://127.0.0.1:" + std::to_string(srv->port()));
  httplib::SSLClient cli{"127.0.0.1", srv->port()};
  cli.set_ca_cert_path(files.cert.c_str());
  cli.enable_server_certificate_verification(true);
  auto res = cli.Get("/ready");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  httplib::Client plain{"127.0.0.1", srv->port()};
  auto refused = plain.Get("/ready");
  EXPECT_TRUE(!refused || refused->status != 200) << "plain HTTP is not served";
}

TEST_F(http_server_test, bad_settings_fail_the_start_naming_key_and_file) {
  auto cfg = any_port();
  cfg.user = "ops";
  cfg.password_file = "/nonexistent/pw";
  auto e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "node.toml: [http] password_file: cannot read "
                                    "/nonexistent/pw"))
      << e.message();

  cfg.password_file = temp_file("phoenix-http-empty-pw", "\n");
  e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "[http] password_file: ")) << e.message();
  EXPECT_TRUE(contains(e.message(), "holds no password")) << e.message();

  auto good = make_cert("phoenix-http-good");
  auto other = make_cert("phoenix-http-other");
  cfg = any_port();
  cfg.tls_cert = "/nonexistent/cert.pem";
  cfg.tls_key = good.key;
  e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "node.toml: [http] tls_cert: cannot read "
                                    "/nonexistent/cert.pem"))
      << e.message();

  cfg.tls_cert = temp_file("phoenix-http-garbage.pem", "not a certificate\n");
  e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "[http] tls_cert: " + cfg.tls_cert + " is no PEM"))
      << e.message();

  cfg.tls_cert = good.cert;
  cfg.tls_key = good.cert; // a certificate where the key belongs
  e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "[http] tls_key: " + good.cert + " is no"))
      << e.message();

  cfg.tls_key = other.key;
  e = start_error(cfg);
  EXPECT_TRUE(contains(e.message(), "[http] tls_key: " + other.key + " does not belong"))
      << e.message();
}

TEST_F(http_server_test, address_in_use_fails_the_start_naming_listen) {
  auto first = start(any_port());
  ASSERT_TRUE(first);
  auto cfg = any_port();
  cfg.port = first->port();
  auto e = start_error(cfg);
  EXPECT_TRUE(
      contains(e.message(), "node.toml: [http] listen: cannot listen on 127.0.0.1:" +
                                std::to_string(first->port())))
      << e.message();
}

} // namespace
