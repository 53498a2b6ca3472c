// The parameters of a Cloud Assistant request as a flat map of strings: the query and an
// application/x-www-form-urlencoded body merged, the signature's own parameters already taken
// out by the dialect. Read field by field; lists arrive flattened (InstanceId.1, InstanceId.2,
// Tag.1.Key, Tag.1.Value) and booleans and numbers as text. Errors use Alibaba's codes and
// wording (MissingParameter, InvalidParameter) and name the field. Parameters nobody reads are
// ignored: the SDKs send common ones (RegionId, OwnerId, ResourceOwnerAccount, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/acs_signature.hpp"
#include "ferry/core/error.hpp"

namespace ferry::server {

// MissingParameter: The input parameter "name" that is mandatory for processing this request
// is not supplied.
Error acs_missing_parameter(std::string_view name);
// InvalidParameter: The specified parameter "name" is not valid: reason.
Error acs_invalid_parameter(std::string_view name, std::string_view reason);

class AcsParams {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;
  using Object = std::map<std::string, std::string, std::less<>>;

  AcsParams() = default;
  explicit AcsParams(Map values) : values_(std::move(values)) {}

  // The pairs of the query and the form body in one map. A name given twice with the same
  // value counts once; with different values it is InvalidParameter.
  static Expected<AcsParams> from_pairs(const AcsParamList& pairs);

  [[nodiscard]] const Map& all() const { return values_; }
  [[nodiscard]] bool has(std::string_view name) const;
  // Removes `name` (the dialect takes the signature's parameters out); no-op when absent.
  void erase(std::string_view name);

  // Absent -> nullopt. An empty value is a value.
  [[nodiscard]] std::optional<std::string> opt_string(std::string_view name) const;
  // Absent or empty -> MissingParameter.
  [[nodiscard]] Expected<std::string> req_string(std::string_view name) const;
  // A decimal integer in [min, max]; anything else is InvalidParameter.
  [[nodiscard]] Expected<std::optional<int64_t>> opt_int(
      std::string_view name, int64_t min = std::numeric_limits<int64_t>::min(),
      int64_t max = std::numeric_limits<int64_t>::max()) const;
  // "true" or "false" (any letter case, as the SDKs and the console send them).
  [[nodiscard]] Expected<std::optional<bool>> opt_bool(std::string_view name) const;
  // Name.1 .. Name.N in index order ([] when none). Indices must run from 1 without a gap and
  // N must not exceed `max`; both otherwise are InvalidParameter.
  [[nodiscard]] Expected<std::vector<std::string>> opt_list(std::string_view name,
                                                            std::size_t max) const;
  // Name.N.Field for each of `fields`: one object per index 1 .. N, holding the fields that were
  // given (a missing field is simply absent from the object). Same index rules as opt_list;
  // fields not listed are ignored.
  [[nodiscard]] Expected<std::vector<Object>> opt_objects(std::string_view name,
                                                          const std::vector<std::string>& fields,
                                                          std::size_t max) const;
  // A field that carries JSON as text (Parameters): nullopt when absent, InvalidParameter when
  // it is not JSON or not of the type `expected` (an object for Parameters).
  [[nodiscard]] Expected<std::optional<nlohmann::json>> opt_json(
      std::string_view name,
      nlohmann::json::value_t expected = nlohmann::json::value_t::object) const;

 private:
  // The indices N of `prefix`.N[...] keys, checked to run 1..count with count <= max.
  [[nodiscard]] Expected<std::size_t> count_indexed(std::string_view name, bool objects,
                                                    std::size_t max) const;

  Map values_;
};

}  // namespace ferry::server
