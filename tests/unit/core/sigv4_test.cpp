#include "ferry/core/sigv4.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"

using namespace ferry;

namespace {

// The Amazon S3 API Reference's examples ("Authenticating Requests: Using Query Parameters"
// and "Signature Calculations for the Authorization Header: Transferring Payload in a Single
// Chunk"): one key, one bucket, Fri, 24 May 2013 00:00:00 GMT, us-east-1.
const sigv4::Credentials kS3DocCredentials{"AKIAIOSFODNN7EXAMPLE",
                                           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr std::int64_t kS3DocTime = 1369353600;  // 20130524T000000Z
constexpr std::string_view kS3DocHost = "examplebucket.s3.amazonaws.com";

// The generic suite (aws-sig-v4-test-suite, as awslabs/aws-c-auth carries it in
// tests/aws-signing-test-suite/v4): 2015-08-30T12:36:00Z, us-east-1, service "service",
// expiration 3600 s for the presigned variants, paths double-encoded.
constexpr std::string_view kSuiteKeyId = "AKIDEXAMPLE";
constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::int64_t kSuiteTime = 1440938160;  // 20150830T123600Z
constexpr std::string_view kSuiteHost = "example.amazonaws.com";
constexpr std::string_view kSuiteToken =
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
constexpr std::string_view kSuiteStsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm"
    "8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
constexpr std::string_view kSuiteFormBodySha256 =
    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";  // "Param1=value1"

// One case of the suite: the request, then the signature of its header-signed form and of its
// presigned form (empty when the presigned form signs more headers than host, which
// presign_url never does).
struct SuiteVector {
  std::string name;
  std::string method;
  std::string path;
  std::vector<sigv4::QueryParam> query;
  std::vector<sigv4::Header> headers;
  std::string token;
  bool sign_body = false;      // the suite's sign_body: x-amz-content-sha256 sent and signed
  std::string signed_headers;  // of the header-signed form
  std::string header_signature;
  std::string query_signature;
};

const std::string kUtf8Char = "\xE1\x88\xB4";  // U+1234, the suite's UTF-8 character

std::vector<SuiteVector> suite_vectors() {
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return {
      {"get-vanilla",
       "GET",
       "/",
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
       "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       {{"Param2", "value2"}, {"Param1", "value1"}},
       {},
       "",
       false,
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
       "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5"},
      {"get-vanilla-query-order-encoded",
       "GET",
       "/",
       {{"Param-3", "Value3"}, {"Param", "Value2"}, {kUtf8Char, "Value1"}},
       {},
       "",
       false,
       "host;x-amz-date",
       "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
       "c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       {{unreserved, unreserved}},
       {},
       "",
       false,
       "host;x-amz-date",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
       "8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       {{kUtf8Char, "bar"}},
       {},
       "",
       false,
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
       "0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600"},
      {"get-vanilla-empty-query-key",
       "GET",
       "/",
       {{"Param1", "value1"}},
       {},
       "",
       false,
       "host;x-amz-date",
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
       "49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de"},
      {"get-utf8",
       "GET",
       "/" + kUtf8Char,
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
       "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44"},
      {"get-space-unnormalized",
       "GET",
       "/example space/",
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
       "7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6"},
      {"get-unreserved",
       "GET",
       "/" + unreserved,
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
       "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005"},
      {"get-slashes-unnormalized",
       "GET",
       "//example//",
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5",
       "822a5a9ba28072c5ab2bb4a6307d0c88276d40e49fec6b724c03fb4d4ba60fc2"},
      {"get-relative-unnormalized",
       "GET",
       "/example/..",
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "eca7ead57bb5aa5c8e28007acd4ff04e1ff9a0ff3b237ec1554a184887ff9282",
       "cbcb213b928a077e43275df47b500f1dfaa864ab3f5a18f6b95f4ff0938167ee"},
      {"get-header-value-trim",
       "GET",
       "/",
       {},
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       false,
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
       ""},
      {"get-header-key-duplicate",
       "GET",
       "/",
       {},
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       false,
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
       ""},
      {"get-header-value-order",
       "GET",
       "/",
       {},
       {{"My-Header1", "value4"},
        {"My-Header1", "value1"},
        {"My-Header1", "value3"},
        {"My-Header1", "value2"}},
       "",
       false,
       "host;my-header1;x-amz-date",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
       ""},
      {"get-vanilla-with-session-token",
       "GET",
       "/",
       {},
       {},
       std::string(kSuiteToken),
       false,
       "host;x-amz-date;x-amz-security-token",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
       "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c"},
      {"post-vanilla",
       "POST",
       "/",
       {},
       {},
       "",
       false,
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
       "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b"},
      {"post-vanilla-query",
       "POST",
       "/",
       {{"Param1", "value1"}},
       {},
       "",
       false,
       "host;x-amz-date",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
       "a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682"},
      {"post-header-key-sort",
       "POST",
       "/",
       {},
       {{"My-Header1", "value1"}},
       "",
       false,
       "host;my-header1;x-amz-date",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
       ""},
      {"post-header-value-case",
       "POST",
       "/",
       {},
       {{"My-Header1", "VALUE1"}},
       "",
       false,
       "host;my-header1;x-amz-date",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
       ""},
      {"post-sts-header-before",
       "POST",
       "/",
       {},
       {},
       std::string(kSuiteStsToken),
       false,
       "host;x-amz-date;x-amz-security-token",
       "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
       "46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}},
       "",
       true,
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
       ""},
      {"post-x-www-form-urlencoded-parameters",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"Content-Length", "13"}},
       "",
       true,
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
       "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
       ""},
  };
}

sigv4::Credentials suite_credentials(const std::string& token = "") {
  return {std::string(kSuiteKeyId), std::string(kSuiteSecret), token};
}

sigv4::HeaderSigningRequest suite_header_request(const SuiteVector& v) {
  sigv4::HeaderSigningRequest r;
  r.method = v.method;
  r.host = std::string(kSuiteHost);
  r.path = v.path;
  r.query = v.query;
  r.headers = v.headers;
  r.payload_hash = std::string(v.sign_body ? kSuiteFormBodySha256 : sigv4::kEmptyPayloadSha256);
  r.region = "us-east-1";
  r.service = "service";
  r.timestamp = kSuiteTime;
  r.path_encoding = sigv4::PathEncoding::kDouble;
  r.content_sha256_header = v.sign_body;
  return r;
}

sigv4::PresignRequest suite_presign_request(const SuiteVector& v) {
  sigv4::PresignRequest r;
  r.method = v.method;
  r.host = std::string(kSuiteHost);
  r.path = v.path;
  r.query = v.query;
  r.region = "us-east-1";
  r.service = "service";
  r.timestamp = kSuiteTime;
  r.expires_seconds = 3600;
  r.payload_hash = std::string(sigv4::kEmptyPayloadSha256);
  r.path_encoding = sigv4::PathEncoding::kDouble;
  return r;
}

// What follows "X-Amz-Signature=" in a presigned URL: presign_url puts it last.
std::string url_signature(const std::string& url) {
  const auto at = url.rfind("&X-Amz-Signature=");
  REQUIRE(at != std::string::npos);
  return url.substr(at + std::string_view("&X-Amz-Signature=").size());
}

// An upload part to a self-hosted, path-style store: what the agent will ask the server for.
sigv4::PresignRequest part_upload() {
  sigv4::PresignRequest r;
  r.method = "PUT";
  r.host = "s3.example.internal:9000";
  r.path = "/bucket/out/inv-12345678/invt-12345678.log";
  r.query = {{"partNumber", "3"}, {"uploadId", "VXBsb2FkIElE.ZXhhbXBsZQ"}};
  r.region = "us-east-1";
  r.timestamp = 1764072000;  // 2025-11-25T12:00:00Z
  r.expires_seconds = 900;
  return r;
}

const sigv4::Credentials kStoreCredentials{"AKIDferrystore", "ferry-store-secret",
                                           "ferry/session+token=="};

std::string presigned(const sigv4::PresignRequest& r,
                      const sigv4::Credentials& c = kStoreCredentials) {
  const auto url = sigv4::presign_url(r, c);
  REQUIRE(url.has_value());
  return *url;
}

std::string error_of(const Expected<std::string>& result) {
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == codes::kInvalidParameterValue);
  return result.error().message;
}

}  // namespace

TEST_CASE("uri_encode keeps the unreserved characters and nothing else", "[sigv4]") {
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  CHECK(sigv4::uri_encode(unreserved, false) == unreserved);
  CHECK(sigv4::uri_encode("a b", false) == "a%20b");
  CHECK(sigv4::uri_encode("a/b", false) == "a%2Fb");
  CHECK(sigv4::uri_encode("a/b", true) == "a/b");
  CHECK(sigv4::uri_encode("1+1=2", false) == "1%2B1%3D2");
  CHECK(sigv4::uri_encode("%*?#&$@:,;!'()[]", true) ==
        "%25%2A%3F%23%26%24%40%3A%2C%3B%21%27%28%29%5B%5D");
  CHECK(sigv4::uri_encode("\xC3\xA9", false) == "%C3%A9");  // é, byte by byte
  CHECK(sigv4::uri_encode(kUtf8Char, false) == "%E1%88%B4");
  CHECK(sigv4::uri_encode(std::string("\x00\x1a\x7f\xff", 4), false) == "%00%1A%7F%FF");
}

TEST_CASE("canonical_uri encodes once for S3 and twice otherwise", "[sigv4]") {
  using sigv4::PathEncoding;
  CHECK(*sigv4::canonical_uri("", PathEncoding::kS3) == "/");
  CHECK(*sigv4::canonical_uri("/", PathEncoding::kDouble) == "/");
  CHECK(*sigv4::canonical_uri("/test.txt", PathEncoding::kS3) == "/test.txt");
  CHECK(*sigv4::canonical_uri("/photos/Jan/sample.jpg", PathEncoding::kS3) ==
        "/photos/Jan/sample.jpg");
  // S3's own example: the key "test$file.text" is signed as /test%24file.text.
  CHECK(*sigv4::canonical_uri("/test$file.text", PathEncoding::kS3) == "/test%24file.text");
  CHECK(*sigv4::canonical_uri("/test%24file.text", PathEncoding::kS3) == "/test%24file.text");
  // A path already encoded is signed as it is; escapes are brought to SigV4's form.
  CHECK(*sigv4::canonical_uri("/a%20b/c d/%7e/%c3%a9", PathEncoding::kS3) ==
        "/a%20b/c%20d/~/%C3%A9");
  // The general SigV4 document's example of double encoding.
  CHECK(*sigv4::canonical_uri("/documents%20and%20settings/", PathEncoding::kDouble) ==
        "/documents%2520and%2520settings/");
  CHECK(*sigv4::canonical_uri("/example space/", PathEncoding::kDouble) == "/example%20space/");

  for (const auto encoding : {PathEncoding::kS3, PathEncoding::kDouble}) {
    CHECK(error_of(sigv4::canonical_uri("test.txt", encoding)) ==
          "SigV4: the path must start with '/'");
    CHECK(error_of(sigv4::canonical_uri("/a?b=c", encoding)) ==
          "SigV4: the path must not contain '?' or '#': give query parameters apart");
    CHECK_FALSE(sigv4::canonical_uri("/a#b", encoding).has_value());
  }
  for (const std::string_view bad : {"/50%", "/%2", "/%G0/x", "/%%41"}) {
    CAPTURE(bad);
    CHECK(error_of(sigv4::canonical_uri(bad, PathEncoding::kS3)) ==
          "SigV4: the path has a '%' that does not start a %XX escape");
    CHECK(sigv4::canonical_uri(bad, PathEncoding::kDouble).has_value());
  }
}

TEST_CASE("canonical_query encodes, then sorts by name and value", "[sigv4]") {
  CHECK(sigv4::canonical_query({}).empty());
  CHECK(sigv4::canonical_query({{"Param2", "value2"}, {"Param1", "value1"}}) ==
        "Param1=value1&Param2=value2");
  // Sorted by the encoded names, byte by byte: '%' before 'P', "Param" before "Param-3".
  CHECK(sigv4::canonical_query({{"Param-3", "Value3"}, {"Param", "Value2"}, {kUtf8Char, "V"}}) ==
        "%E1%88%B4=V&Param=Value2&Param-3=Value3");
  CHECK(sigv4::canonical_query({{"prefix", "J"}, {"max-keys", "2"}}) == "max-keys=2&prefix=J");
  CHECK(sigv4::canonical_query({{"lifecycle", ""}}) == "lifecycle=");
  CHECK(sigv4::canonical_query({{"a", "2"}, {"a", "10"}, {"a", "1"}}) == "a=1&a=10&a=2");
  // Spaces are %20, never '+'; '/', '+' and '=' in values are encoded; UTF-8 byte by byte.
  CHECK(sigv4::canonical_query({{"key", "a b/c+d=e\xC3\xA9"}, {"x y", "~"}}) ==
        "key=a%20b%2Fc%2Bd%3De%C3%A9&x%20y=~");
}

TEST_CASE("canonical_headers lowercases, trims, merges and sorts", "[sigv4]") {
  const auto headers = sigv4::canonical_headers({
      {"X-Amz-Date", "20150830T123600Z"},
      {"Host", "example.amazonaws.com"},
      {"My-Header2", " \"a   b \t c\"  "},
      {"My-Header1", "value4"},
      {"my-header1", "\tvalue1 "},
      {"Empty", ""},
  });
  REQUIRE(headers.has_value());
  CHECK(headers->lines ==
        "empty:\nhost:example.amazonaws.com\nmy-header1:value4,value1\nmy-header2:\"a b c\"\n"
        "x-amz-date:20150830T123600Z\n");
  CHECK(headers->signed_headers == "empty;host;my-header1;my-header2;x-amz-date");

  const auto bad_name = sigv4::canonical_headers({{"My Header", "x"}});
  REQUIRE_FALSE(bad_name.has_value());
  CHECK(bad_name.error().message == "SigV4: header name 'My Header' is not an HTTP token");
  CHECK_FALSE(sigv4::canonical_headers({{"", "x"}}).has_value());
  CHECK_FALSE(sigv4::canonical_headers({{"My:Header", "x"}}).has_value());
  for (const std::string& value :
       std::vector<std::string>{"a\r\nX-Injected: 1", "a\nb", std::string("a\0b", 3)}) {
    const auto bad_value = sigv4::canonical_headers({{"My-Header", value}});
    REQUIRE_FALSE(bad_value.has_value());
    CHECK(bad_value.error().message ==
          "SigV4: the value of header My-Header contains a line break or NUL");
  }
}

TEST_CASE("amz_date is the UTC time in ISO 8601 basic format", "[sigv4]") {
  CHECK(*sigv4::amz_date(0) == "19700101T000000Z");
  CHECK(*sigv4::amz_date(kSuiteTime) == "20150830T123600Z");
  CHECK(*sigv4::amz_date(kS3DocTime) == "20130524T000000Z");
  CHECK(*sigv4::amz_date(951868799) == "20000229T235959Z");
  CHECK(*sigv4::amz_date(253402300799) == "99991231T235959Z");
  CHECK(error_of(sigv4::amz_date(-1)) == "SigV4: the time -1 is outside 1970-01-01 to 9999-12-31");
  CHECK_FALSE(sigv4::amz_date(253402300800).has_value());
}

TEST_CASE("the S3 documentation's presigned URL", "[sigv4]") {
  // Every step the document prints, from the canonical request to the URL.
  const std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
      "X-Amz-SignedHeaders=host";
  const auto headers = sigv4::canonical_headers({{"Host", std::string(kS3DocHost)}});
  REQUIRE(headers.has_value());
  const std::string canonical =
      sigv4::canonical_request("GET", "/test.txt", query, *headers, sigv4::kUnsignedPayload);
  CHECK(canonical == "GET\n/test.txt\n" + query +
                         "\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  const std::string to_sign = sigv4::string_to_sign(
      "20130524T000000Z", sigv4::credential_scope("20130524", "us-east-1", "s3"), canonical);
  CHECK(to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  CHECK(hex_encode(hmac_sha256(
            sigv4::signing_key(kS3DocCredentials.secret_access_key, "20130524", "us-east-1", "s3"),
            to_sign)) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");

  sigv4::PresignRequest r;
  r.host = std::string(kS3DocHost);
  r.path = "/test.txt";
  r.region = "us-east-1";
  r.timestamp = kS3DocTime;
  r.expires_seconds = 86400;
  CHECK(presigned(r, kS3DocCredentials) ==
        "https://examplebucket.s3.amazonaws.com/test.txt?" + query +
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_CASE("the S3 documentation's header-signed requests", "[sigv4]") {
  sigv4::HeaderSigningRequest r;
  r.host = std::string(kS3DocHost);
  r.payload_hash = std::string(sigv4::kEmptyPayloadSha256);
  r.region = "us-east-1";
  r.service = "s3";
  r.timestamp = kS3DocTime;
  std::string signed_headers = "host;x-amz-content-sha256;x-amz-date";
  std::string signature;

  SECTION("GET Object, the first ten bytes") {
    r.path = "/test.txt";
    r.headers = {{"Range", "bytes=0-9"}};
    signed_headers = "host;range;x-amz-content-sha256;x-amz-date";
    signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

    // The document's canonical request and string to sign.
    const auto headers =
        sigv4::canonical_headers({{"Host", r.host},
                                  {"Range", "bytes=0-9"},
                                  {"x-amz-content-sha256", std::string(sigv4::kEmptyPayloadSha256)},
                                  {"x-amz-date", "20130524T000000Z"}});
    REQUIRE(headers.has_value());
    const std::string canonical = sigv4::canonical_request(
        "GET", *sigv4::canonical_uri("/test.txt", sigv4::PathEncoding::kS3), "", *headers,
        sigv4::kEmptyPayloadSha256);
    CHECK(canonical ==
          "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
          "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
          "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sigv4::string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
                                canonical) ==
          "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
          "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  }
  SECTION("PUT Object, a key with '$' and a signed body") {
    r.method = "PUT";
    r.path = "/test$file.text";
    r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    r.payload_hash = sha256_hex("Welcome to Amazon S3.");
    CHECK(r.payload_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    signed_headers = "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class";
    signature = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
  }
  SECTION("GET Bucket Lifecycle, a subresource without a value") {
    r.query = {{"lifecycle", ""}};
    signature = "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543";
  }
  SECTION("GET Bucket (List Objects), two parameters") {
    r.query = {{"max-keys", "2"}, {"prefix", "J"}};
    signature = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";
  }

  const auto result = sigv4::sign_headers(r, kS3DocCredentials);
  REQUIRE(result.has_value());
  CHECK(result->signature == signature);
  CHECK(result->authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=" +
            signed_headers + ", Signature=" + signature);
  REQUIRE(result->headers.size() == 3);
  CHECK(result->headers[0].name == "X-Amz-Date");
  CHECK(result->headers[0].value == "20130524T000000Z");
  CHECK(result->headers[1].name == "X-Amz-Content-Sha256");
  CHECK(result->headers[1].value == r.payload_hash);
  CHECK(result->headers[2].name == "Authorization");
  CHECK(result->headers[2].value == result->authorization);
}

TEST_CASE("the generic suite's canonical requests", "[sigv4]") {
  // The suite's header-canonical-request.txt of three cases, built from the pieces.
  const auto build = [](std::string_view method, std::string_view path,
                        const std::vector<sigv4::QueryParam>& query,
                        const std::vector<sigv4::Header>& headers) {
    const auto uri = sigv4::canonical_uri(path, sigv4::PathEncoding::kDouble);
    const auto canonical_headers = sigv4::canonical_headers(headers);
    REQUIRE(uri.has_value());
    REQUIRE(canonical_headers.has_value());
    return sigv4::canonical_request(method, *uri, sigv4::canonical_query(query), *canonical_headers,
                                    sigv4::kEmptyPayloadSha256);
  };
  const std::string date = "20150830T123600Z";
  CHECK(build("GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", date}}) ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(build("GET", "/", {},
              {{"Host", "example.amazonaws.com"},
               {"My-Header1", " value1"},
               {"My-Header2", " \"a   b   c\""},
               {"X-Amz-Date", date}}) ==
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
        "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(build("GET", "/", {{"Param-3", "Value3"}, {"Param", "Value2"}, {kUtf8Char, "Value1"}},
              {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", date}}) ==
        "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(build("GET", "/" + kUtf8Char, {}, {{"Host", "example.amazonaws.com"}})
            .starts_with("GET\n/%E1%88%B4\n\n"));
  CHECK(sha256_hex("Param1=value1") == kSuiteFormBodySha256);
}

TEST_CASE("the generic suite's header-signed requests", "[sigv4]") {
  for (const auto& v : suite_vectors()) {
    CAPTURE(v.name);
    const auto result = sigv4::sign_headers(suite_header_request(v), suite_credentials(v.token));
    REQUIRE(result.has_value());
    CHECK(result->signature == v.header_signature);
    CHECK(result->authorization ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
          "SignedHeaders=" +
              v.signed_headers + ", Signature=" + v.header_signature);
  }
}

TEST_CASE("the generic suite's presigned requests", "[sigv4]") {
  for (const auto& v : suite_vectors()) {
    if (v.query_signature.empty()) {
      continue;
    }
    CAPTURE(v.name);
    CHECK(url_signature(presigned(suite_presign_request(v), suite_credentials(v.token))) ==
          v.query_signature);
  }

  // The URL of get-vanilla-with-session-token: the query is the suite's canonical query, the
  // token among the signed parameters.
  const auto vectors = suite_vectors();
  const auto& with_token = vectors[14];
  REQUIRE(with_token.name == "get-vanilla-with-session-token");
  CHECK(presigned(suite_presign_request(with_token), suite_credentials(with_token.token)) ==
        "https://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&"
        "X-Amz-Expires=3600&X-Amz-Security-Token="
        "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267&"
        "X-Amz-SignedHeaders=host&X-Amz-Signature="
        "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c");
}

TEST_CASE("a presigned upload part carries its parameters, signed", "[sigv4]") {
  const std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDferrystore%2F20251125%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20251125T120000Z&X-Amz-Expires=900&"
      "X-Amz-Security-Token=ferry%2Fsession%2Btoken%3D%3D&X-Amz-SignedHeaders=host&"
      "partNumber=3&uploadId=VXBsb2FkIElE.ZXhhbXBsZQ";
  const std::string url = presigned(part_upload());
  const std::string prefix =
      "https://s3.example.internal:9000/bucket/out/inv-12345678/"
      "invt-12345678.log?" +
      query + "&X-Amz-Signature=";
  CHECK(url.starts_with(prefix));
  CHECK(url.size() == prefix.size() + 64);

  // The same signature from the pieces: the port is part of the signed host header, the
  // token and the part's parameters of the signed query, the payload unsigned.
  const auto headers = sigv4::canonical_headers({{"host", "s3.example.internal:9000"}});
  REQUIRE(headers.has_value());
  const std::string canonical = sigv4::canonical_request(
      "PUT", "/bucket/out/inv-12345678/invt-12345678.log", query, *headers, "UNSIGNED-PAYLOAD");
  const std::string to_sign =
      sigv4::string_to_sign("20251125T120000Z", "20251125/us-east-1/s3/aws4_request", canonical);
  CHECK(url_signature(url) ==
        hex_encode(hmac_sha256(
            sigv4::signing_key("ferry-store-secret", "20251125", "us-east-1", "s3"), to_sign)));
}

TEST_CASE("every signed input changes the presigned signature", "[sigv4]") {
  const std::string base = url_signature(presigned(part_upload()));
  auto r = part_upload();
  auto credentials = kStoreCredentials;
  SECTION("method") {
    r.method = "GET";
  }
  SECTION("host") {
    r.host = "s3.example.internal2:9000";
  }
  SECTION("port") {
    r.host = "s3.example.internal:9001";
  }
  SECTION("no port") {
    r.host = "s3.example.internal";
  }
  SECTION("path") {
    r.path = "/bucket/out/inv-12345678/invt-12345679.log";
  }
  SECTION("a query value") {
    r.query[0].value = "4";
  }
  SECTION("a query name") {
    r.query[0].name = "PartNumber";
  }
  SECTION("one more query parameter") {
    r.query.push_back({"x-id", "UploadPart"});
  }
  SECTION("region") {
    r.region = "us-east-2";
  }
  SECTION("service") {
    r.service = "s4";
  }
  SECTION("time, same day") {
    r.timestamp += 1;
  }
  SECTION("expiry") {
    r.expires_seconds += 1;
  }
  SECTION("payload hash") {
    r.payload_hash = std::string(sigv4::kEmptyPayloadSha256);
  }
  SECTION("access key") {
    credentials.access_key_id = "AKIDferrystorf";
  }
  SECTION("secret key") {
    credentials.secret_access_key = "ferry-store-secreu";
  }
  SECTION("session token") {
    credentials.session_token = "ferry/session+token=!";
  }
  SECTION("no session token") {
    credentials.session_token.clear();
  }
  CHECK(url_signature(presigned(r, credentials)) != base);
}

TEST_CASE("a default port is left out of the URL and the signed host", "[sigv4]") {
  auto r = part_upload();
  r.host = "s3.example.internal";
  const std::string bare = presigned(r);
  CHECK(bare.starts_with("https://s3.example.internal/bucket/"));
  r.host = "s3.example.internal:443";
  CHECK(presigned(r) == bare);

  r.scheme = "http";
  r.host = "s3.example.internal:80";
  const std::string plain = presigned(r);
  CHECK(plain.starts_with("http://s3.example.internal/bucket/"));
  CHECK(url_signature(plain) == url_signature(bare));  // the scheme itself is not signed
  r.host = "s3.example.internal:443";
  CHECK(presigned(r).starts_with("http://s3.example.internal:443/bucket/"));
  CHECK(url_signature(presigned(r)) != url_signature(bare));

  r.scheme = "https";
  r.host = "[::1]:9000";
  CHECK(presigned(r).starts_with("https://[::1]:9000/bucket/"));
  r.host = "[::1]:443";
  CHECK(presigned(r).starts_with("https://[::1]/bucket/"));
}

TEST_CASE("presigned query values and paths are encoded as SigV4 says", "[sigv4]") {
  auto r = part_upload();
  r.path = "/bucket/my dir/r\xC3\xA9sum\xC3\xA9+1=2.log";
  r.query = {{"response-content-disposition", "attachment; filename=a b/c+d=e\xC3\xA9.log"}};
  const std::string url = presigned(r);
  CHECK(url.starts_with(
      "https://s3.example.internal:9000/bucket/my%20dir/r%C3%A9sum%C3%A9%2B1%3D2.log?"));
  CHECK(url.find("&response-content-disposition="
                 "attachment%3B%20filename%3Da%20b%2Fc%2Bd%3De%C3%A9.log&") != std::string::npos);
  CHECK(url.find(' ') == std::string::npos);
  CHECK(url.find('+') == std::string::npos);
  // The path is sent as it was signed, however it was given.
  r.path = "/bucket/my%20dir/r%c3%a9sum%C3%A9%2b1=2.log";
  CHECK(presigned(r) == url);
}

TEST_CASE("X-Amz-Expires must be one second to seven days", "[sigv4]") {
  auto r = part_upload();
  for (const std::int64_t ok : {std::int64_t{1}, std::int64_t{604800}}) {
    r.expires_seconds = ok;
    CHECK(presigned(r).find("&X-Amz-Expires=" + std::to_string(ok) + "&") != std::string::npos);
  }
  for (const std::int64_t bad :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{604801}, std::int64_t{86400} * 365}) {
    CAPTURE(bad);
    r.expires_seconds = bad;
    CHECK(error_of(sigv4::presign_url(r, kStoreCredentials)) ==
          "SigV4: X-Amz-Expires must be 1 to 604800 seconds (seven days), not " +
              std::to_string(bad));
  }
}

TEST_CASE("header signing sends and signs the session token", "[sigv4]") {
  sigv4::HeaderSigningRequest r;
  r.method = "PUT";
  r.host = "s3.example.internal:9000";
  r.path = "/bucket/key.log";
  r.query = {{"partNumber", "1"}, {"uploadId", "abc"}};
  r.payload_hash = std::string(sigv4::kUnsignedPayload);
  r.region = "us-east-1";
  r.service = "s3";
  r.timestamp = 1764072000;
  const auto with_token = sigv4::sign_headers(r, kStoreCredentials);
  REQUIRE(with_token.has_value());
  CHECK(with_token->authorization.find(
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, ") !=
        std::string::npos);
  REQUIRE(with_token->headers.size() == 4);
  CHECK(with_token->headers[1].value == "UNSIGNED-PAYLOAD");
  CHECK(with_token->headers[2].name == "X-Amz-Security-Token");
  CHECK(with_token->headers[2].value == kStoreCredentials.session_token);

  // The same signature from the pieces.
  const auto headers =
      sigv4::canonical_headers({{"host", "s3.example.internal:9000"},
                                {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
                                {"x-amz-date", "20251125T120000Z"},
                                {"x-amz-security-token", "ferry/session+token=="}});
  REQUIRE(headers.has_value());
  const std::string canonical = sigv4::canonical_request(
      "PUT", "/bucket/key.log", "partNumber=1&uploadId=abc", *headers, "UNSIGNED-PAYLOAD");
  CHECK(with_token->signature ==
        hex_encode(
            hmac_sha256(sigv4::signing_key("ferry-store-secret", "20251125", "us-east-1", "s3"),
                        sigv4::string_to_sign("20251125T120000Z",
                                              "20251125/us-east-1/s3/aws4_request", canonical))));

  auto other = kStoreCredentials;
  other.session_token = "another token";
  const auto changed = sigv4::sign_headers(r, other);
  REQUIRE(changed.has_value());
  CHECK(changed->signature != with_token->signature);
  other.session_token.clear();
  const auto without = sigv4::sign_headers(r, other);
  REQUIRE(without.has_value());
  CHECK(without->headers.size() == 3);
  CHECK(without->authorization.find("x-amz-security-token") == std::string::npos);

  SECTION("any signed header changes the signature") {
    r.headers = {{"Content-Type", "text/plain"}};
    const auto typed = sigv4::sign_headers(r, kStoreCredentials);
    REQUIRE(typed.has_value());
    r.headers[0].value = "text/plain; charset=utf-8";
    const auto retyped = sigv4::sign_headers(r, kStoreCredentials);
    REQUIRE(retyped.has_value());
    CHECK(typed->signature != with_token->signature);
    CHECK(retyped->signature != typed->signature);
  }
}

TEST_CASE("inputs that cannot be signed are refused", "[sigv4]") {
  auto r = part_upload();
  auto credentials = kStoreCredentials;
  std::string message;
  SECTION("a query parameter the signer sets") {
    r.query.push_back({"x-amz-signature", "0"});
    message = "SigV4: query parameter x-amz-signature is set by the signer, not by the caller";
  }
  SECTION("another one, in another case") {
    r.query.push_back({"X-AMZ-EXPIRES", "60"});
    message = "SigV4: query parameter X-AMZ-EXPIRES is set by the signer, not by the caller";
  }
  SECTION("scheme") {
    r.scheme = "ftp";
    message = "SigV4: the scheme must be https or http, not 'ftp'";
  }
  SECTION("region") {
    r.region = "us/east";
    message = "SigV4: the region must be letters, digits, '-', '_' or '.', e.g. us-east-1";
  }
  SECTION("service") {
    r.service = "";
    message = "SigV4: the service must be letters, digits, '-', '_' or '.', e.g. s3";
  }
  SECTION("method") {
    r.method = "GET /";
    message = "SigV4: the method must be an HTTP token such as GET or PUT";
  }
  SECTION("payload hash") {
    r.payload_hash = std::string(64, 'A');
    message =
        "SigV4: the payload hash must be 64 lowercase hexadecimal characters or UNSIGNED-PAYLOAD";
  }
  SECTION("time") {
    r.timestamp = -5;
    message = "SigV4: the time -5 is outside 1970-01-01 to 9999-12-31";
  }
  SECTION("access key") {
    credentials.access_key_id = "AKID/x";
    message = "SigV4: the access key ID must be printable ASCII without spaces, '/' or ','";
  }
  SECTION("secret key") {
    credentials.secret_access_key.clear();
    message = "SigV4: the secret access key is empty";
  }
  SECTION("session token") {
    credentials.session_token = "token\r\nX-Injected: 1";
    message = "SigV4: the session token contains a line break or NUL";
  }
  SECTION("path") {
    r.path = "bucket/key";
    message = "SigV4: the path must start with '/'";
  }
  CHECK(error_of(sigv4::presign_url(r, credentials)) == message);
}

TEST_CASE("a host that is not name[:port] is refused", "[sigv4]") {
  const std::string host =
      GENERATE(as<std::string>{}, "", "a/b", "a b", "user@host", "host:", "host:0", "host:65536",
               "host:x", "host:1:2", "[::1", "[]:80", "[::g]", "[::1]x", "h?", "h\r\nX: 1");
  auto r = part_upload();
  r.host = host;
  const std::string message = error_of(sigv4::presign_url(r, kStoreCredentials));
  if (host.find('\n') != std::string::npos) {
    CHECK(message == "SigV4: the host contains a line break or NUL");
  } else {
    CHECK(message == "SigV4: the host must be name[:port] or [IPv6][:port], not '" + host + "'");
  }
}

TEST_CASE("header signing refuses the headers it sets itself", "[sigv4]") {
  sigv4::HeaderSigningRequest r;
  r.host = "examplebucket.s3.amazonaws.com";
  r.payload_hash = std::string(sigv4::kEmptyPayloadSha256);
  r.region = "us-east-1";
  r.service = "s3";
  r.timestamp = kS3DocTime;
  const std::string name = GENERATE(as<std::string>{}, "Host", "x-amz-date", "X-Amz-Content-Sha256",
                                    "x-amz-security-token", "Authorization");
  r.headers = {{name, "x"}};
  const auto result = sigv4::sign_headers(r, kS3DocCredentials);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().message ==
        "SigV4: header " + name + " is set by the signer, not by the caller");

  r.headers = {{"Range", "bytes=0-9\r\nX-Injected: 1"}};
  const auto injected = sigv4::sign_headers(r, kS3DocCredentials);
  REQUIRE_FALSE(injected.has_value());
  CHECK(injected.error().message ==
        "SigV4: the value of header Range contains a line break or NUL");

  r.headers.clear();
  r.payload_hash.clear();
  const auto no_hash = sigv4::sign_headers(r, kS3DocCredentials);
  REQUIRE_FALSE(no_hash.has_value());
  CHECK(no_hash.error().message ==
        "SigV4: the payload hash must be 64 lowercase hexadecimal characters or UNSIGNED-PAYLOAD");
}
