// AWS Signature Version 4 (AWS4-HMAC-SHA256), the signature of S3 and of every S3-compatible
// store (COS, MinIO, ...), on the client side: header signing (an Authorization header) and
// query presigning (a URL that carries its own signature, which the agent uploads to without
// ever holding the bucket's secret). The same family as TC3 (tc3.hpp):
//
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//                      SignedHeaders \n HashedPayload
//   StringToSign     = "AWS4-HMAC-SHA256" \n YYYYMMDDTHHMMSSZ \n Scope \n
//                      hex(sha256(CanonicalRequest))
//   Scope            = YYYYMMDD/region/service/aws4_request
//   Signature        = hex(HMAC(HMAC(HMAC(HMAC(HMAC("AWS4" + secret, YYYYMMDD), region),
//                                          service), "aws4_request"), StringToSign))
//
// Paths are taken as they go on the wire, percent-encoded. Services other than S3 encode that
// path once more for the canonical URI ("double encoding": %20 becomes %2520), and so does the
// generic test suite; S3 does not, it signs the path in SigV4's own encoding (PathEncoding).
// With kS3 a raw character is accepted too and encoded ("/a b" is "/a%20b"), so a key with a
// literal '%' must be given as %25 (uri_encode does that). Query parameters are taken decoded,
// because the signer has to encode them exactly as SigV4 says (%20 for a space, never '+') for the
// URL and the signature to agree.
//
// Inputs that cannot be signed or sent (a line break in a header, an expiry past seven days, a
// header the signer sets itself) are refused with InvalidParameterValue, "SigV4: <reason>".
// No message ever contains the secret key or the session token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kTerminator = "aws4_request";
// The payload hash of a presigned URL: the body is not known when the URL is made.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// hex(sha256("")): the payload hash of a request without a body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// The longest X-Amz-Expires S3 accepts (seven days): a signing key is valid no longer.
inline constexpr std::int64_t kMaxExpiresSeconds = 604800;

enum class PathEncoding {
  // S3: the canonical URI is the path in SigV4's encoding (each %XX decoded, then every byte but
  // the unreserved ones and '/' encoded once). A path built with uri_encode(key, true) is
  // already in that form.
  kS3,
  // Every other service and the generic test suite: the path as sent, encoded once more.
  kDouble,
};

// One query parameter, decoded: {"uploadId", "a b"} goes out as uploadId=a%20b. An empty
// value is kept ("uploads" -> "uploads=", as S3's subresources are signed).
struct QueryParam {
  std::string name;
  std::string value;
};

// One header as sent. Names are compared without regard to case; a name given twice is
// signed as one header whose values are joined with ',' in the order given.
struct Header {
  std::string name;
  std::string value;
};

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret: never log it
  std::string session_token;      // temporary credentials (STS); empty for long-term keys
};

// --- the canonical pieces ----------------------------------------------------------------

// SigV4's UriEncode: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex), a space
// %20; '/' is kept when `keep_slash` (object key paths) and encoded otherwise (query names and
// values). Bytes, not characters: UTF-8 is encoded byte by byte.
std::string uri_encode(std::string_view bytes, bool keep_slash);

// The canonical URI of `path` (as sent; empty means "/"). The path must start with '/' and
// contain no '?' or '#' (query parameters are given apart); with kS3, every '%' must start a
// %XX escape.
Expected<std::string> canonical_uri(std::string_view path, PathEncoding encoding);

// The canonical query string: names and values encoded, the pairs sorted by encoded name, then
// by encoded value, joined with '&'. Empty for no parameters.
std::string canonical_query(const std::vector<QueryParam>& params);

struct CanonicalHeaders {
  std::string lines;           // "name:value\n" for each header: the CanonicalHeaders block
  std::string signed_headers;  // "host;range;x-amz-date"
};

// Names lowercased, values trimmed with inner runs of spaces and tabs made one space, repeated
// names merged, sorted by name. Refuses a name that is not an HTTP token and a value with a
// line break or NUL (it would end the header line on the wire).
Expected<CanonicalHeaders> canonical_headers(const std::vector<Header>& headers);

std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, const CanonicalHeaders& headers,
                              std::string_view payload_hash);

// "20150830T123600Z" of a Unix time, in UTC. Refuses times before 1970 or after 9999.
Expected<std::string> amz_date(std::int64_t timestamp);

// "20150830/us-east-1/service/aws4_request"; `date` is YYYYMMDD.
std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service);

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// The derived signing key (32 raw bytes); `date` is YYYYMMDD. Secret: never log it.
std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service);

// --- header signing ----------------------------------------------------------------------

struct HeaderSigningRequest {
  std::string method = "GET";
  std::string host;        // the Host header as sent: "bucket.s3.amazonaws.com", "name:9000"
  std::string path = "/";  // as on the wire; see PathEncoding
  std::vector<QueryParam> query;
  // Every other header to sign, as it will be sent (Range, Content-Type, ...). Not Host and
  // not the ones the signer sets: X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token,
  // Authorization.
  std::vector<Header> headers;
  // hex(sha256(body)) (sha256_hex in crypto.hpp; kEmptyPayloadSha256 without a body) or
  // kUnsignedPayload. Required: what the payload is is the caller's to say.
  std::string payload_hash;
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
  std::int64_t timestamp = 0;
  PathEncoding path_encoding = PathEncoding::kS3;
  // Send and sign X-Amz-Content-Sha256 = payload_hash. S3 requires it; the generic test suite
  // leaves it out of requests whose body it does not sign.
  bool content_sha256_header = true;
};

struct SignedRequest {
  std::string authorization;  // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
  std::string signature;      // 64 lowercase hex characters
  // The headers to add to the request, beside Host and the caller's own: X-Amz-Date,
  // X-Amz-Content-Sha256 (when asked), X-Amz-Security-Token (with a session token) and
  // Authorization, in that order. A kS3 request must send its path as canonical_uri gives it.
  std::vector<Header> headers;
};

Expected<SignedRequest> sign_headers(const HeaderSigningRequest& request,
                                     const Credentials& credentials);

// --- query presigning --------------------------------------------------------------------

struct PresignRequest {
  std::string method = "GET";  // "PUT" for an upload or one part of it
  std::string scheme = "https";
  // Host name or address with the port when it is not the scheme's default
  // ("s3.example.internal:9000"); a default port is dropped, as HTTP clients leave it out of
  // the Host header they send. IPv6 in brackets.
  std::string host;
  std::string path = "/";  // "/test.txt", "/bucket/prefix/key.log"; see PathEncoding
  // Further parameters the request carries, signed with the rest: partNumber, uploadId.
  // Not the X-Amz-* authentication parameters, which the signer sets.
  std::vector<QueryParam> query;
  std::string region;
  std::string service = "s3";
  std::int64_t timestamp = 0;
  std::int64_t expires_seconds = 0;  // X-Amz-Expires: 1 to kMaxExpiresSeconds
  std::string payload_hash = std::string(kUnsignedPayload);
  PathEncoding path_encoding = PathEncoding::kS3;
};

// scheme://host/path?<canonical query>&X-Amz-Signature=<hex>, signing the host header only.
// The query holds the caller's parameters and X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders=host and, with a session token, X-Amz-Security-Token
// (signed, as S3 requires). With kS3 the URL carries the path as canonical_uri gives it, so
// that what is sent is what was signed; with kDouble it carries the path as given.
Expected<std::string> presign_url(const PresignRequest& request, const Credentials& credentials);

}  // namespace ferry::sigv4
