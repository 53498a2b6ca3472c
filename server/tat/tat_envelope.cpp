#include "ferry/server/tat/tat_envelope.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::server {
namespace {

struct Mapping {
  std::string_view store;
  const char* api;
};

constexpr Mapping kStoreCodes[] = {
    {store_codes::kFailed, codes::kInternalError},
    {store_codes::kCommandNotFound, codes::kCommandNotFound},
    {store_codes::kInstanceNotFound, codes::kInstanceNotFound},
    {store_codes::kInvocationTaskNotFound, codes::kInvocationTaskNotFound},
    {store_codes::kRegisterCodeNotFound, codes::kRegisterCodeNotFound},
    {store_codes::kInvokerNotFound, codes::kInvokerNotFound},
    {store_codes::kCommandNameDuplicated, codes::kCommandNameDuplicated},
    {store_codes::kRegisterCodeValueMismatch, codes::kRegisterCodeValueMismatch},
    {store_codes::kRegisterCodeDisabled, codes::kRegisterCodeDisabled},
    {store_codes::kRegisterCodeExpired, codes::kRegisterCodeExpired},
    {store_codes::kRegisterLimitExceeded, codes::kRegisterLimitExceeded},
    {store_codes::kKeyRevoked, codes::kKeyRevoked},
    {store_codes::kIdDuplicated, codes::kIdDuplicated},
};

}  // namespace

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

Error tat_error(Error error) {
  for (const auto& m : kStoreCodes) {
    if (error.code == m.store) {
      error.code = m.api;
      break;
    }
  }
  return error;
}

HttpResponse response_envelope(const nlohmann::json& response, unsigned status) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"Response", response}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
  return r;
}

nlohmann::json error_fields(const Error& store_or_api_error) {
  const Error error = tat_error(store_or_api_error);
  return nlohmann::json{{"Code", error.code}, {"Message", error.message}};
}

HttpResponse tat_error_response(const Error& error, const std::string& request_id,
                                unsigned status) {
  return response_envelope({{"Error", error_fields(error)}, {"RequestId", request_id}}, status);
}

HttpResponse tat_error_response(const HttpError& error) {
  const char* code = codes::kInvalidParameter;
  unsigned status = http_status(error.kind);
  switch (error.kind) {
    case HttpErrorKind::kBodyTooLarge:
      status = 200;
      break;
    case HttpErrorKind::kInternal:
      code = codes::kInternalError;
      break;
    case HttpErrorKind::kNotFound:
      code = "ResourceNotFound";
      break;
    case HttpErrorKind::kHeaderTooLarge:
    case HttpErrorKind::kMalformed:
      break;
  }
  return tat_error_response(Error{code, error.message}, new_request_id(), status);
}

}  // namespace ferry::server
