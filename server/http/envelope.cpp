#include "envelope.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>

namespace ferry::server::detail {

std::string new_request_id() {
  // Request ids only need to be unique, not unpredictable, so a per-thread PRNG seeded once
  // from the OS is enough and avoids a lock or a syscall per request.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
  }()};
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 8) {
    std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8; ++j) {
      b[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0Fu) | 0x40u);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3Fu) | 0x80u);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0Fu]);
  }
  return out;
}

std::string error_envelope(std::string_view code, std::string_view message) {
  nlohmann::json j;
  j["Response"]["Error"]["Code"] = code;
  j["Response"]["Error"]["Message"] = message;
  j["Response"]["RequestId"] = new_request_id();
  // Replace, not throw, on invalid UTF-8: the message may quote a client's bytes.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = error_envelope(code, message);
  return r;
}

}  // namespace ferry::server::detail
