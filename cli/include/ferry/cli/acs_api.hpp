// The Cloud Assistant API (Alibaba Cloud ECS 2014-05-26) as ferry sees it, for the run settings
// only it has (RepeatMode, Frequency, Launcher, TerminationMode, ContainerId/Name) and for
// StopInvocation. Same endpoint and credentials as the TAT API (ferry-server serves both
// dialects, one credential for both); requests signed ACS3-HMAC-SHA256 with every parameter in
// the URL query, as the current Alibaba Cloud SDKs send them.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ferry/cli/config.hpp"
#include "ferry/cli/http_client.hpp"
#include "ferry/core/acs_signature.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

inline constexpr const char* kAcsApiVersion = "2014-05-26";

class AcsApi {
 public:
  virtual ~AcsApi() = default;
  // The reply (a JSON object) or an Error with the API's Code and "Message (RequestId X)".
  virtual Expected<nlohmann::json> call(const std::string& action, const AcsParamList& params) = 0;
};

// One reply of the Cloud Assistant dialect: a JSON object, an error when it holds a Code (the
// SDKs' rule) or when the HTTP status is not 200; a body that is not JSON is an error saying what
// came instead (code empty).
Expected<nlohmann::json> parse_acs_reply(long http_status, const std::string& body);

// What goes on the wire for one call (no I/O): the URL with the query, and the signed headers.
struct AcsHttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};
// RegionId (the configured region) is added unless `params` has one. `unix_seconds` is the
// x-acs-date, `nonce` the x-acs-signature-nonce.
AcsHttpRequest acs_http_request(const ClientConfig& config, const std::string& action,
                                const AcsParamList& params, std::int64_t unix_seconds,
                                const std::string& nonce);

// Signed POSTs with an empty body to the configured endpoint; a fresh random nonce per call.
class HttpAcsApi : public AcsApi {
 public:
  explicit HttpAcsApi(ClientConfig config, std::function<std::int64_t()> now = {});
  Expected<nlohmann::json> call(const std::string& action, const AcsParamList& params) override;

 private:
  ClientConfig config_;
  std::function<std::int64_t()> now_;
  HttpClient http_;
};

}  // namespace ferry::cli
