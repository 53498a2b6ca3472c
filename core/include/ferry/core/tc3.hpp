// TC3-HMAC-SHA256, the request signature of the Tencent Cloud API 3.0 ("Signature v3"), for
// both sides: a client signs (tc3_sign_headers), the server checks what a client signed
// (parse_tc3_authorization + tc3_verify).
//
//   CanonicalRequest = Method \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n
//                      hex(sha256(body))
//   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n
//                      hex(sha256(CanonicalRequest))
//   Signature        = hex(HMAC(HMAC(HMAC(HMAC("TC3" + key, Date), service), "tc3_request"),
//                                StringToSign))
//
// Clients do not all build CanonicalHeaders the same way, and the server must accept what the
// official SDKs send:
// - The document lowercases header names and values and trims the values
//   ("x-tc-action:describeinstances"). tencentcloud-sdk-nodejs 4.x signs only content-type and
//   host and puts the Content-Type value in as sent, without lowercasing it.
// - tencentcloud-sdk-nodejs signs the URL's hostname (no port) but sends `Host: name:port`;
//   clients that follow the document sign the Host header they send, port included.
// tc3_verify therefore tries the canonical forms a client may have produced (values
// lowercased or as sent; Host as received or without its port) and accepts the request if
// any of them gives the received signature. Every form still covers the method, URI, query,
// body, time, credential scope and each listed header; what the lenient forms leave open
// (the letter case of header values, the Host port) is exactly what the document's rule and
// the Node SDK already leave unsigned.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error.hpp"

namespace ferry {

inline constexpr std::string_view kTc3Algorithm = "TC3-HMAC-SHA256";
inline constexpr std::string_view kTc3Terminator = "tc3_request";
// Tencent Cloud refuses a request whose X-TC-Timestamp is more than five minutes off.
inline constexpr std::int64_t kTc3MaxSkewSeconds = 300;

// Received request headers: lowercase name -> value as received.
using Tc3HeaderMap = std::map<std::string, std::string, std::less<>>;

// One line of CanonicalHeaders: name lowercase, value already in canonical form.
struct Tc3HeaderLine {
  std::string name;
  std::string value;
};

// The parsed Authorization header.
struct Tc3Authorization {
  std::string secret_id;
  std::string date;                              // credential scope date, "YYYY-MM-DD"
  std::string service;                           // credential scope service, e.g. "tat"
  std::string signed_headers;                    // as received, e.g. "content-type;host"
  std::vector<std::string> signed_header_names;  // the same, split on ';'
  std::string signature;                         // 64 lowercase hex characters
};

// Parses `TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request,
// SignedHeaders=<a;b>, Signature=<hex>`. Spaces around the commas are optional and the three
// fields may come in any order. SignedHeaders must name content-type and host, in lowercase.
// Errors: AuthFailure.SignatureFailure, saying which part is malformed.
Expected<Tc3Authorization> parse_tc3_authorization(std::string_view header);

// "YYYY-MM-DD" of a Unix time, in UTC (never local time: the document warns about exactly
// that mistake).
std::string tc3_date(std::int64_t timestamp);

// The canonical request. `headers` are written in the order given (the caller sorts them);
// `signed_headers` is the list as it appears in the Authorization header.
std::string tc3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                  std::string_view canonical_query,
                                  const std::vector<Tc3HeaderLine>& headers,
                                  std::string_view signed_headers, std::string_view body);

std::string tc3_string_to_sign(std::int64_t timestamp, std::string_view date,
                               std::string_view service, std::string_view canonical_request);

// The derived key SecretSigning (32 raw bytes). Secret: never log it.
std::string tc3_signing_key(std::string_view secret_key, std::string_view date,
                            std::string_view service);

// hex(HMAC(SecretSigning, StringToSign)).
std::string tc3_signature(std::string_view secret_key, std::string_view date,
                          std::string_view service, std::string_view string_to_sign);

// --- client side -------------------------------------------------------------------------

// How the client puts the host into CanonicalHeaders.
enum class Tc3HostSigning {
  kAsSent,       // the Host header, port included (the document, most clients)
  kWithoutPort,  // the host name only (tencentcloud-sdk-nodejs)
};

struct Tc3Request {
  std::string method = "POST";
  std::string canonical_uri = "/";
  std::string canonical_query;  // already RFC 3986 encoded; empty for POST
  std::string content_type = "application/json";
  std::string host;  // Host header to send: "tat.tencentcloudapi.com" or "name:port"
  std::string body;
  std::string action;   // X-TC-Action
  std::string version;  // X-TC-Version, e.g. "2020-10-28"
  std::string region;   // X-TC-Region; not sent when empty
  std::int64_t timestamp = 0;
  std::string service;      // credential scope service; empty: the first label of the host
  bool sign_action = true;  // add x-tc-action to SignedHeaders, as the document's example does
  Tc3HostSigning host_signing = Tc3HostSigning::kAsSent;
};

struct Tc3Credentials {
  std::string secret_id;
  std::string secret_key;  // secret: never log it
};

struct Tc3SignedRequest {
  std::string authorization;
  // Every header to send, Authorization included, in a fixed order.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Signs `request` as the document describes (header values lowercased and trimmed).
Tc3SignedRequest tc3_sign_headers(const Tc3Request& request, const Tc3Credentials& credentials);

// --- server side -------------------------------------------------------------------------

// Checks the signature of a received request. `timestamp` is the X-TC-Timestamp value; the
// credential date must be its UTC date. `headers` must hold every header named in
// SignedHeaders. Freshness (check_timestamp) and the SecretId -> key lookup are the caller's.
// Errors: AuthFailure.SignatureFailure; the message never contains key material or the
// expected signature.
Status tc3_verify(const Tc3Authorization& auth, std::string_view secret_key,
                  const Tc3HeaderMap& headers, std::string_view body, std::string_view method,
                  std::string_view canonical_uri, std::string_view canonical_query,
                  std::int64_t timestamp);

// AuthFailure.SignatureExpire when `timestamp` is more than `max_skew` seconds before or
// after `now` (both Unix seconds).
Status check_timestamp(std::int64_t timestamp, std::int64_t now,
                       std::int64_t max_skew = kTc3MaxSkewSeconds);

}  // namespace ferry
