// The request signatures of the Alibaba Cloud API (the RPC style that ECS 2014-05-26 and its
// Cloud Assistant actions use). Server side: a request's parameters are read from its query
// (and form body), and its signature is checked with the AccessKeySecret. Client side (ferry):
// acs3_sign signs a request as the current SDKs do.
//
// ACS3-HMAC-SHA256 (the current SDKs):
//   CanonicalRequest = Method \n URI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n
//                      hex(sha256(body))
//   CanonicalQuery   = sorted encode(name)=encode(value) pairs joined by '&'
//   CanonicalHeaders = "name:trimmed value\n" for each header of SignedHeaders, in that order
//   StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//   Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//   Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=a;b,Signature=<hex>
//
// Signature v1 (HMAC-SHA1: @alicloud/pop-core, and the current SDKs' "v2" algorithm): the
// signature is the parameter Signature, over every other parameter of the query and form body:
//   StringToSign = Method & "%2F" & encode(sorted encode(name)=encode(value) joined by '&')
//   Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//
// encode() is RFC 3986 percent-encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX (uppercase
// hex), a space as %20, never '+'.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry {

inline constexpr std::string_view kAcs3Algorithm = "ACS3-HMAC-SHA256";
// The error codes of a refused signature, as Alibaba Cloud spells them.
inline constexpr const char* kAcsSignatureDoesNotMatch = "SignatureDoesNotMatch";
inline constexpr const char* kAcsIncompleteSignature = "IncompleteSignature";

// One parameter, name and value decoded.
using AcsParam = std::pair<std::string, std::string>;
using AcsParamList = std::vector<AcsParam>;
// Received request headers: lowercase name -> value as received.
using AcsHeaderMap = std::map<std::string, std::string, std::less<>>;

// RFC 3986 percent-encoding as above.
std::string acs_percent_encode(std::string_view text);

// The pairs of a query string or an application/x-www-form-urlencoded body ("a=1&b=x%20y"),
// decoded, in the order received: '+' is a space, a pair without '=' has an empty value, empty
// pieces ("a=1&&b=2") are skipped. Errors: InvalidParameter for a malformed %-escape.
Expected<AcsParamList> parse_acs_form(std::string_view text);

// encode(name)=encode(value) of every pair, sorted (by encoded name, then encoded value) and
// joined with '&': ACS3's CanonicalQuery and, percent-encoded once more, v1's string to sign.
std::string acs_canonical_query(const AcsParamList& params);

// --- ACS3-HMAC-SHA256 ---------------------------------------------------------------------

struct Acs3Authorization {
  std::string access_key_id;
  std::string signed_headers;                    // as received, e.g. "host;x-acs-action"
  std::vector<std::string> signed_header_names;  // the same, split on ';'
  std::string signature;                         // 64 lowercase hex characters
};

// Parses `ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<a;b>,Signature=<hex>` (spaces after
// the commas allowed, the fields in any order). Header names must be lowercase.
// Errors: IncompleteSignature, saying which part is malformed.
Expected<Acs3Authorization> parse_acs3_authorization(std::string_view header);

// `headers` are (lowercase name, trimmed value) lines in SignedHeaders order.
std::string acs3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                   std::string_view canonical_query, const AcsParamList& headers,
                                   std::string_view signed_headers,
                                   std::string_view hashed_payload_hex);
std::string acs3_string_to_sign(std::string_view canonical_request);
// hex(HMAC-SHA256(secret, string_to_sign)).
std::string acs3_signature(std::string_view secret, std::string_view string_to_sign);

// Checks a received request: `headers` must hold every header of SignedHeaders, `query` the
// decoded query pairs (not the form body: ACS3 covers a body through its hash). When the request
// carries x-acs-content-sha256, it must be the hash of `body`. The AccessKeyId -> secret lookup,
// freshness and replay are the caller's. Errors: IncompleteSignature (a signed header missing),
// SignatureDoesNotMatch; messages never contain key material or the expected signature.
Status acs3_verify(const Acs3Authorization& auth, std::string_view secret,
                   const AcsHeaderMap& headers, std::string_view method,
                   std::string_view canonical_uri, const AcsParamList& query,
                   std::string_view body);

// The client side: a request to sign. Every parameter goes in the query (the SDKs' way), the
// body is usually empty.
struct Acs3Request {
  std::string method = "POST";
  std::string canonical_uri = "/";
  AcsParamList query;  // decoded; the query string to send is acs_query_string(query)
  std::string body;
  std::string host;     // the Host header to send: "name" or "name:port"
  std::string action;   // x-acs-action
  std::string version;  // x-acs-version, e.g. "2014-05-26"
  std::string date;     // x-acs-date, "YYYY-MM-DDTHH:MM:SSZ" (acs_date)
  std::string nonce;    // x-acs-signature-nonce: unique per request (replays are refused)
  // More headers to sign and send (lowercase names), e.g. x-acs-credentials-provider.
  AcsParamList extra_headers;
};

struct Acs3SignedRequest {
  std::string authorization;
  // Every header to send (lowercase names, Authorization included), sorted by name.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Signs `request` with ACS3-HMAC-SHA256: host, x-acs-action, x-acs-content-sha256 (of the body),
// x-acs-date, x-acs-signature-nonce, x-acs-version and the extra headers are all signed, as the
// server requires of host and every x-acs-* header.
Acs3SignedRequest acs3_sign(const Acs3Request& request, std::string_view access_key_id,
                            std::string_view secret);

// "a=1&b=x%20y": the pairs encoded as above, in the order given, for the URL.
std::string acs_query_string(const AcsParamList& params);

// x-acs-date of a Unix time: "YYYY-MM-DDTHH:MM:SSZ" (UTC).
std::string acs_date(std::int64_t unix_seconds);

// --- signature v1 (HMAC-SHA1) -------------------------------------------------------------

// `params` are every signed parameter (Signature left out).
std::string acs_v1_string_to_sign(std::string_view method, const AcsParamList& params);
// base64(HMAC-SHA1(secret + "&", string_to_sign)).
std::string acs_v1_signature(std::string_view secret, std::string_view string_to_sign);

// Checks a v1 request: `params` are the query and form pairs together, one of them named
// Signature (exactly one). Errors: IncompleteSignature (none or several), SignatureDoesNotMatch.
Status acs_v1_verify(std::string_view method, const AcsParamList& params, std::string_view secret);

}  // namespace ferry
