// An action's view of its AcsParams: the same reads, with the first refusal kept (later reads
// then answer nothing) so that a handler reads every field in a row and checks once, as the TAT
// actions do with Params.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/acs/acs_params.hpp"

namespace ferry::server::acs {

class AcsFields {
 public:
  explicit AcsFields(const AcsParams& params) : params_(params) {}

  std::optional<std::string> opt_string(std::string_view name);
  // MissingParameter when absent or empty.
  std::string req_string(std::string_view name);
  std::optional<int64_t> opt_int(std::string_view name);
  std::optional<bool> opt_bool(std::string_view name);
  // Name.1 .. Name.N; nullopt when none is given.
  std::optional<std::vector<std::string>> opt_list(std::string_view name,
                                                   std::size_t max = kMaxItems);
  // Name.N.Key for each key, "" for a key not given; nullopt when none is given.
  std::optional<std::vector<AcsParams::Object>> opt_objects(std::string_view name,
                                                            std::initializer_list<std::string> keys,
                                                            std::size_t max = kMaxItems);

  // Records `error` unless one is recorded already.
  void fail(Error error);
  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  // The first refusal, if any.
  [[nodiscard]] Status finish() const;

  // Beyond what any action takes (InstanceId.N: 100, Tag.N: 20): the handlers check their own
  // limits with their own codes.
  static constexpr std::size_t kMaxItems = 1000;

 private:
  // The value of `read` when it succeeded; records its error otherwise.
  template <typename T>
  T take(Expected<T> read, T fallback = {});

  const AcsParams& params_;
  std::optional<Error> error_;
};

}  // namespace ferry::server::acs
