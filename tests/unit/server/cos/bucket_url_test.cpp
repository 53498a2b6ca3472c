#include "ferry/server/cos/bucket_url.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/server/domain/value_rules.hpp"

using namespace ferry;
using namespace ferry::server::cos;

namespace {

BucketUrl parsed(const std::string& url, const std::vector<std::string>& allow = {}) {
  INFO(url);
  auto b = parse_bucket_url(url, allow);
  REQUIRE(b.has_value());
  return *b;
}

std::string refusal(const std::string& url, const std::vector<std::string>& allow = {}) {
  INFO(url);
  auto b = parse_bucket_url(url, allow);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().code == "InvalidParameterValue.InvalidOutputCOSBucketUrl");
  return b.error().message;
}

}  // namespace

TEST_CASE("a COS virtual-hosted bucket URL", "[cos][bucket_url]") {
  auto b = parsed("https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com");
  CHECK(b.scheme == "https");
  CHECK(b.host == "examplebucket-1250000000.cos.ap-beijing.myqcloud.com");
  CHECK(b.port == 0);
  CHECK(b.bucket == "examplebucket-1250000000");
  CHECK(b.style == BucketStyle::kVirtualHosted);
  CHECK(b.region == "ap-beijing");
  CHECK(b.authority() == "examplebucket-1250000000.cos.ap-beijing.myqcloud.com");
  CHECK(b.to_string() == "https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com");

  // The TAT documentation's own example, in capitals: hosts are case-insensitive.
  b = parsed("https://BucketName-123454321.cos.ap-beijing.myqcloud.com/");
  CHECK(b.bucket == "bucketname-123454321");
  CHECK(b.region == "ap-beijing");

  b = parsed("https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com:8443");
  CHECK(b.port == 8443);
  CHECK(b.authority() == "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com:8443");
  CHECK(b.region == "ap-guangzhou");

  // The default port is the same bucket as no port.
  CHECK(parsed("https://bucket-1.cos.ap-beijing.myqcloud.com:443").to_string() ==
        "https://bucket-1.cos.ap-beijing.myqcloud.com");
}

TEST_CASE("AWS bucket URLs and their regions", "[cos][bucket_url]") {
  auto b = parsed("https://examplebucket.s3.amazonaws.com");
  CHECK(b.bucket == "examplebucket");
  CHECK(b.style == BucketStyle::kVirtualHosted);
  CHECK(b.region.empty());  // the global endpoint says none

  b = parsed("https://examplebucket.s3.eu-west-1.amazonaws.com");
  CHECK(b.bucket == "examplebucket");
  CHECK(b.region == "eu-west-1");

  b = parsed("https://s3.eu-west-1.amazonaws.com/my.bucket");
  CHECK(b.style == BucketStyle::kPathStyle);
  CHECK(b.bucket == "my.bucket");
  CHECK(b.region == "eu-west-1");

  b = parsed("https://cos.ap-shanghai.myqcloud.com/examplebucket-1250000000");
  CHECK(b.style == BucketStyle::kPathStyle);
  CHECK(b.region == "ap-shanghai");

  // A host that merely looks alike says nothing.
  CHECK(parsed("https://bucket.s3.dualstack.eu-west-1.amazonaws.com").region.empty());
  CHECK(parsed("https://bucket.cos.example.com").region.empty());
}

TEST_CASE("a path-style bucket URL of a self-hosted store", "[cos][bucket_url]") {
  auto b = parsed("https://s3.example.internal:9000/bucket");
  CHECK(b.host == "s3.example.internal");
  CHECK(b.port == 9000);
  CHECK(b.bucket == "bucket");
  CHECK(b.style == BucketStyle::kPathStyle);
  CHECK(b.region.empty());
  CHECK(b.to_string() == "https://s3.example.internal:9000/bucket");

  CHECK(parsed("https://s3.example.internal:9000/bucket/").bucket == "bucket");
  CHECK(parsed("https://10.0.0.5/outputs").host == "10.0.0.5");
  b = parsed("https://[fd00::5]:9000/outputs");
  CHECK(b.host == "fd00::5");
  CHECK(b.authority() == "[fd00::5]:9000");
  CHECK(b.to_string() == "https://[fd00::5]:9000/outputs");
}

TEST_CASE("http only to the hosts the server allows", "[cos][bucket_url]") {
  CHECK_THAT(refusal("http://s3.example.internal:9000/bucket"),
             Catch::Contains("must be an https URL"));
  const std::vector<std::string> allow{"s3.example.internal:9000", "[::1]:9000",
                                       "plain.example:80"};
  auto b = parsed("http://s3.example.internal:9000/bucket", allow);
  CHECK(b.scheme == "http");
  CHECK(b.port == 9000);
  CHECK(parsed("http://S3.Example.Internal:9000/bucket", allow).host == "s3.example.internal");
  CHECK(parsed("http://[::1]:9000/bucket", allow).host == "::1");
  // No port: 80 is what the entry must say.
  CHECK(parsed("http://plain.example/bucket", allow).port == 0);
  // The entry is host AND port.
  refusal("http://s3.example.internal:9001/bucket", allow);
  refusal("http://s3.example.internal/bucket", allow);
  refusal("http://other.example.internal:9000/bucket", allow);
  refusal("http://[::2]:9000/bucket", allow);
  // https needs no entry; other schemes never pass.
  CHECK(parsed("https://s3.example.internal:9001/bucket", allow).port == 9001);
  CHECK_THAT(refusal("ftp://s3.example.internal:9000/bucket", allow), Catch::Contains("https"));
}

TEST_CASE("bucket URLs refused", "[cos][bucket_url]") {
  CHECK_THAT(refusal("https://user:pw@s3.example.internal/bucket"),
             Catch::Contains("user information"));
  CHECK_THAT(refusal("https://user@bucket.example.com"), Catch::Contains("user information"));
  CHECK_THAT(refusal("https://s3.example.internal/bucket?x=1"), Catch::Contains("query"));
  CHECK_THAT(refusal("https://s3.example.internal/bucket#frag"), Catch::Contains("fragment"));
  CHECK_THAT(refusal("https://s3.example.internal/bucket/prefix"),
             Catch::Contains("one path segment"));
  CHECK_THAT(refusal("https://s3.example.internal/bucket//"), Catch::Contains("one path segment"));
  CHECK_THAT(refusal("https:///bucket"), Catch::Contains("no host"));
  CHECK_THAT(refusal("https://:9000/bucket"), Catch::Contains("no host"));
  for (const char* bad_host :
       {"https://bu_cket.example.com", "https://bucket..example.com", "https://-bucket.example.com",
        "https://bucket.example.com-", "https://bucket.exa%6dple.com", "https://bucket.exämple.com",
        "https://1.2.3.256/bucket", "https://[fd00::zz]/bucket", "https://[fd00::1/bucket",
        "https://bucket.example.com:0", "https://bucket.example.com:65536",
        "https://bucket.example.com:x", "https://bucket.example.com:", "https://bucket example.com",
        "https://bucket.example.com\n"}) {
    refusal(bad_host);
  }
  // No bucket to be found, or a bucket name S3 would refuse.
  CHECK_THAT(refusal("https://10.0.0.5"), Catch::Contains("names no bucket"));
  CHECK_THAT(refusal("https://localhost"), Catch::Contains("names no bucket"));
  CHECK_THAT(refusal("https://cos.ap-beijing.myqcloud.com"), Catch::Contains("service endpoint"));
  CHECK_THAT(refusal("https://s3.amazonaws.com/"), Catch::Contains("service endpoint"));
  CHECK_THAT(refusal("https://bucket-1.cos.ap-beijing.myqcloud.com/other"),
             Catch::Contains("no path"));
  refusal("https://ab.example.com");                  // two characters
  refusal("https://s3.example.internal/Bucket");      // capitals in a path-style bucket
  refusal("https://s3.example.internal/bu_cket");     // '_'
  refusal("https://s3.example.internal/.bucket");     // not a letter or digit first
  refusal("https://s3.example.internal/bucket%20x");  // escapes
  refusal("");
  refusal("bucket.example.com");
  refusal("https://" + std::string(1100, 'a') + ".com");
}

TEST_CASE("validate_cos_bucket_url is the parser with the server's http hosts",
          "[cos][bucket_url]") {
  using ferry::server::domain::validate_cos_bucket_url;
  const std::vector<std::string> none;
  CHECK(
      validate_cos_bucket_url("https://bucket-1.cos.ap-guangzhou.myqcloud.com", none).has_value());
  CHECK(validate_cos_bucket_url("https://s3.example.internal:9000/bucket", none).has_value());
  for (const char* bad : {"http://bucket.example", "ftp://x", "https://user@bucket.example.com",
                          "https://s3.example.internal/a/b", "http://127.0.0.1:9000/bucket"}) {
    INFO(bad);
    auto s = validate_cos_bucket_url(bad, none);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == "InvalidParameterValue.InvalidOutputCOSBucketUrl");
  }
  const std::vector<std::string> allowed = {"127.0.0.1:9000"};
  CHECK(validate_cos_bucket_url("http://127.0.0.1:9000/bucket", allowed).has_value());
  CHECK_FALSE(validate_cos_bucket_url("http://127.0.0.1:9001/bucket", allowed).has_value());
  CHECK_FALSE(validate_cos_bucket_url("ftp://127.0.0.1:9000/bucket", allowed).has_value());
}

TEST_CASE("parse_configured_bucket_url takes http from the operator", "[cos][bucket_url]") {
  auto b = parse_configured_bucket_url("http://127.0.0.1:9000/bucket");
  REQUIRE(b.has_value());
  CHECK(b->scheme == "http");
  CHECK(b->to_string() == "http://127.0.0.1:9000/bucket");
  CHECK_FALSE(parse_configured_bucket_url("http://127.0.0.1:9000/a/b").has_value());
}

TEST_CASE("the object key of a task's output", "[cos][bucket_url]") {
  CHECK(object_key("logs", "inv-12345678", "invt-12345678") ==
        "logs/inv-12345678/invt-12345678.log");
  CHECK(object_key("a/b", "inv-1", "invt-1") == "a/b/inv-1/invt-1.log");
  CHECK(object_key("", "inv-1", "invt-1") == "inv-1/invt-1.log");
  CHECK(object_key("logs/", "inv-1", "invt-1") == "logs/inv-1/invt-1.log");
  CHECK(object_key("logs", "", "invt-1") == "logs/invt-1.log");
  CHECK(object_key("", "", "invt-1") == "invt-1.log");
}

TEST_CASE("the URL of an object, unsigned", "[cos][bucket_url]") {
  CHECK(object_url(parsed("https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com"),
                   "out/inv-1/invt-1.log") ==
        "https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/out/inv-1/invt-1.log");
  CHECK(object_url(parsed("https://s3.example.internal:9000/bucket/"), "a b/c%d+e.log") ==
        "https://s3.example.internal:9000/bucket/a%20b/c%25d%2Be.log");
  CHECK(object_url(parsed("https://[fd00::5]:443/bucket"), "k.log") ==
        "https://[fd00::5]/bucket/k.log");
}
