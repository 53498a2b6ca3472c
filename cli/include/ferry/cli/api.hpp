// The public TAT API as ferry sees it: an action and its parameters in, the reply's "Response"
// object out, or an Error with the API's code and message ("RequestId ..." appended). The
// commands take an Api&, so the unit tests drive them with a fake and no HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ferry/cli/config.hpp"
#include "ferry/cli/http_client.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

inline constexpr const char* kApiVersion = "2020-10-28";
inline constexpr const char* kApiService = "tat";

class Api {
 public:
  virtual ~Api() = default;
  virtual Expected<nlohmann::json> call(const std::string& action,
                                        const nlohmann::json& params) = 0;
};

// params[key] = the value, when there is one: an option not given is a parameter not sent.
template <typename T>
void set_if_given(nlohmann::json& params, const char* key, const std::optional<T>& value) {
  if (value) {
    params[key] = *value;
  }
}

// The Response object of one HTTP reply. An {"Error": ...} envelope becomes an Error with its
// code and "message (RequestId X)"; a reply that is not an API envelope becomes an Error
// saying what came instead (code empty: the API gave none).
Expected<nlohmann::json> parse_api_reply(long http_status, const std::string& body);

// One line for stderr: "CODE: message" or, without a code, the message.
std::string describe_error(const Error& error);

// TC3-signed POSTs to the configured endpoint (core's tc3_sign_headers, as the tests' client and
// the official SDKs sign). `now` gives Unix seconds (tests fix it).
class HttpApi : public Api {
 public:
  explicit HttpApi(ClientConfig config, std::function<std::int64_t()> now = {});
  Expected<nlohmann::json> call(const std::string& action, const nlohmann::json& params) override;

 private:
  ClientConfig config_;
  std::function<std::int64_t()> now_;
  HttpClient http_;
};

}  // namespace ferry::cli
