#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace phoenix::runtime {

/// Failures of the runtime module: configuration, supervision, node lifecycle.
enum class errc {
  config_unreadable = 1, ///< The config file cannot be opened or parsed as TOML.
  config_unknown_key,    ///< A key that no section defines.
  config_wrong_type,     ///< A key holds a value of the wrong TOML type.
  config_bad_value,      ///< A key's value is outside what it accepts.
  child_start_failed,    ///< A supervised child's start function failed.
  restart_intensity,     ///< More restarts than the intensity allows within the period.
  shutdown_failed,       ///< A stop did not complete.
  kafka_error,           ///< librdkafka refused a request; the message says which.
  invalid_argument,      ///< A command-line or API argument is invalid.
};

const std::error_category& runtime_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), runtime_category()};
}

} // namespace phoenix::runtime

template <>
struct std::is_error_code_enum<phoenix::runtime::errc> : std::true_type {};

namespace phoenix {

/// An error value that crosses module borders: a stable code for programs and a message
/// for people (naming the key, file, child or broker concerned).
class error {
public:
  error() = default;
  error(std::error_code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  const std::error_code& code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  /// Message prefixed with the code's category and name, for logs.
  std::string describe() const;

  explicit operator bool() const noexcept { return static_cast<bool>(code_); }

private:
  std::error_code code_;
  std::string message_;
};

/// Either a T or an error. A small stand-in for C++23's std::expected.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error err) : v_(std::move(err)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const phoenix::error& error() const& { return std::get<1>(v_); }

private:
  std::variant<T, phoenix::error> v_;
};

/// Success or an error, for operations without a value.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error err) : err_(std::move(err)) {}

  bool has_value() const noexcept { return !err_; }
  explicit operator bool() const noexcept { return has_value(); }
  const phoenix::error& error() const& { return err_; }

private:
  phoenix::error err_;
};

} // namespace phoenix
