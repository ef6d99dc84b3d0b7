#pragma once

// The checks behind the listener's basic auth and TLS settings, with OpenSSL: the
// password kept only as its SHA-256, compared in constant time; certificate and key
// loaded once at start so a bad file is named before the node serves anything.

#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/error.hpp"

#include <array>
#include <string>

namespace phoenix::observability {

using sha256_digest = std::array<unsigned char, 32>;

sha256_digest sha256(const std::string& text);

/// The user and password hash from `[http]`; reads `password_file` if set.
/// Errors: config_bad_value naming `<origin>: [http] password_file` (unreadable, empty).
class basic_auth {
public:
  static result<basic_auth> from_config(const runtime::http_config& cfg,
                                        const std::string& origin);

  /// True for an `Authorization: Basic ...` header value with this user and password.
  bool accepts(const std::string& authorization) const;

private:
  std::string user_;
  sha256_digest hash_{};
};

/// Loads the certificate and key of `[http] tls_cert`/`tls_key` and checks that they
/// belong together. Errors: config_bad_value naming the key and the file.
result<void> check_tls_files(const runtime::http_config& cfg, const std::string& origin);

} // namespace phoenix::observability
