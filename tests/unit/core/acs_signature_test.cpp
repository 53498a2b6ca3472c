#include "ferry/core/acs_signature.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"

using namespace ferry;

namespace {

// The vectors produced by the official SDKs themselves (@alicloud/ecs20140526 7.11.6 over
// @alicloud/openapi-core 1.0.8, and @alicloud/pop-core 1.8.0): run
// `NODE_PATH=tests/acs/node_modules node tests/unit/core/acs_vector.js`, which sends a RunCommand
// through each SDK's own client (endpoint "ecs.ferry.test:8443", a fixed clock) and prints what
// it would have put on the wire. The values below are its output, unchanged.
constexpr std::string_view kSdkAccessKeyId = "LTAIferryTESTvector00000";
constexpr std::string_view kSdkSecret = "ferryTESTvectorSecret0000000000";
// Characters that RFC 3986 encoding treats unlike other encoders, and UTF-8.
constexpr std::string_view kSdkContent = "echo 'a b' * ~/x! (y) +z=1&w \xe8\xaf\xb4\xe6\x98\x8e";

// ACS3-HMAC-SHA256, the current SDK's default: every parameter in the query, an empty body.
AcsHeaderMap acs3_headers() {
  return {
      {"host", "ecs.ferry.test:8443"},
      {"x-acs-version", "2014-05-26"},
      {"x-acs-action", "RunCommand"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"x-acs-date", "2024-11-25T23:59:59Z"},
      {"x-acs-signature-nonce", "95fd5ebc28c43e0342378351fbae05297234ee00522e817c21aebfb493a6b35f"},
      {"accept", "application/json"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-credentials-provider", "static_ak"},
      {"authorization",
       "ACS3-HMAC-SHA256 Credential=LTAIferryTESTvector00000,SignedHeaders=host;x-acs-action;"
       "x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;"
       "x-acs-version,Signature=278f36441fd7e2c4a9d9a95565c24c5f674c8e584e78da849f0e08a2602bb05f"},
  };
}

AcsParamList acs3_query() {
  return {
      {"CommandContent", std::string(kSdkContent)},
      {"InstanceId.1", "i-ferry0001"},
      {"InstanceId.2", "i-ferry0002"},
      {"Parameters", "{\"name\":\"v\"}"},
      {"RegionId", "cn-hangzhou"},
      {"Tag.1.Key", "team"},
      {"Tag.1.Value", "ops"},
      {"Timeout", "60"},
      {"Type", "RunShellScript"},
  };
}

// The current SDK with signatureAlgorithm "v2": signature v1 over the query, in the SDK's order.
AcsParamList ecs_v1_query() {
  return {
      {"Action", "RunCommand"},
      {"Format", "json"},
      {"Version", "2014-05-26"},
      {"Timestamp", "2024-11-25T23:59:59Z"},
      {"SignatureNonce", "957062e3b0b9137bdc27d3ad7aaeb4b5e28f07b4445cf996e20b8a26c7dda438"},
      {"CommandContent", std::string(kSdkContent)},
      {"InstanceId.1", "i-ferry0001"},
      {"InstanceId.2", "i-ferry0002"},
      {"Parameters", "{\"name\":\"v\"}"},
      {"RegionId", "cn-hangzhou"},
      {"Tag.1.Key", "team"},
      {"Tag.1.Value", "ops"},
      {"Timeout", "60"},
      {"Type", "RunShellScript"},
      {"SignatureMethod", "HMAC-SHA1"},
      {"SignatureVersion", "1.0"},
      {"AccessKeyId", "LTAIferryTESTvector00000"},
      {"Signature", "8qdVfFxmx4JIv3bIU36VHqX/a5M="},
  };
}

// pop-core: GET with everything in the query, POST with everything in a form body.
constexpr std::string_view kPopGetQuery =
    "AccessKeyId=LTAIferryTESTvector00000&Action=RunCommand&CommandContent=echo%20%27a%20b%27%20%"
    "2A%20~%2Fx%21%20%28y%29%20%2Bz%3D1%26w%20%E8%AF%B4%E6%98%8E&Format=JSON&InstanceId.1=i-"
    "ferry0001&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce="
    "0dfec17e362b5c6af0eb38476c2e9fec&SignatureVersion=1.0&Timestamp=2024-11-25T23%3A59%3A59Z&"
    "Version=2014-05-26&Signature=fX4YFZ6T9o27h2cSuTujXpG6%2FNM%3D";
constexpr std::string_view kPopPostBody =
    "AccessKeyId=LTAIferryTESTvector00000&Action=RunCommand&CommandContent=echo%20%27a%20b%27%20%"
    "2A%20~%2Fx%21%20%28y%29%20%2Bz%3D1%26w%20%E8%AF%B4%E6%98%8E&Format=JSON&InstanceId.1=i-"
    "ferry0001&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce="
    "b1ec7dfb67c0b621e1967075b5aa44ca&SignatureVersion=1.0&Timestamp=2024-11-25T23%3A59%3A59Z&"
    "Version=2014-05-26&Signature=SS0kFSsvfAJDLFq1mHGbrA%2B%2BByM%3D";

Status verify_acs3(const AcsHeaderMap& headers, const AcsParamList& query,
                   std::string_view body = "", std::string_view secret = kSdkSecret) {
  auto auth = parse_acs3_authorization(headers.at("authorization"));
  REQUIRE(auth.has_value());
  return acs3_verify(*auth, secret, headers, "POST", "/", query, body);
}

AcsParamList form_pairs(std::string_view text) {
  auto params = parse_acs_form(text);
  REQUIRE(params.has_value());
  return *params;
}

}  // namespace

TEST_CASE("acs_percent_encode is RFC 3986 with uppercase hex", "[acs]") {
  CHECK(acs_percent_encode("AZaz09-_.~") == "AZaz09-_.~");
  CHECK(acs_percent_encode("a b+c*d/e!'()") == "a%20b%2Bc%2Ad%2Fe%21%27%28%29");
  CHECK(acs_percent_encode("=&%") == "%3D%26%25");
  CHECK(acs_percent_encode("\xe8\xaf\xb4") == "%E8%AF%B4");
  CHECK(acs_percent_encode("") == "");
}

TEST_CASE("parse_acs_form decodes pairs in order and refuses bad escapes", "[acs]") {
  const auto params = form_pairs("b=x%20y+z&a=%E8%AF%B4&&flag&empty=&c=1%3D2");
  REQUIRE(params.size() == 5);
  CHECK(params[0] == AcsParam{"b", "x y z"});
  CHECK(params[1] == AcsParam{"a", "\xe8\xaf\xb4"});
  CHECK(params[2] == AcsParam{"flag", ""});
  CHECK(params[3] == AcsParam{"empty", ""});
  CHECK(params[4] == AcsParam{"c", "1=2"});
  CHECK(form_pairs("").empty());
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "%G0=1", "a=1%"}) {
    INFO(bad);
    auto r = parse_acs_form(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "InvalidParameter");
  }
}

TEST_CASE("acs_canonical_query sorts the encoded pairs", "[acs]") {
  CHECK(acs_canonical_query({{"b", "2"}, {"a", "x y"}, {"A", "*"}}) == "A=%2A&a=x%20y&b=2");
  CHECK(acs_canonical_query({}) == "");
}

TEST_CASE("parse_acs3_authorization reads the three fields and refuses malformed ones", "[acs]") {
  auto auth = parse_acs3_authorization("ACS3-HMAC-SHA256 Signature=" + std::string(64, 'a') +
                                       ", Credential=AK1,SignedHeaders=host;x-acs-date");
  REQUIRE(auth.has_value());
  CHECK(auth->access_key_id == "AK1");
  CHECK(auth->signed_headers == "host;x-acs-date");
  CHECK(auth->signed_header_names == std::vector<std::string>{"host", "x-acs-date"});
  const std::string sig(64, 'a');
  const std::vector<std::string> malformed = {
      std::string("ACS3-HMAC-SM3 Credential=AK,SignedHeaders=host,Signature=") + sig,
      "ACS3-HMAC-SHA256",
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host",
      "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=" + sig,
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=Host,Signature=" + sig,
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;;a,Signature=" + sig,
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=" + std::string(64, 'A'),
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=abc",
      "ACS3-HMAC-SHA256 Credential=AK,Credential=B,SignedHeaders=host,Signature=" + sig,
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=" + sig + ",Extra=1"};
  for (const std::string& bad : malformed) {
    INFO(bad);
    auto r = parse_acs3_authorization(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == "IncompleteSignature");
  }
}

TEST_CASE("ACS3: the official SDK's request verifies, and any change to it does not", "[acs]") {
  const auto auth = parse_acs3_authorization(acs3_headers().at("authorization"));
  REQUIRE(auth.has_value());
  CHECK(auth->access_key_id == kSdkAccessKeyId);
  CHECK(verify_acs3(acs3_headers(), acs3_query()));
  // The query's order on the wire does not matter.
  const AcsParamList in_order = acs3_query();
  const AcsParamList reversed(in_order.rbegin(), in_order.rend());
  CHECK(verify_acs3(acs3_headers(), reversed));

  auto check_refused = [](const Status& s, const char* code) {
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == code);
    CHECK(s.error().message.find("278f3644") == std::string::npos);
  };
  check_refused(verify_acs3(acs3_headers(), acs3_query(), "", "wrong secret"),
                "SignatureDoesNotMatch");
  auto query = acs3_query();
  query[0].second += " ";
  check_refused(verify_acs3(acs3_headers(), query), "SignatureDoesNotMatch");
  query = acs3_query();
  query.emplace_back("Extra", "1");
  check_refused(verify_acs3(acs3_headers(), query), "SignatureDoesNotMatch");
  auto headers = acs3_headers();
  headers["x-acs-action"] = "StopInvocation";
  check_refused(verify_acs3(headers, acs3_query()), "SignatureDoesNotMatch");
  headers = acs3_headers();
  headers["host"] = "other:8443";
  check_refused(verify_acs3(headers, acs3_query()), "SignatureDoesNotMatch");
  headers = acs3_headers();
  headers.erase("x-acs-date");
  check_refused(verify_acs3(headers, acs3_query()), "IncompleteSignature");
  // A body that is not the one hashed: refused by the hash header, and by the signature too.
  check_refused(verify_acs3(acs3_headers(), acs3_query(), "x=1"), "SignatureDoesNotMatch");
  // Headers not signed may change.
  headers = acs3_headers();
  headers["user-agent"] = "something else";
  headers["accept"] = "*/*";
  CHECK(verify_acs3(headers, acs3_query()));
  // Surrounding blanks of a signed value are not signed.
  headers = acs3_headers();
  headers["x-acs-date"] = "  2024-11-25T23:59:59Z\t";
  CHECK(verify_acs3(headers, acs3_query()));
}

TEST_CASE("ACS3: a request signed here verifies, with a body", "[acs]") {
  const std::string body = "Name=a%20b";
  AcsHeaderMap headers = {{"host", "127.0.0.1:1"},
                          {"x-acs-action", "Echo"},
                          {"x-acs-content-sha256", sha256_hex(body)},
                          {"content-type", "application/x-www-form-urlencoded"}};
  const std::string signed_headers = "content-type;host;x-acs-action;x-acs-content-sha256";
  const AcsParamList query = {{"RegionId", "r"}};
  const AcsParamList lines = {{"content-type", headers["content-type"]},
                              {"host", headers["host"]},
                              {"x-acs-action", headers["x-acs-action"]},
                              {"x-acs-content-sha256", headers["x-acs-content-sha256"]}};
  const std::string canonical = acs3_canonical_request("POST", "/", acs_canonical_query(query),
                                                       lines, signed_headers, sha256_hex(body));
  CHECK(canonical ==
        "POST\n/\nRegionId=r\ncontent-type:application/x-www-form-urlencoded\nhost:127.0.0.1:"
        "1\nx-acs-action:Echo\nx-acs-content-sha256:" +
            sha256_hex(body) + "\n\n" + signed_headers + "\n" + sha256_hex(body));
  headers["authorization"] = "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=" + signed_headers +
                             ",Signature=" + acs3_signature("s", acs3_string_to_sign(canonical));
  auto auth = parse_acs3_authorization(headers["authorization"]);
  REQUIRE(auth.has_value());
  CHECK(acs3_verify(*auth, "s", headers, "POST", "/", query, body));
  CHECK_FALSE(acs3_verify(*auth, "s", headers, "POST", "/", query, "Name=other"));
  CHECK_FALSE(acs3_verify(*auth, "s", headers, "GET", "/", query, body));
}

TEST_CASE("v1: the official SDKs' requests verify, and any change to them does not", "[acs]") {
  CHECK(acs_v1_verify("POST", ecs_v1_query(), kSdkSecret));
  CHECK(acs_v1_verify("GET", form_pairs(kPopGetQuery), kSdkSecret));
  CHECK(acs_v1_verify("POST", form_pairs(kPopPostBody), kSdkSecret));

  const auto refused = [](const Status& s) {
    REQUIRE_FALSE(s.has_value());
    return s.error().code;
  };
  CHECK(refused(acs_v1_verify("GET", form_pairs(kPopPostBody), kSdkSecret)) ==
        "SignatureDoesNotMatch");
  CHECK(refused(acs_v1_verify("POST", ecs_v1_query(), "wrong")) == "SignatureDoesNotMatch");
  auto params = ecs_v1_query();
  params[5].second = "echo changed";
  CHECK(refused(acs_v1_verify("POST", params, kSdkSecret)) == "SignatureDoesNotMatch");
  params = ecs_v1_query();
  params.emplace_back("InstanceId.3", "i-ferry0003");
  CHECK(refused(acs_v1_verify("POST", params, kSdkSecret)) == "SignatureDoesNotMatch");
  params = ecs_v1_query();
  params.pop_back();
  CHECK(refused(acs_v1_verify("POST", params, kSdkSecret)) == "IncompleteSignature");
  params = ecs_v1_query();
  params.push_back(params.back());
  CHECK(refused(acs_v1_verify("POST", params, kSdkSecret)) == "IncompleteSignature");
}

TEST_CASE("v1: the string to sign is METHOD&%2F&encode(canonical query)", "[acs]") {
  const AcsParamList params = {{"b", "x y"}, {"a", "1"}};
  CHECK(acs_v1_string_to_sign("GET", params) == "GET&%2F&a%3D1%26b%3Dx%2520y");
  // Alibaba's own documented example of an HMAC-SHA1 key: the secret followed by '&'.
  CHECK(acs_v1_signature("testsecret", "GET&%2F&a%3D1") ==
        base64_encode(hmac_sha1("testsecret&", "GET&%2F&a%3D1")));
}

TEST_CASE("acs3_sign reproduces the official SDK's Authorization", "[acs]") {
  Acs3Request req;
  req.query = acs3_query();
  req.host = "ecs.ferry.test:8443";
  req.action = "RunCommand";
  req.version = "2014-05-26";
  req.date = acs_date(1732579199);
  req.nonce = "95fd5ebc28c43e0342378351fbae05297234ee00522e817c21aebfb493a6b35f";
  req.extra_headers = {{"x-acs-credentials-provider", "static_ak"}};
  CHECK(req.date == "2024-11-25T23:59:59Z");
  const auto signed_req = acs3_sign(req, kSdkAccessKeyId, kSdkSecret);
  CHECK(signed_req.authorization == acs3_headers().at("authorization"));

  // Every header the SDK sends and signs, with the SDK's values, Authorization among them.
  AcsHeaderMap sent;
  for (const auto& [name, value] : signed_req.headers) {
    CHECK(sent.emplace(name, value).second);
  }
  for (const char* name :
       {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
        "x-acs-content-sha256", "x-acs-credentials-provider", "authorization"}) {
    INFO(name);
    REQUIRE(sent.count(name) == 1);
    CHECK(sent.at(name) == acs3_headers().at(name));
  }
  CHECK(sent.size() == 8);
  CHECK(std::is_sorted(signed_req.headers.begin(), signed_req.headers.end()));
  CHECK(verify_acs3(sent, acs3_query()));

  // Another secret, parameter or nonce: another signature.
  CHECK(acs3_sign(req, kSdkAccessKeyId, "other").authorization != signed_req.authorization);
  req.query.emplace_back("Extra", "1");
  CHECK(acs3_sign(req, kSdkAccessKeyId, kSdkSecret).authorization != signed_req.authorization);
}

TEST_CASE("acs3_sign: a request with a body verifies, without extra headers", "[acs]") {
  Acs3Request req;
  req.query = {{"RegionId", "r"}, {"Frequency", "0/10 * * * * ?"}};
  req.body = "x=1";
  req.host = "127.0.0.1:8080";
  req.action = "StopInvocation";
  req.version = "2014-05-26";
  req.date = acs_date(0);
  req.nonce = "n1";
  const auto signed_req = acs3_sign(req, "AK", "s");
  CHECK(req.date == "1970-01-01T00:00:00Z");
  CHECK(signed_req.authorization.starts_with(
      "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
      "x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="));
  const AcsHeaderMap sent(signed_req.headers.begin(), signed_req.headers.end());
  CHECK(sent.at("x-acs-content-sha256") == sha256_hex("x=1"));
  // What the server decodes from the URL is what was signed.
  const std::string url_query = acs_query_string(req.query);
  CHECK(url_query == "RegionId=r&Frequency=0%2F10%20%2A%20%2A%20%2A%20%2A%20%3F");
  CHECK(verify_acs3(sent, form_pairs(url_query), "x=1", "s"));
  CHECK_FALSE(verify_acs3(sent, form_pairs(url_query), "", "s"));
  CHECK_FALSE(verify_acs3(sent, form_pairs(url_query), "x=1", "t"));
}
