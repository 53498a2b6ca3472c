#include "ferry/server/cos/presigner.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/sigv4.hpp"

using namespace ferry;
using namespace ferry::server::cos;

namespace {

// The Amazon S3 API Reference's presign example ("Authenticating Requests: Using Query
// Parameters"): GET test.txt of examplebucket, 2013-05-24T00:00:00Z, us-east-1, one day.
const sigv4::Credentials kDocCredentials{"AKIAIOSFODNN7EXAMPLE",
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr std::int64_t kDocTime = 1369353600;
constexpr std::string_view kDocSignature =
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

constexpr std::int64_t kNow = 1764072000;  // 2025-11-25T12:00:00Z
const std::string kKey = "out/inv-12345678/invt-12345678.log";
const sigv4::Credentials kStore{"AKIDferrystore", "ferry-store-secret", ""};
const sigv4::Credentials kStoreWithToken{"AKIDferrystore", "ferry-store-secret",
                                         "ferry/session+token=="};

BucketUrl bucket(const std::string& url) {
  auto b = parse_configured_bucket_url(url);
  REQUIRE(b.has_value());
  return *b;
}

PresignedRequest ok(const Expected<PresignedRequest>& r) {
  REQUIRE(r.has_value());
  return *r;
}

std::string signature_of(const std::string& url) {
  const auto at = url.rfind("&X-Amz-Signature=");
  REQUIRE(at != std::string::npos);
  return url.substr(at + std::string_view("&X-Amz-Signature=").size());
}

// The query of a URL without its signature.
std::string query_of(const std::string& url) {
  const auto q = url.find('?');
  REQUIRE(q != std::string::npos);
  return url.substr(q + 1, url.rfind("&X-Amz-Signature=") - q - 1);
}

std::string path_of(const std::string& url) {
  const auto start = url.find('/', url.find("://") + 3);
  return url.substr(start, url.find('?') - start);
}

}  // namespace

TEST_CASE("the S3 documentation's presigned GET through the presigner", "[cos][presign]") {
  const Presigner p(bucket("https://examplebucket.s3.amazonaws.com"),
                    {kDocCredentials, "us-east-1"});
  const auto r = ok(p.get_object("test.txt", kDocTime, 86400));
  CHECK(r.method == "GET");
  CHECK(r.url ==
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
        "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
        "X-Amz-Signature=" +
            std::string(kDocSignature));
}

TEST_CASE("a presigned PUT is what sigv4::presign_url signs", "[cos][presign]") {
  const auto direct = [](const std::string& host, const std::string& path,
                         const std::string& region, const sigv4::Credentials& c) {
    sigv4::PresignRequest r;
    r.method = "PUT";
    r.host = host;
    r.path = path;
    r.region = region;
    r.timestamp = kDocTime;
    r.expires_seconds = 86400;
    auto url = sigv4::presign_url(r, c);
    REQUIRE(url.has_value());
    return *url;
  };
  SECTION("virtual-hosted: the bucket's host, /key") {
    const Presigner p(bucket("https://examplebucket.s3.amazonaws.com"),
                      {kDocCredentials, "us-east-1"});
    const auto r = ok(p.put_object("test.txt", kDocTime, 86400));
    CHECK(r.method == "PUT");
    CHECK(r.url ==
          direct("examplebucket.s3.amazonaws.com", "/test.txt", "us-east-1", kDocCredentials));
    // Not the GET's signature: the method is signed.
    CHECK(signature_of(r.url) != kDocSignature);
  }
  SECTION("path-style: the endpoint's host, /bucket/key, the key encoded") {
    const Presigner p(bucket("https://s3.example.internal:9000/bucket"), {kStore, "us-east-1"});
    const auto r = ok(p.put_object("out/a b+c.log", kNow, 900));
    CHECK(path_of(r.url) == "/bucket/out/a%20b%2Bc.log");
    sigv4::PresignRequest d;
    d.method = "PUT";
    d.host = "s3.example.internal:9000";
    d.path = "/bucket/out/a%20b%2Bc.log";
    d.region = "us-east-1";
    d.timestamp = kNow;
    d.expires_seconds = 900;
    auto url = sigv4::presign_url(d, kStore);
    REQUIRE(url.has_value());
    CHECK(r.url == *url);
    CHECK(r.url.rfind("https://s3.example.internal:9000/bucket/out/", 0) == 0);
  }
  SECTION("COS: the region its host names") {
    const Presigner p(bucket("https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com"),
                      {kStore, "us-east-1"});
    CHECK(p.region() == "ap-beijing");
    const auto r = ok(p.put_object(kKey, kDocTime, 86400));
    CHECK(r.url == direct("examplebucket-1250000000.cos.ap-beijing.myqcloud.com", "/" + kKey,
                          "ap-beijing", kStore));
    CHECK_THAT(r.url, Catch::Contains("%2Fap-beijing%2Fs3%2Faws4_request"));
    CHECK(path_of(r.url) == "/" + kKey);
  }
}

TEST_CASE("multipart URLs: method and parameters", "[cos][presign]") {
  const Presigner p(bucket("https://s3.example.internal:9000/bucket"), {kStore, "us-east-1"});
  const std::string auth =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDferrystore%2F20251125%2Fus-east-1%"
      "2Fs3%"
      "2Faws4_request&X-Amz-Date=20251125T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host";

  auto r = ok(p.create_multipart_upload(kKey, kNow, 900));
  CHECK(r.method == "POST");
  CHECK(path_of(r.url) == "/bucket/" + kKey);
  CHECK(query_of(r.url) == auth + "&uploads=");

  r = ok(p.upload_part(kKey, "VXBsb2FkIElE.ZXhh/bXBsZQ==", 3, kNow, 900));
  CHECK(r.method == "PUT");
  CHECK(query_of(r.url) == auth + "&partNumber=3&uploadId=VXBsb2FkIElE.ZXhh%2FbXBsZQ%3D%3D");
  CHECK(ok(p.upload_part(kKey, "u", 1, kNow, 900)).url !=
        ok(p.upload_part(kKey, "u", 2, kNow, 900)).url);
  CHECK(p.upload_part(kKey, "u", 10000, kNow, 900).has_value());
  for (const int bad : {0, -1, 10001}) {
    auto e = p.upload_part(kKey, "u", bad, kNow, 900);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == "InvalidParameterValue");
  }
  CHECK_FALSE(p.upload_part(kKey, "", 1, kNow, 900).has_value());

  r = ok(p.complete_multipart_upload(kKey, "U1", kNow, 900));
  CHECK(r.method == "POST");
  CHECK(query_of(r.url) == auth + "&uploadId=U1");

  r = ok(p.abort_multipart_upload(kKey, "U1", kNow, 900));
  CHECK(r.method == "DELETE");
  CHECK(query_of(r.url) == auth + "&uploadId=U1");
  // The method is signed: complete and abort differ only by it.
  CHECK(signature_of(r.url) !=
        signature_of(ok(p.complete_multipart_upload(kKey, "U1", kNow, 900)).url));

  CHECK_FALSE(p.complete_multipart_upload(kKey, "", kNow, 900).has_value());
  CHECK_FALSE(p.abort_multipart_upload(kKey, "a\nb", kNow, 900).has_value());
  CHECK_FALSE(p.put_object("", kNow, 900).has_value());
  CHECK_FALSE(p.put_object(kKey, kNow, 0).has_value());
  CHECK_FALSE(p.put_object(kKey, kNow, 604801).has_value());
}

TEST_CASE("a session token is carried and signed", "[cos][presign]") {
  const Presigner with(bucket("https://s3.example.internal:9000/bucket"),
                       {kStoreWithToken, "us-east-1"});
  const Presigner without(bucket("https://s3.example.internal:9000/bucket"), {kStore, "us-east-1"});
  const auto r = ok(with.put_object(kKey, kNow, 900));
  CHECK_THAT(r.url, Catch::Contains("&X-Amz-Security-Token=ferry%2Fsession%2Btoken%3D%3D&"));
  CHECK(signature_of(r.url) != signature_of(ok(without.put_object(kKey, kNow, 900)).url));
  CHECK_THAT(ok(without.put_object(kKey, kNow, 900)).url, !Catch::Contains("X-Amz-Security-Token"));
}

TEST_CASE("a bucket with no region is not signed", "[cos][presign]") {
  const Presigner p(bucket("https://s3.example.internal:9000/bucket"), {kStore, ""});
  auto r = p.put_object(kKey, kNow, 900);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains("no region"));
}

namespace {

EnvironmentLookup environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

const std::map<std::string, std::string> kAwsEnvironment{
    {"AWS_ACCESS_KEY_ID", "AKIDenv"},
    {"AWS_SECRET_ACCESS_KEY", "env-secret-value"},
    {"AWS_SESSION_TOKEN", "env-token-value"},
    {"AWS_REGION", "eu-central-1"}};

BucketCredentials entry(const std::string& id, const std::string& region) {
  return {{id, "secret-of-" + id, ""}, region};
}

}  // namespace

TEST_CASE("bucket credentials: the bucket's entry, the default, the environment",
          "[cos][presign][credentials]") {
  const auto selfhosted = bucket("https://s3.example.internal:9000/bucket");
  const auto other = bucket("https://s3.example.internal:9000/other");
  BucketCredentialsConfig config{
      // Written otherwise than the URL is given: matched in normal form.
      {"HTTPS://S3.example.internal:9000/bucket/", entry("AKIDexact", "us-east-1")},
      {"default", entry("AKIDdefault", "us-west-2")}};
  const auto env = environment(kAwsEnvironment);

  auto c = resolve_bucket_credentials(selfhosted, config, env);
  REQUIRE(c.has_value());
  CHECK(c->credentials.access_key_id == "AKIDexact");
  CHECK(c->region == "us-east-1");

  c = resolve_bucket_credentials(other, config, env);
  REQUIRE(c.has_value());
  CHECK(c->credentials.access_key_id == "AKIDdefault");
  CHECK(c->region == "us-west-2");

  config.erase("default");
  c = resolve_bucket_credentials(other, config, env);
  REQUIRE(c.has_value());
  CHECK(c->credentials.access_key_id == "AKIDenv");
  CHECK(c->credentials.secret_access_key == "env-secret-value");
  CHECK(c->credentials.session_token == "env-token-value");
  CHECK(c->region == "eu-central-1");

  // The host's region wins over the configured one: it is the region requests are signed for.
  c = resolve_bucket_credentials(bucket("https://b-1250000000.cos.ap-beijing.myqcloud.com"), config,
                                 env);
  REQUIRE(c.has_value());
  CHECK(c->region == "ap-beijing");

  // An exact entry for an http bucket (the operator's own store).
  config["http://127.0.0.1:9000/bucket"] = entry("AKIDloopback", "us-east-1");
  c = resolve_bucket_credentials(bucket("http://127.0.0.1:9000/bucket"), config, env);
  REQUIRE(c.has_value());
  CHECK(c->credentials.access_key_id == "AKIDloopback");
}

TEST_CASE("no credentials or no region: a clear error, no secret in it",
          "[cos][presign][credentials]") {
  const auto b = bucket("https://s3.example.internal:9000/bucket");
  SECTION("nothing at all") {
    auto c = resolve_bucket_credentials(b, {}, environment({}));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == "InvalidParameterValue.InvalidOutputCOSBucketUrl");
    CHECK_THAT(c.error().message, Catch::Contains("no credentials for bucket "
                                                  "https://s3.example.internal:9000/bucket"));
    // No environment function at all is the same.
    CHECK_FALSE(resolve_bucket_credentials(b, {}, nullptr).has_value());
  }
  SECTION("a key id without its secret, and a secret without its key id") {
    for (const auto& vars :
         {std::map<std::string, std::string>{{"AWS_ACCESS_KEY_ID", "AKIDenv"},
                                             {"AWS_REGION", "us-east-1"}},
          std::map<std::string, std::string>{{"AWS_SECRET_ACCESS_KEY", "env-secret-value"},
                                             {"AWS_SESSION_TOKEN", "env-token-value"},
                                             {"AWS_REGION", "us-east-1"}}}) {
      auto c = resolve_bucket_credentials(b, {}, environment(vars));
      REQUIRE_FALSE(c.has_value());
      CHECK_THAT(c.error().message, Catch::Contains("no credentials"));
      CHECK_THAT(c.error().message, !Catch::Contains("env-secret-value"));
      CHECK_THAT(c.error().message, !Catch::Contains("env-token-value"));
    }
  }
  SECTION("credentials but no region anywhere") {
    auto vars = kAwsEnvironment;
    vars.erase("AWS_REGION");
    auto c = resolve_bucket_credentials(b, {}, environment(vars));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == "InvalidParameterValue.InvalidOutputCOSBucketUrl");
    CHECK_THAT(c.error().message, Catch::Contains("no region"));
    CHECK_THAT(c.error().message, !Catch::Contains("env-secret-value"));
    CHECK_THAT(c.error().message, !Catch::Contains("env-token-value"));
    CHECK_THAT(c.error().message, !Catch::Contains("AKIDenv"));
    // A configured entry's secret is not in it either.
    c = resolve_bucket_credentials(
        b, {{"default", {{"AKIDd", "cfg-secret-value", "cfg-token"}, ""}}}, environment({}));
    REQUIRE_FALSE(c.has_value());
    CHECK_THAT(c.error().message, !Catch::Contains("cfg-secret-value"));
    CHECK_THAT(c.error().message, !Catch::Contains("cfg-token"));
  }
  SECTION("presigning errors carry no secret") {
    const Presigner p(b, {{"AKIDx", "presign-secret-value", "presign-token-value"}, "us-east-1"});
    for (const auto& r : {p.put_object(kKey, kNow, 0), p.upload_part(kKey, "u", 0, kNow, 900),
                          p.put_object("", kNow, 900), p.put_object(kKey, -5, 900)}) {
      REQUIRE_FALSE(r.has_value());
      CHECK_THAT(r.error().message, !Catch::Contains("presign-secret-value"));
      CHECK_THAT(r.error().message, !Catch::Contains("presign-token-value"));
    }
  }
}
