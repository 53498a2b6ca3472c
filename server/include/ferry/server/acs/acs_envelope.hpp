// The Cloud Assistant API's reply bodies. A result is the action's fields plus "RequestId" (and
// never "Code"); an error is HTTP 4xx/5xx with {"RequestId", "HostId", "Code", "Message",
// "Recommend"}. The HTTP status of every code comes from one table here: RunCommand's error
// table (seed 004), the wire's own codes (signature, version, action, region, throttling), 500
// for InternalError and InternalError.*, 400 for any other code.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

// The codes the wire itself answers, as Alibaba Cloud spells them.
namespace acs_codes {
inline constexpr const char* kMissingParameter = "MissingParameter";
inline constexpr const char* kInvalidParameter = "InvalidParameter";
inline constexpr const char* kInvalidVersion = "InvalidVersion";
inline constexpr const char* kUnsupportedHttpMethod = "UnsupportedHTTPMethod";
inline constexpr const char* kSignatureDoesNotMatch = "SignatureDoesNotMatch";
inline constexpr const char* kIncompleteSignature = "IncompleteSignature";
inline constexpr const char* kInvalidAccessKeyIdNotFound = "InvalidAccessKeyId.NotFound";
inline constexpr const char* kInvalidTimeStampFormat = "InvalidTimeStamp.Format";
inline constexpr const char* kInvalidTimeStampExpired = "InvalidTimeStamp.Expired";
inline constexpr const char* kSignatureNonceUsed = "SignatureNonceUsed";
inline constexpr const char* kTemporaryAccessKeyError = "TemporaryAccessKey.Error";
inline constexpr const char* kInvalidRegionIdNotFound = "InvalidRegionId.NotFound";
inline constexpr const char* kInvalidActionNotFound = "InvalidAction.NotFound";
inline constexpr const char* kThrottlingUser = "Throttling.User";
inline constexpr const char* kInternalError = "InternalError";
inline constexpr const char* kRequestTooLarge = "InvalidParameter.RequestTooLarge";
}  // namespace acs_codes

// The HTTP status of an error code (the table above).
unsigned acs_http_status(std::string_view code);

// A RequestId in Alibaba's form: an uppercase version-4 UUID.
std::string new_acs_request_id();

// The host of a Host header value, without its port ("a.b:80" -> "a.b", "[::1]:80" -> "[::1]").
std::string acs_host_id(std::string_view host_header);

// The action's fields (an object; anything else becomes {}) plus RequestId, as JSON with
// application/json, HTTP 200. A "Code" member is removed.
HttpResponse acs_reply(nlohmann::json fields, const std::string& request_id);

// The error body, with the status acs_http_status(error.code).
HttpResponse acs_error_response(const Error& error, const std::string& request_id,
                                const std::string& host_id);

// An error the HTTP layer or the router answers, in the error body with a new RequestId and the
// transport's status: InvalidParameter.RequestTooLarge (413, 431), InvalidParameter (400),
// InternalError (500), InvalidAction.NotFound (404: nothing is served at the path).
HttpResponse acs_error_response(const HttpError& error, const std::string& host_id = "");

}  // namespace ferry::server
