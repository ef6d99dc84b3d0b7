#pragma once

#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace phoenix::runtime {

/// Typed reads of a module's section (`config_table`), for modules above runtime that
/// own a section (`[app.<name>]`): every error names the file, the section, the key and
/// the line, as runtime's own checks do. Absent keys keep the caller's default.
class table_reader {
public:
  /// `section` as it appears in messages: "app.lead-pipeline" -> `[app.lead-pipeline]`.
  table_reader(const config_table& table, std::string origin, std::string section)
      : table_(table), origin_(std::move(origin)), section_(std::move(section)) {}

  /// Errors: errc::config_unknown_key for a key not in `keys`.
  result<void> check_known(std::initializer_list<std::string_view> keys) const;

  /// Errors (all reads): errc::config_wrong_type.
  result<void> text(std::string_view key, std::string& out) const;
  result<void> boolean(std::string_view key, bool& out) const;
  /// Errors: also errc::config_bad_value outside `min`..`max`.
  result<void> integer(std::string_view key, std::int64_t& out, std::int64_t min,
                       std::int64_t max) const;
  result<void> millis(std::string_view key, std::chrono::milliseconds& out) const;

  /// errc::config_bad_value naming the key.
  error bad(std::string_view key, const std::string& what) const;

private:
  const config_value* find(std::string_view key) const;
  error wrong(std::string_view key, const char* type, const config_value& v) const;
  std::string where(std::string_view key) const;

  const config_table& table_;
  std::string origin_;
  std::string section_;
};

} // namespace phoenix::runtime
