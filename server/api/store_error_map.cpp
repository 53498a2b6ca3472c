#include "ferry/server/api/store_error_map.hpp"

#include <string_view>
#include <utility>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::server {
namespace {

struct Mapping {
  std::string_view store;
  const char* api;
};

constexpr Mapping kMappings[] = {
    {store_codes::kFailed, codes::kInternalError},
    {store_codes::kCommandNotFound, codes::kCommandNotFound},
    {store_codes::kInstanceNotFound, codes::kInstanceNotFound},
    {store_codes::kInvocationTaskNotFound, codes::kInvocationTaskNotFound},
    {store_codes::kRegisterCodeNotFound, codes::kRegisterCodeNotFound},
    {store_codes::kCommandNameDuplicated, codes::kCommandNameDuplicated},
    {store_codes::kRegisterCodeValueMismatch, codes::kRegisterCodeValueMismatch},
    {store_codes::kRegisterCodeDisabled, codes::kRegisterCodeDisabled},
    {store_codes::kRegisterCodeExpired, codes::kRegisterCodeExpired},
    {store_codes::kRegisterLimitExceeded, codes::kRegisterLimitExceeded},
    {store_codes::kKeyRevoked, codes::kKeyRevoked},
    {store_codes::kIdDuplicated, codes::kIdDuplicated},
};

}  // namespace

Error tat_error(Error error) {
  for (const auto& m : kMappings) {
    if (error.code == m.store) {
      error.code = m.api;
      break;
    }
  }
  return error;
}

}  // namespace ferry::server
