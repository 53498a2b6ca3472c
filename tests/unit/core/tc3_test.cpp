#include "ferry/core/tc3.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ferry/core/crypto.hpp"
#include "hex.hpp"

using namespace ferry;
using ferry::test::hex_decode;

namespace {

// Lowercases the names, as an HTTP server hands headers to tc3_verify.
Tc3HeaderMap received_headers(const ferry::Tc3SignedRequest& signed_request) {
  Tc3HeaderMap map;
  for (const auto& [name, value] : signed_request.headers) {
    std::string lower = name;
    for (char& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    map[lower] = value;
  }
  return map;
}

ferry::Status verify_received(const Tc3HeaderMap& headers, std::string_view secret_key,
                              std::string_view body, std::int64_t timestamp,
                              std::string_view method = "POST", std::string_view query = "") {
  const auto auth = parse_tc3_authorization(headers.at("authorization"));
  REQUIRE(auth.has_value());
  return tc3_verify(*auth, secret_key, headers, body, method, "/", query, timestamp);
}

// The worked example of Tencent Cloud's "Signature v3" document (DescribeInstances on cvm).
// The body keeps its JSON escapes as literal characters: those are the bytes that were signed.
constexpr std::string_view kDocBody =
    R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";
constexpr std::int64_t kDocTimestamp = 1551113065;

// The vector produced by the official tencentcloud-sdk-nodejs 4.1.313 itself: run
// `NODE_PATH=<dir>/node_modules node tests/unit/core/tc3_vector.js`, which sends a RunCommand
// through the SDK's TatClient (endpoint "tat.ferry.test:8443", a fixed clock) and prints what
// the SDK would have put on the wire. The values below are its output, unchanged.
constexpr std::string_view kSdkSecretId = "AKIDferryTESTvector0000000000000000";
constexpr std::string_view kSdkSecretKey = "ferryTESTvectorSecretKey00000000";
constexpr std::int64_t kSdkTimestamp = 1732579199;  // 2024-11-25T23:59:59Z
constexpr std::string_view kSdkHost = "tat.ferry.test:8443";
constexpr std::string_view kSdkBody =
    "{\"Content\":\"ZWNobyBoZWxsbw==\",\"InstanceIds\":[\"ins-12345678\"],"
    "\"Description\":\"\xe8\xaf\xb4\xe6\x98\x8e\",\"Timeout\":60}";
constexpr std::string_view kSdkAuthorization =
    "TC3-HMAC-SHA256 Credential=AKIDferryTESTvector0000000000000000/2024-11-25/tat/tc3_request, "
    "SignedHeaders=content-type;host, "
    "Signature=7a2f0a91a2f1df5d5fd75ae962ccc67924d4974e1f8ff709fb2db14f751ebfd8";

Tc3HeaderMap sdk_headers() {
  return {
      {"authorization", std::string(kSdkAuthorization)},
      {"content-type", "application/json"},
      {"host", std::string(kSdkHost)},
      {"x-tc-action", "RunCommand"},
      {"x-tc-region", "ap-guangzhou"},
      {"x-tc-timestamp", std::to_string(kSdkTimestamp)},
      {"x-tc-version", "2020-10-28"},
  };
}

Tc3Request ferry_request() {
  Tc3Request r;
  r.host = "localhost:8443";
  r.service = "tat";
  r.action = "DescribeCommands";
  r.version = "2020-10-28";
  r.region = "ap-guangzhou";
  r.body = R"({"Limit":1})";
  r.timestamp = 1764083901;
  return r;
}

const Tc3Credentials kCredentials{"AKIDferry", "ferry-secret-key"};

}  // namespace

TEST_CASE("tc3_date is the UTC date of the timestamp", "[tc3]") {
  CHECK(tc3_date(0) == "1970-01-01");
  CHECK(tc3_date(kDocTimestamp) == "2019-02-25");
  CHECK(tc3_date(1732579199) == "2024-11-25");
  CHECK(tc3_date(1732579200) == "2024-11-26");
  CHECK(tc3_date(951782400) == "2000-02-29");
}

TEST_CASE("the canonical request and signature match the document's worked example", "[tc3]") {
  CHECK(ferry::sha256_hex(kDocBody) ==
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  const std::string canonical =
      tc3_canonical_request("POST", "/", "",
                            {{"content-type", "application/json; charset=utf-8"},
                             {"host", "cvm.tencentcloudapi.com"},
                             {"x-tc-action", "describeinstances"}},
                            "content-type;host;x-tc-action", kDocBody);
  CHECK(canonical ==
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
        "x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  CHECK(ferry::sha256_hex(canonical) ==
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
  const std::string string_to_sign =
      tc3_string_to_sign(kDocTimestamp, "2019-02-25", "cvm", canonical);
  CHECK(string_to_sign ==
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
  // The document masks its SecretKey but prints the derived SecretSigning and the signature.
  const std::string published_signing_key =
      hex_decode("b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af");
  CHECK(ferry::hex_encode(ferry::hmac_sha256(published_signing_key, string_to_sign)) ==
        "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f");
}

TEST_CASE("the earlier edition of the document's example signs end to end", "[tc3]") {
  // That edition signed content-type;host only and used the masked key literally, so every
  // step from the key to the final signature is checked.
  const std::string_view key = "Gu5t9xGARNpq86cd98joQYCN3*******";
  CHECK(ferry::hex_encode(tc3_signing_key(key, "2019-02-25", "cvm")).size() == 64);
  const std::string canonical = tc3_canonical_request(
      "POST", "/", "",
      {{"content-type", "application/json; charset=utf-8"}, {"host", "cvm.tencentcloudapi.com"}},
      "content-type;host", kDocBody);
  const std::string string_to_sign =
      tc3_string_to_sign(kDocTimestamp, "2019-02-25", "cvm", canonical);
  CHECK(string_to_sign ==
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  CHECK(tc3_signature(key, "2019-02-25", "cvm", string_to_sign) ==
        "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c");

  Tc3Request r;
  r.content_type = "application/json; charset=utf-8";
  r.host = "cvm.tencentcloudapi.com";
  r.action = "DescribeInstances";
  r.version = "2017-03-12";
  r.region = "ap-guangzhou";
  r.body = std::string(kDocBody);
  r.timestamp = kDocTimestamp;
  r.sign_action = false;
  const auto signed_request =
      tc3_sign_headers(r, {"AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", std::string(key)});
  CHECK(signed_request.authorization ==
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c");
  CHECK(verify_received(received_headers(signed_request), key, kDocBody, kDocTimestamp));
}

TEST_CASE("a request signed by the official Node SDK verifies", "[tc3]") {
  const auto headers = sdk_headers();
  const auto auth = parse_tc3_authorization(kSdkAuthorization);
  REQUIRE(auth.has_value());
  CHECK(auth->secret_id == kSdkSecretId);
  CHECK(auth->service == "tat");
  CHECK(tc3_verify(*auth, kSdkSecretKey, headers, kSdkBody, "POST", "/", "", kSdkTimestamp));

  SECTION("the SDK signed the host without its port") {
    Tc3Request r;
    r.host = std::string(kSdkHost);
    r.action = "RunCommand";
    r.version = "2020-10-28";
    r.region = "ap-guangzhou";
    r.body = std::string(kSdkBody);
    r.timestamp = kSdkTimestamp;
    r.sign_action = false;
    r.host_signing = Tc3HostSigning::kWithoutPort;
    const auto ours = tc3_sign_headers(r, {std::string(kSdkSecretId), std::string(kSdkSecretKey)});
    CHECK(ours.authorization == kSdkAuthorization);
    r.host_signing = Tc3HostSigning::kAsSent;
    CHECK(tc3_sign_headers(r, {std::string(kSdkSecretId), std::string(kSdkSecretKey)})
              .authorization != kSdkAuthorization);
  }
  SECTION("any change to what the SDK signed is refused") {
    auto changed = headers;
    std::string body(kSdkBody);
    std::int64_t timestamp = kSdkTimestamp;
    std::string key(kSdkSecretKey);
    SECTION("host") {
      changed["host"] = "tbt.ferry.test:8443";
    }
    SECTION("content type") {
      changed["content-type"] = "application/json; charset=utf-8";
    }
    SECTION("body") {
      body[body.size() - 3] = '7';
    }
    SECTION("timestamp, same day") {
      timestamp -= 1;
    }
    SECTION("key") {
      key.back() = '1';
    }
    const auto status = tc3_verify(*auth, key, changed, body, "POST", "/", "", timestamp);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == auth_codes::kSignatureFailure);
    CHECK(status.error().message == "the request signature does not match");
  }
}

TEST_CASE("a request signed by tc3_sign_headers verifies", "[tc3]") {
  const Tc3Request r = ferry_request();
  const auto signed_request = tc3_sign_headers(r, kCredentials);
  CHECK(signed_request.authorization.starts_with(
      "TC3-HMAC-SHA256 Credential=AKIDferry/2025-11-25/tat/tc3_request, "
      "SignedHeaders=content-type;host;x-tc-action, Signature="));
  const auto headers = received_headers(signed_request);
  CHECK(headers.at("host") == "localhost:8443");
  CHECK(headers.at("content-type") == "application/json");
  CHECK(headers.at("x-tc-action") == "DescribeCommands");
  CHECK(headers.at("x-tc-timestamp") == "1764083901");
  CHECK(headers.at("x-tc-version") == "2020-10-28");
  CHECK(headers.at("x-tc-region") == "ap-guangzhou");
  CHECK(verify_received(headers, kCredentials.secret_key, r.body, r.timestamp));
}

TEST_CASE("any change to a signed request is refused", "[tc3]") {
  const Tc3Request r = ferry_request();
  auto headers = received_headers(tc3_sign_headers(r, kCredentials));
  std::string body = r.body;
  std::string key = kCredentials.secret_key;
  std::string method = "POST";
  std::string query;
  std::int64_t timestamp = r.timestamp;
  std::string expected_message = "the request signature does not match";

  SECTION("body") {
    body = R"({"Limit":2})";
  }
  SECTION("action") {
    headers["x-tc-action"] = "DeleteCommand";
  }
  SECTION("timestamp, same day") {
    timestamp += 1;
  }
  SECTION("timestamp, next day") {
    timestamp += 86400;
    expected_message =
        "the Credential date 2025-11-25 is not the UTC date of X-TC-Timestamp (2025-11-26)";
  }
  SECTION("host") {
    headers["host"] = "localhost:8444";
  }
  SECTION("host without the port it was signed with") {
    headers["host"] = "localhost";
  }
  SECTION("key") {
    key = "ferry-secret-kez";
  }
  SECTION("method") {
    method = "GET";
  }
  SECTION("query") {
    query = "Limit=2";
  }
  SECTION("a signed header is missing") {
    headers.erase("x-tc-action");
    expected_message = "signed header x-tc-action is missing from the request";
  }
  const auto status = verify_received(headers, key, body, timestamp, method, query);
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == auth_codes::kSignatureFailure);
  CHECK(status.error().message == expected_message);
}

TEST_CASE("the host may be signed with or without its port", "[tc3]") {
  Tc3Request r = ferry_request();
  SECTION("name:port, signed as sent") {
    r.host_signing = Tc3HostSigning::kAsSent;
  }
  SECTION("name:port, signed without the port") {
    r.host_signing = Tc3HostSigning::kWithoutPort;
  }
  SECTION("IPv6 literal, signed without the port") {
    r.host = "[::1]:8443";
    r.host_signing = Tc3HostSigning::kWithoutPort;
  }
  SECTION("IPv6 literal, signed as sent") {
    r.host = "[::1]:8443";
    r.host_signing = Tc3HostSigning::kAsSent;
  }
  SECTION("no port at all") {
    r.host = "tat.tencentcloudapi.com";
  }
  const auto headers = received_headers(tc3_sign_headers(r, kCredentials));
  CHECK(headers.at("host") == r.host);
  CHECK(verify_received(headers, kCredentials.secret_key, r.body, r.timestamp));
}

TEST_CASE("header values are accepted lowercased as the document says or as sent", "[tc3]") {
  // A client that, like tencentcloud-sdk-nodejs, copies the Content-Type value verbatim signs
  // "Application/JSON"; one that follows the document signs "application/json".
  const std::int64_t ts = 1764083901;
  const std::string body = "{}";
  Tc3HeaderMap headers = {
      {"content-type", "  Application/JSON "},
      {"host", "Tat.Ferry.Test:8443"},
      {"x-tc-action", "RunCommand"},
  };
  const auto sign_with = [&](const std::string& ct, const std::string& host,
                             const std::string& action) {
    const std::string canonical = tc3_canonical_request(
        "POST", "/", "", {{"content-type", ct}, {"host", host}, {"x-tc-action", action}},
        "content-type;host;x-tc-action", body);
    const std::string sig = tc3_signature(kCredentials.secret_key, "2025-11-25", "tat",
                                          tc3_string_to_sign(ts, "2025-11-25", "tat", canonical));
    return "TC3-HMAC-SHA256 Credential=AKIDferry/2025-11-25/tat/tc3_request, "
           "SignedHeaders=content-type;host;x-tc-action, Signature=" +
           sig;
  };
  SECTION("as sent or lowercased, the host with or without its port") {
    const auto [ct, host, action] = GENERATE(table<std::string, std::string, std::string>({
        {"Application/JSON", "Tat.Ferry.Test:8443", "RunCommand"},
        {"Application/JSON", "Tat.Ferry.Test", "RunCommand"},
        {"application/json", "tat.ferry.test:8443", "runcommand"},
        {"application/json", "tat.ferry.test", "runcommand"},
    }));
    CAPTURE(ct, host, action);
    headers["authorization"] = sign_with(ct, host, action);
    CHECK(verify_received(headers, kCredentials.secret_key, body, ts));
  }
  SECTION("a mix of both is not a form any client produces") {
    headers["authorization"] = sign_with("application/json", "Tat.Ferry.Test:8443", "RunCommand");
    const auto status = verify_received(headers, kCredentials.secret_key, body, ts);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == auth_codes::kSignatureFailure);
  }
}

TEST_CASE("parse_tc3_authorization reads the three fields", "[tc3]") {
  const std::string sig(64, 'a');
  SECTION("as the SDKs write it") {
    const auto auth = parse_tc3_authorization(
        "TC3-HMAC-SHA256 Credential=AKIDx/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host;x-tc-action, Signature=" +
        sig);
    REQUIRE(auth.has_value());
    CHECK(auth->secret_id == "AKIDx");
    CHECK(auth->date == "2019-02-25");
    CHECK(auth->service == "cvm");
    CHECK(auth->signed_headers == "content-type;host;x-tc-action");
    CHECK(auth->signed_header_names ==
          std::vector<std::string>{"content-type", "host", "x-tc-action"});
    CHECK(auth->signature == sig);
  }
  SECTION("without spaces, in another order, with an uppercase signature") {
    const auto auth = parse_tc3_authorization(
        "  TC3-HMAC-SHA256  Signature=" + std::string(64, 'A') +
        ",SignedHeaders=content-type;host ,\tCredential=id/2024-01-31/tat/tc3_request ");
    REQUIRE(auth.has_value());
    CHECK(auth->secret_id == "id");
    CHECK(auth->service == "tat");
    CHECK(auth->signed_header_names == std::vector<std::string>{"content-type", "host"});
    CHECK(auth->signature == sig);
  }
}

TEST_CASE("parse_tc3_authorization refuses malformed headers", "[tc3]") {
  const std::string sig = "Signature=" + std::string(64, '0');
  const std::string sh = "SignedHeaders=content-type;host";
  const std::string cred = "Credential=id/2024-01-31/tat/tc3_request";
  // The algorithm and three fields; each row below spoils one part of a good header.
  const auto with = [&](const std::string& c, const std::string& h, const std::string& s) {
    return "TC3-HMAC-SHA256 " + c + ", " + h + ", " + s;
  };
  const std::string bad_credential =
      "Credential must be <SecretId>/<YYYY-MM-DD>/<service>/tc3_request";
  const std::string bad_signed_headers =
      "SignedHeaders must be lowercase header names separated by ';'";
  const std::string bad_signature = "Signature must be 64 hexadecimal characters";
  const auto [header, message] = GENERATE_COPY(table<std::string, std::string>({
      {"", "the algorithm must be TC3-HMAC-SHA256"},
      {"TC3-HMAC-SHA1 " + cred + ", " + sh + ", " + sig, "the algorithm must be TC3-HMAC-SHA256"},
      {"TC3-HMAC-SHA256" + cred + ", " + sh + ", " + sig, "the algorithm must be TC3-HMAC-SHA256"},
      {"TC3-HMAC-SHA256 " + cred + ", " + sh,
       "Credential, SignedHeaders and Signature are required"},
      {with(cred, sh, sig + ", " + sig), "Signature appears twice"},
      {with(cred, sh, sig + ", Region=x"), "unknown field Region"},
      {"TC3-HMAC-SHA256 " + cred + " " + sh + ", " + sig,
       "Credential contains a space; fields are separated by ','"},
      {with("Credential=id/2024-01-31/tat", sh, sig), bad_credential},
      {with("Credential=/2024-01-31/tat/tc3_request", sh, sig), bad_credential},
      {with("Credential=id/20240131/tat/tc3_request", sh, sig),
       "the Credential date must be YYYY-MM-DD"},
      {with("Credential=id/2024-01-31/tat/aws4_request", sh, sig),
       "the Credential scope must end with tc3_request"},
      {with(cred, "SignedHeaders=content-type", sig), "SignedHeaders must include host"},
      {with(cred, "SignedHeaders=host", sig), "SignedHeaders must include content-type"},
      {with(cred, "SignedHeaders=Content-Type;Host", sig), bad_signed_headers},
      {with(cred, "SignedHeaders=content-type;;host", sig), bad_signed_headers},
      {with(cred, "SignedHeaders=content-type;host;host", sig), "SignedHeaders names host twice"},
      {with(cred, sh, "Signature=abc"), bad_signature},
      {with(cred, sh, "Signature=" + std::string(64, 'g')), bad_signature},
      {with(cred, sh, "Signature"), "expected Credential=..., SignedHeaders=..., Signature=..."},
  }));
  CAPTURE(header);
  const auto auth = parse_tc3_authorization(header);
  REQUIRE_FALSE(auth.has_value());
  CHECK(auth.error().code == auth_codes::kSignatureFailure);
  CHECK(auth.error().message == "Authorization: " + message);
}

TEST_CASE("tc3_verify refuses a timestamp the date cannot be computed for", "[tc3]") {
  const Tc3Request r = ferry_request();
  const auto headers = received_headers(tc3_sign_headers(r, kCredentials));
  for (const std::int64_t ts : {std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()}) {
    const auto status = verify_received(headers, kCredentials.secret_key, r.body, ts);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == auth_codes::kSignatureFailure);
    CHECK(status.error().message == "X-TC-Timestamp is out of range");
  }
}

TEST_CASE("check_timestamp allows five minutes either way", "[tc3]") {
  const std::int64_t now = 1764083901;
  CHECK(check_timestamp(now, now));
  CHECK(check_timestamp(now - 300, now));
  CHECK(check_timestamp(now + 300, now));
  for (const std::int64_t ts :
       {now - 301, now + 301, std::int64_t{0}, std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::int64_t>::max()}) {
    CAPTURE(ts);
    const auto status = check_timestamp(ts, now);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == auth_codes::kSignatureExpire);
  }
  const auto late = check_timestamp(now - 301, now);
  REQUIRE_FALSE(late.has_value());
  CHECK(late.error().message ==
        "X-TC-Timestamp 1764083600 is 301 s away from the server clock (at most 300 s allowed)");
  CHECK(check_timestamp(now + 10, now, 10));
  CHECK_FALSE(check_timestamp(now + 11, now, 10));
}
