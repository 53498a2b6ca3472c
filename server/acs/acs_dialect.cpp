#include "ferry/server/acs/acs_dialect.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "ferry/core/time.hpp"
#include "ferry/server/acs/acs_envelope.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {
namespace {

// What the signature carries; handlers never see these.
constexpr std::string_view kSignatureParams[] = {
    "Action",        "Version",         "Format",         "AccessKeyId",
    "Signature",     "SignatureMethod", "SignatureNonce", "SignatureVersion",
    "SignatureType", "Timestamp",       "SecurityToken",  "BearerToken",
};

constexpr std::size_t kMaxNonceBytes = 256;

std::string_view target_query(const std::string& target) {
  const auto q = target.find('?');
  return q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
}

std::string_view target_path(const std::string& target) {
  return std::string_view(target).substr(0, target.find('?'));
}

bool is_form(const HttpRequest& request) {
  const std::string& type = request.header("content-type");
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  if (type.size() < kForm.size()) {
    return false;
  }
  return std::equal(kForm.begin(), kForm.end(), type.begin(), [](char a, char b) {
    return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
  });
}

bool has_action_param(std::string_view query) {
  return query.starts_with("Action=") || query.find("&Action=") != std::string_view::npos;
}

// One of the values the request names a thing by (a signed header, a signed parameter): they
// must agree when both are given.
Expected<std::string> one_of(const std::string& header_name, const std::string& header_value,
                             const std::string& param_name, const AcsParams& params) {
  const auto param = params.opt_string(param_name);
  if (!header_value.empty() && param && *param != header_value) {
    return acs_invalid_parameter(param_name, "it differs from the header " + header_name);
  }
  if (!header_value.empty()) {
    return header_value;
  }
  return param ? *param : std::string();
}

}  // namespace

struct AcsDialect::Verified {
  std::string access_key_id;
  std::string action;
  std::string nonce;
};

Expected<bool> StoreAcsNonces::remember(const std::string& access_key_id, const std::string& nonce,
                                        int64_t expires_ms, int64_t now_ms) {
  // The agents' nonces are keyed by instance id; no instance id contains ':'.
  return store_.remember_nonce("acs-api:" + access_key_id, nonce, expires_ms, now_ms);
}

AcsDialect::AcsDialect(AcsOptions options, const Clock& clock, const AcsActionRegistry& actions,
                       AcsNonces& nonces)
    : options_(std::move(options)),
      clock_(clock),
      actions_(actions),
      nonces_(nonces),
      limiter_(options_.rate_limit, options_.rate_burst) {}

bool AcsDialect::accepts(const HttpRequest& head) const {
  return !head.header("x-acs-action").empty() || has_action_param(target_query(head.target)) ||
         is_form(head);
}

HttpResponse AcsDialect::error_response(const HttpError& error) const {
  return acs_error_response(error);
}

const ApiCredential* AcsDialect::credential(const std::string& access_key_id) const {
  const auto it =
      std::find_if(options_.credentials.begin(), options_.credentials.end(),
                   [&](const ApiCredential& c) { return c.secret_id == access_key_id; });
  return it == options_.credentials.end() ? nullptr : &*it;
}

Status AcsDialect::check_time(const std::string& field, const std::string& text) const {
  if (text.empty()) {
    return acs_missing_parameter(field);
  }
  const auto ms = parse_rfc3339_ms(text);
  if (!ms) {
    return Error{acs_codes::kInvalidTimeStampFormat,
                 "Specified time stamp or date value is not well formatted."};
  }
  const int64_t now = clock_.now_ms();
  if (*ms < now - kAcsMaxSkewMs || *ms > now + kAcsMaxSkewMs) {
    return Error{acs_codes::kInvalidTimeStampExpired,
                 "Specified time stamp or date value is expired."};
  }
  return {};
}

Expected<AcsDialect::Verified> AcsDialect::authenticate_acs3(const HttpRequest& request,
                                                             const AcsParamList& query,
                                                             const AcsParams& params) const {
  auto auth = parse_acs3_authorization(request.header("authorization"));
  if (!auth) {
    return auth.error();
  }
  const ApiCredential* cred = credential(auth->access_key_id);
  if (cred == nullptr) {
    return Error{acs_codes::kInvalidAccessKeyIdNotFound, "Specified access key is not found."};
  }
  // Host and every x-acs-* header must be signed, as the SDKs sign them: otherwise the action,
  // the version, the time or the nonce could be changed in flight.
  const auto& names = auth->signed_header_names;
  const auto is_signed = [&names](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const auto& [name, value] : request.headers) {
    if ((name == "host" || name.starts_with("x-acs-")) && !is_signed(name)) {
      return Error{acs_codes::kIncompleteSignature,
                   "The header " + name + " must be in SignedHeaders."};
    }
  }
  for (const char* required : {"x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}) {
    if (request.header(required).empty()) {
      return acs_missing_parameter(required);
    }
  }
  if (auto s = check_time("x-acs-date", request.header("x-acs-date")); !s) {
    return s.error();
  }
  const AcsHeaderMap headers(request.headers.begin(), request.headers.end());
  if (auto s = acs3_verify(*auth, cred->secret_key, headers, request.method,
                           target_path(request.target), query, request.body);
      !s) {
    return s.error();
  }
  auto action = one_of("x-acs-action", request.header("x-acs-action"), "Action", params);
  if (!action) {
    return action.error();
  }
  return Verified{auth->access_key_id, std::move(*action), request.header("x-acs-signature-nonce")};
}

Expected<AcsDialect::Verified> AcsDialect::authenticate_v1(const HttpRequest& request,
                                                           const AcsParamList& query,
                                                           const AcsParamList& form,
                                                           const AcsParams& params) const {
  for (const char* required : {"AccessKeyId", "SignatureMethod", "SignatureVersion",
                               "SignatureNonce", "Timestamp", "Action"}) {
    if (auto v = params.req_string(required); !v) {
      return v.error();
    }
  }
  if (*params.opt_string("SignatureMethod") != "HMAC-SHA1") {
    return acs_invalid_parameter("SignatureMethod", "only HMAC-SHA1 is supported");
  }
  if (*params.opt_string("SignatureVersion") != "1.0") {
    return acs_invalid_parameter("SignatureVersion", "only 1.0 is supported");
  }
  const std::string access_key_id = *params.opt_string("AccessKeyId");
  const ApiCredential* cred = credential(access_key_id);
  if (cred == nullptr) {
    return Error{acs_codes::kInvalidAccessKeyIdNotFound, "Specified access key is not found."};
  }
  if (auto s = check_time("Timestamp", *params.opt_string("Timestamp")); !s) {
    return s.error();
  }
  AcsParamList all = query;
  all.insert(all.end(), form.begin(), form.end());
  if (auto s = acs_v1_verify(request.method, all, cred->secret_key); !s) {
    return s.error();
  }
  // The x-acs-action header is not signed in v1: the Action parameter is what counts, and a
  // header that says otherwise is refused.
  auto action = one_of("x-acs-action", request.header("x-acs-action"), "Action", params);
  if (!action) {
    return action.error();
  }
  return Verified{access_key_id, std::move(*action), *params.opt_string("SignatureNonce")};
}

Expected<AcsDialect::Verified> AcsDialect::authenticate(const HttpRequest& request,
                                                        const AcsParamList& query,
                                                        const AcsParamList& form,
                                                        const AcsParams& params) const {
  // STS credentials (an AccessKeyId with its security token) come from Alibaba's STS, which a
  // self-hosted server is not: refused before any key is looked up.
  if (!request.header("x-acs-security-token").empty() || params.has("SecurityToken")) {
    return Error{acs_codes::kTemporaryAccessKeyError,
                 "The temporary accessKey is invalid: this server issues no STS credentials."};
  }
  const std::string& authorization = request.header("authorization");
  Expected<Verified> verified = Error{acs_codes::kInternalError, "not authenticated"};
  if (authorization.starts_with("ACS3-")) {
    verified = authenticate_acs3(request, query, params);
  } else if (params.has("Signature")) {
    verified = authenticate_v1(request, query, form, params);
  } else if (!authorization.empty()) {
    return Error{acs_codes::kIncompleteSignature,
                 "The Authorization header must use ACS3-HMAC-SHA256."};
  } else {
    return acs_missing_parameter("Signature");
  }
  if (verified && verified->action.empty()) {
    return acs_missing_parameter("Action");
  }
  if (verified && verified->nonce.size() > kMaxNonceBytes) {
    return acs_invalid_parameter("SignatureNonce", "it is longer than 256 characters");
  }
  return verified;
}

Status AcsDialect::admit(const ApiCall& call, const std::string& nonce) {
  const int64_t now = clock_.now_ms();
  // The request's time is at most kAcsMaxSkewMs ahead of now, and is accepted until
  // kAcsMaxSkewMs after itself.
  auto fresh = nonces_.remember(call.secret_id, nonce, now + 2 * kAcsMaxSkewMs, now);
  if (!fresh) {
    spdlog::error("api: {} {}: remembering the nonce failed: {}", call.action, call.request_id,
                  fresh.error().message);
    return Error{acs_codes::kInternalError,
                 "The request processing has failed due to some unknown error."};
  }
  if (!*fresh) {
    return Error{acs_codes::kSignatureNonceUsed, "Specified signature nonce was used already."};
  }
  if (!call.region.empty() && !options_.regions.empty() &&
      std::find(options_.regions.begin(), options_.regions.end(), call.region) ==
          options_.regions.end()) {
    return Error{acs_codes::kInvalidRegionIdNotFound,
                 "The RegionId provided does not exist in our records."};
  }
  if (actions_.find(call.action) == nullptr) {
    return Error{acs_codes::kInvalidActionNotFound,
                 "Specified api is not found, please check your url and method."};
  }
  if (!limiter_.allow(call.secret_id + "/" + call.action, now)) {
    return Error{acs_codes::kThrottlingUser, "Request was denied due to user flow control."};
  }
  return {};
}

HttpResponse AcsDialect::handle(const HttpRequest& request, RequestOutcome& outcome) {
  const std::string request_id = new_acs_request_id();
  const std::string host_id = acs_host_id(request.header("host"));
  outcome.api = "acs";
  const auto fail = [&](const Error& e) {
    outcome.result = e.code;
    spdlog::info("api: refused request {}: {}", request_id, e.code);
    return acs_error_response(e, request_id, host_id);
  };
  if (request.method != "GET" && request.method != "POST") {
    return fail(Error{acs_codes::kUnsupportedHttpMethod, "Only GET and POST are supported."});
  }
  auto query = parse_acs_form(target_query(request.target));
  if (!query) {
    return fail(acs_invalid_parameter("query", query.error().message));
  }
  AcsParamList form;
  if (is_form(request)) {
    auto parsed = parse_acs_form(request.body);
    if (!parsed) {
      return fail(acs_invalid_parameter("body", parsed.error().message));
    }
    form = std::move(*parsed);
  }
  auto params = AcsParams::from_pairs([&] {
    AcsParamList all = *query;
    all.insert(all.end(), form.begin(), form.end());
    return all;
  }());
  if (!params) {
    return fail(params.error());
  }
  auto version = one_of("x-acs-version", request.header("x-acs-version"), "Version", *params);
  if (!version) {
    return fail(version.error());
  }
  if (version->empty()) {
    return fail(acs_missing_parameter("Version"));
  }
  if (*version != kAcsApiVersion) {
    return fail(Error{acs_codes::kInvalidVersion, "Specified parameter Version is not valid."});
  }
  auto verified = authenticate(request, *query, form, *params);
  if (!verified) {
    return fail(verified.error());
  }
  ApiCall call;
  call.action = verified->action;
  call.secret_id = verified->access_key_id;
  call.region = params->opt_string("RegionId").value_or("");
  call.request_id = request_id;
  if (actions_.find(call.action) != nullptr) {
    outcome.action = call.action;
  }
  if (auto s = admit(call, verified->nonce); !s) {
    return fail(s.error());
  }
  for (const auto name : kSignatureParams) {
    params->erase(name);
  }
  const AcsActionSpec& spec = *actions_.find(call.action);
  Expected<nlohmann::json> result = Error{acs_codes::kInternalError, "no result"};
  try {
    result = spec.handler(call, *params);
  } catch (const std::exception&) {
    spdlog::error("api: {} {} failed: the handler threw", call.action, call.request_id);
    result = Error{acs_codes::kInternalError,
                   "The request processing has failed due to some unknown error."};
  }
  if (!result) {
    spdlog::debug("api: {} {} -> {}", call.action, call.request_id, result.error().code);
    outcome.result = result.error().code;
    return acs_error_response(result.error(), request_id, host_id);
  }
  outcome.result = "Success";
  if (result->is_object() && result->contains("Code")) {
    spdlog::warn("api: {} {}: the handler's reply held a Code field, removed", call.action,
                 call.request_id);
  }
  spdlog::debug("api: {} {} -> ok", call.action, call.request_id);
  return acs_reply(std::move(*result), request_id);
}

}  // namespace ferry::server
