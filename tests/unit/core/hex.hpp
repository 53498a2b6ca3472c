// Hex test vectors as bytes (core has only the encoder: nothing in Ferry reads hex).
#pragma once

#include <string>
#include <string_view>

namespace ferry::test {

inline std::string hex_decode(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

}  // namespace ferry::test
