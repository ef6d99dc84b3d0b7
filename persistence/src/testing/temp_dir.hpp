#pragma once

// A temporary directory removed with everything in it at the end of the test binary.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace phoenix::persistence::testing {

class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/phoenix-store-XXXXXX";
    if (!mkdtemp(tmpl))
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

  /// A path for a new file inside, different on each call.
  std::string file(const std::string& stem) {
    return path_ + "/" + stem + "-" + std::to_string(++n_) + ".db";
  }

private:
  std::string path_;
  std::atomic<int> n_{0};
};

} // namespace phoenix::persistence::testing
