// Register codes: what an agent shows once to register its machine as an instance.
//
// Choices where the model is silent:
//   - RegisterCodeId is a UUID; the value is 32 characters of [a-z0-9] (165 bits), returned once
//     and stored only as its SHA-256. Nothing here logs or echoes it.
//   - EffectiveTime below 1 hour is InvalidParameterValue.Range (the model gives no minimum).
//   - The register code quota uses the command quota's code,
//     ResourceUnavailable.UserHasNoQuotaCode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

struct RegisterCodeFields {
  std::optional<std::string> description;           // at most 128 characters
  std::optional<std::string> instance_name_prefix;  // at most 32 characters
  std::optional<int64_t> register_limit;            // 1..10000, default 10
  std::optional<int64_t> effective_hours;       // at least 1, default 4; above 99999: never expires
  std::optional<std::string> ip_address_range;  // ip_range.hpp
};

struct NewRegisterCode {
  std::string register_code_id;
  std::string value;  // secret: shown to the caller once, never kept
};
Expected<NewRegisterCode> create_register_code(ServerContext& ctx,
                                               const RegisterCodeFields& fields);

// A page of register codes (`ids` empty: all of them; at most 100 UUID-like ids,
// InvalidParameterValue(.LimitExceeded) otherwise).
Expected<Page<RegisterCode>> describe_register_codes(ServerContext& ctx,
                                                     const std::vector<std::string>& ids,
                                                     int64_t offset, int64_t limit);
// Enables or disables the codes (ids as describe_register_codes takes them), all or none: an
// unknown id fails the call with ResourceNotFound.RegisterCodeNotFound naming it.
Status set_register_codes_enabled(ServerContext& ctx, std::vector<std::string> ids, bool enabled);
// Deletes the codes, all or none, as set_register_codes_enabled.
Status delete_register_codes(ServerContext& ctx, std::vector<std::string> ids);

}  // namespace ferry::server::domain
