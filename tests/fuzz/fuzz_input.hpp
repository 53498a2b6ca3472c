// Splits a fuzzer's input into the several values a harness needs. Parts are separated by a
// byte that is rare in the seeds (0x00): "a\0b\0c" is the parts a, b and c; missing parts are
// empty. Seeds stay readable (printf 'x\0y'), and the fuzzer moves the separators freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace ferry::fuzz {

class Parts {
 public:
  Parts(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  // The next part (empty once the input is used up).
  std::string_view next() {
    const auto cut = rest_.find('\0');
    const std::string_view part = rest_.substr(0, cut);
    rest_ = cut == std::string_view::npos ? std::string_view() : rest_.substr(cut + 1);
    return part;
  }
  // What is left, separators included.
  [[nodiscard]] std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// A property of the code under test that the input broke: abort, so that libFuzzer keeps the
// input and the replay test fails.
[[noreturn]] inline void property_failed(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

}  // namespace ferry::fuzz

#define FERRY_FUZZ_CHECK(condition) \
  ((condition) ? void() : ::ferry::fuzz::property_failed(#condition))
