#include "phoenix/runtime/config_table.hpp"

namespace phoenix::runtime {

result<void> table_reader::check_known(std::initializer_list<std::string_view> keys) const {
  for (auto& [key, value] : table_) {
    bool known = false;
    for (auto k : keys)
      known = known || key == k;
    if (!known)
      return error{errc::config_unknown_key,
                   where(key) + ": unknown key (line " + std::to_string(value.line) + ")"};
  }
  return {};
}

result<void> table_reader::text(std::string_view key, std::string& out) const {
  auto* v = find(key);
  if (!v)
    return {};
  auto* s = std::get_if<std::string>(&v->value);
  if (!s)
    return wrong(key, "a string", *v);
  out = *s;
  return {};
}

result<void> table_reader::boolean(std::string_view key, bool& out) const {
  auto* v = find(key);
  if (!v)
    return {};
  auto* b = std::get_if<bool>(&v->value);
  if (!b)
    return wrong(key, "true or false", *v);
  out = *b;
  return {};
}

result<void> table_reader::integer(std::string_view key, std::int64_t& out,
                                   std::int64_t min, std::int64_t max) const {
  auto* v = find(key);
  if (!v)
    return {};
  auto* i = std::get_if<std::int64_t>(&v->value);
  if (!i)
    return wrong(key, "an integer", *v);
  if (*i < min || *i > max)
    return bad(key, "expected " + std::to_string(min) + " to " + std::to_string(max) +
                        ", got " + std::to_string(*i) + " (line " +
                        std::to_string(v->line) + ")");
  out = *i;
  return {};
}

result<void> table_reader::millis(std::string_view key,
                                  std::chrono::milliseconds& out) const {
  auto ms = out.count();
  if (auto ok = integer(key, ms, 1, 86'400'000); !ok)
    return ok;
  out = std::chrono::milliseconds{ms};
  return {};
}

error table_reader::bad(std::string_view key, const std::string& what) const {
  return error{errc::config_bad_value, where(key) + ": " + what};
}

const config_value* table_reader::find(std::string_view key) const {
  auto it = table_.find(std::string{key});
  return it == table_.end() ? nullptr : &it->second;
}

error table_reader::wrong(std::string_view key, const char* type,
                          const config_value& v) const {
  return error{errc::config_wrong_type, where(key) + ": expected " + type + " (line " +
                                            std::to_string(v.line) + ")"};
}

std::string table_reader::where(std::string_view key) const {
  return origin_ + ": [" + section_ + "] " + std::string{key};
}

} // namespace phoenix::runtime
