#pragma once

// Small helpers of the tests that drive the `phoenix` command from the outside.

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace phoenix::itest {

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// The non-empty lines of `text`.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

/// Writes `text` to `name` in the test's temporary folder; returns the path.
inline std::string write_config(const std::string& name, const std::string& text) {
  auto path = ::testing::TempDir() + "/" + name;
  std::ofstream{path} << text;
  return path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in{path};
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace phoenix::itest
