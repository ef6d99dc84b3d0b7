#include "credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace phoenix::observability {
namespace {

error bad(const std::string& origin, const std::string& key, const std::string& what) {
  return error{runtime::errc::config_bad_value, origin + ": [http] " + key + ": " + what};
}

std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "no PEM data";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Standard base64 without line breaks, as in an Authorization header.
bool decode_base64(const std::string& in, std::string& out) {
  if (in.empty() || in.size() % 4 != 0)
    return false;
  std::string buf(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0)
    return false;
  auto len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it)
    --len;
  buf.resize(len);
  out = std::move(buf);
  return true;
}

// An encrypted key fails to load instead of OpenSSL asking for its passphrase on a
// terminal the daemon does not have.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

} // namespace

sha256_digest sha256(const std::string& text) {
  sha256_digest out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

result<basic_auth> basic_auth::from_config(const runtime::http_config& cfg,
                                           const std::string& origin) {
  basic_auth auth;
  auth.user_ = cfg.user;
  if (!cfg.password_file.empty()) {
    std::ifstream in{cfg.password_file};
    if (!in)
      return bad(origin, "password_file",
                 "cannot read " + cfg.password_file + ": " + std::strerror(errno));
    std::string password;
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r')
      password.pop_back();
    if (password.empty())
      return bad(origin, "password_file", cfg.password_file + " holds no password");
    auth.hash_ = sha256(password);
  } else {
    for (std::size_t i = 0; i < auth.hash_.size(); ++i)
      auth.hash_[i] =
          static_cast<unsigned char>(hex_value(cfg.password_sha256[2 * i]) * 16 +
                                     hex_value(cfg.password_sha256[2 * i + 1]));
  }
  return auth;
}

bool basic_auth::accepts(const std::string& authorization) const {
  static const std::string scheme = "Basic ";
  if (authorization.compare(0, scheme.size(), scheme) != 0)
    return false;
  std::string pair;
  if (!decode_base64(authorization.substr(scheme.size()), pair))
    return false;
  auto colon = pair.find(':');
  if (colon == std::string::npos)
    return false;
  auto given = sha256(pair.substr(colon + 1));
  // Both comparisons always run, so the time taken says nothing about which failed.
  bool user_ok = pair.compare(0, colon, user_) == 0;
  bool pass_ok = CRYPTO_memcmp(given.data(), hash_.data(), hash_.size()) == 0;
  return user_ok && pass_ok;
}

result<void> check_tls_files(const runtime::http_config& cfg, const std::string& origin) {
  if (cfg.tls_cert.empty())
    return {};
  using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;
  auto open = [&](const std::string& key, const std::string& path) -> result<bio_ptr> {
    bio_ptr bio{BIO_new_file(path.c_str(), "r"), &BIO_free};
    if (!bio) {
      auto reason = std::string{std::strerror(errno)};
      ERR_clear_error();
      return bad(origin, key, "cannot read " + path + ": " + reason);
    }
    return bio;
  };
  auto cert_bio = open("tls_cert", cfg.tls_cert);
  if (!cert_bio)
    return cert_bio.error();
  std::unique_ptr<X509, decltype(&X509_free)> cert{
      PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr), &X509_free};
  if (!cert)
    return bad(origin, "tls_cert",
               cfg.tls_cert + " is no PEM certificate (" + openssl_reason() + ")");
  auto key_bio = open("tls_key", cfg.tls_key);
  if (!key_bio)
    return key_bio.error();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
      PEM_read_bio_PrivateKey(key_bio->get(), nullptr, no_passphrase, nullptr),
      &EVP_PKEY_free};
  if (!key)
    return bad(origin, "tls_key",
               cfg.tls_key + " is no unencrypted PEM private key (" + openssl_reason() +
                   ")");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return bad(origin, "tls_key",
               cfg.tls_key + " does not belong to the certificate in " + cfg.tls_cert);
  }
  return {};
}

} // namespace phoenix::observability
