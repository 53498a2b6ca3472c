// The actions the Cloud Assistant dialect serves, by name. Like the TAT registry it knows no
// wire: handlers get the caller (ApiCall: action, secret_id = the AccessKeyId, region = RegionId,
// request_id) and the parameters, and return the reply's fields or an Error whose code is
// already an Alibaba Cloud code (acs_envelope.hpp gives its HTTP status).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/acs/acs_params.hpp"
#include "ferry/server/api/action_registry.hpp"

namespace ferry::server {

using AcsActionHandler = std::function<Expected<nlohmann::json>(const ApiCall&, AcsParams&)>;

struct AcsActionSpec {
  // Returns a JSON object; the dialect adds RequestId. It must not contain "Code": pop-core
  // reads any Code as an error.
  AcsActionHandler handler;
};

class AcsActionRegistry {
 public:
  void add(const std::string& name, AcsActionSpec spec);
  // The registered action, or nullptr.
  [[nodiscard]] const AcsActionSpec* find(std::string_view name) const;

 private:
  std::map<std::string, AcsActionSpec, std::less<>> actions_;
};

}  // namespace ferry::server
