// What the Windows tests share (tests/support/test_process.hpp is POSIX).
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ferry/core/crypto.hpp"

namespace ferry::test {

// The bytes of a file, through the C++ library rather than the code under test.
inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A directory of its own for one test, removed with what it holds at the end.
class WindowsTempDir {
 public:
  explicit WindowsTempDir(const std::string& prefix = "ferry-test") {
    const auto suffix = ferry::random_bytes(6);
    REQUIRE(suffix.has_value());
    path_ = std::filesystem::temp_directory_path() / (prefix + "." + ferry::hex_encode(*suffix));
    REQUIRE(std::filesystem::create_directory(path_));
  }
  ~WindowsTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  WindowsTempDir(const WindowsTempDir&) = delete;
  WindowsTempDir& operator=(const WindowsTempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace ferry::test
