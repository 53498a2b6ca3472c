// PresignOutputUpload: the presigned URLs of a task's output object, through the signed gateway
// as an agent calls it.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "ferry/server/cos/presigner.hpp"
#include "gateway_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::error_code;
using ferry::test::Fixture;
using ferry::test::kRegisterCodeValue;
using ferry::test::TestAgent;
using nlohmann::json;

namespace {

// add_tasks's bucket and prefix.
constexpr const char* kPresignBucket = "https://bucket.example.com";
constexpr const char* kPresignKeyId = "AKIDpresigntest0001";
constexpr const char* kPresignSecret = "presignSecretKeyThatMustNeverLeak001";
constexpr const char* kPresignToken = "presignSessionTokenValue0001";
// kStartMs (2024-05-01T00:00:00Z) as SigV4 writes it.
constexpr const char* kPresignAmzDate = "20240501T000000Z";

// %XX decoded (the query values of a presigned URL).
std::string presign_percent_decoded(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct PresignedUrlParts {
  std::string origin;  // scheme://authority
  std::string path;
  std::map<std::string, std::string> query;  // decoded values
};

PresignedUrlParts parse_presigned_url(const std::string& url) {
  PresignedUrlParts p;
  const auto authority = url.find("://") + 3;
  const auto path_at = url.find('/', authority);
  REQUIRE(path_at != std::string::npos);
  p.origin = url.substr(0, path_at);
  const auto q = url.find('?', path_at);
  p.path = url.substr(path_at, q == std::string::npos ? std::string::npos : q - path_at);
  if (q == std::string::npos) {
    return p;
  }
  std::stringstream pairs(url.substr(q + 1));
  for (std::string pair; std::getline(pairs, pair, '&');) {
    const auto eq = pair.find('=');
    p.query[pair.substr(0, eq)] =
        eq == std::string::npos ? "" : presign_percent_decoded(pair.substr(eq + 1));
  }
  return p;
}

struct OutputFixture : Fixture {
  OutputFixture() {
    settings.output_buckets.credentials[kPresignBucket] =
        cos::BucketCredentials{{kPresignKeyId, kPresignSecret, ""}, "eu-west-3"};
    settings.output_buckets.url_ttl_s = 900;
  }

  json presign(json body, const TestAgent* as = nullptr) {
    if (!body.contains("InvocationTaskId")) {
      body["InvocationTaskId"] = task_id;
    }
    auto reply = agent_call(as != nullptr ? *as : agent, "PresignOutputUpload", std::move(body));
    CHECK(reply.dump().find(kPresignSecret) == std::string::npos);
    return reply;
  }

  std::string presign_code(json body) { return error_code(presign(std::move(body))); }

  void set_bucket(const std::string& url) {
    auto changed = store->modify_task(task_id, [&](InvocationTask& t) {
      t.document.output_cos_bucket_url = url;
      return true;
    });
    REQUIRE(changed.has_value());
  }

  // The key add_tasks's tasks upload to: prefix "out", then the ids.
  [[nodiscard]] std::string object_path() const {
    return "/out/" + invocation_id + "/" + task_id + ".log";
  }

  // What every URL of the task carries: the object, the server's time, the configured lifetime
  // and credentials.
  void check_signed(const PresignedUrlParts& u) const {
    CHECK(u.origin == kPresignBucket);
    CHECK(u.path == object_path());
    CHECK(u.query.at("X-Amz-Algorithm") == "AWS4-HMAC-SHA256");
    CHECK(u.query.at("X-Amz-Credential") ==
          std::string(kPresignKeyId) + "/20240501/eu-west-3/s3/aws4_request");
    CHECK(u.query.at("X-Amz-Date") == kPresignAmzDate);
    CHECK(u.query.at("X-Amz-Expires") == "900");
    CHECK(u.query.at("X-Amz-SignedHeaders") == "host");
    CHECK(u.query.at("X-Amz-Signature").size() == 64);
  }

  TestAgent agent = register_agent(add_register_code(kRegisterCodeValue), kRegisterCodeValue);
  TestAgent other = register_agent(add_register_code(kRegisterCodeValue), kRegisterCodeValue);
  // A running task of `agent`, with add_tasks's bucket and prefix.
  std::string task_id = add_tasks({agent.instance_id}, TaskStatus::kRunning).at(0);
  std::string invocation_id = task(task_id).invocation_id;
};

}  // namespace

TEST_CASE_METHOD(OutputFixture, "PresignOutputUpload signs each operation on the task's object",
                 "[gateway][outputs]") {
  const std::string object_url = std::string(kPresignBucket) + object_path();

  SECTION("PutObject") {
    auto r = presign({{"Operation", "PutObject"}});
    INFO(r.dump());
    REQUIRE(error_code(r).empty());
    CHECK(r["Method"] == "PUT");
    CHECK(r["ObjectUrl"] == object_url);
    CHECK(r["ExpiresIn"] == 900);
    CHECK_FALSE(r.contains("PartUrls"));
    const auto u = parse_presigned_url(r["Url"]);
    check_signed(u);
    CHECK(u.query.size() == 6);  // the X-Amz-* parameters alone
    // Exactly the presigner's URL for that key, signed at the server's time.
    const cos::Presigner presigner(*cos::parse_configured_bucket_url(kPresignBucket),
                                   settings.output_buckets.credentials.at(kPresignBucket));
    auto expected = presigner.put_object("out/" + invocation_id + "/" + task_id + ".log",
                                         ferry::test::kStartMs / 1000, 900);
    REQUIRE(expected.has_value());
    CHECK(r["Url"] == expected->url);
  }
  SECTION("CreateMultipartUpload") {
    auto r = presign({{"Operation", "CreateMultipartUpload"}});
    REQUIRE(error_code(r).empty());
    CHECK(r["Method"] == "POST");
    CHECK(r["ObjectUrl"] == object_url);
    const auto u = parse_presigned_url(r["Url"]);
    check_signed(u);
    CHECK(u.query.contains("uploads"));
    CHECK_FALSE(u.query.contains("uploadId"));
  }
  SECTION("UploadPart: one URL per part, in the order asked") {
    auto r = presign(
        {{"Operation", "UploadPart"}, {"UploadId", "up/id 1+="}, {"PartNumbers", {3, 1, 10000}}});
    INFO(r.dump());
    REQUIRE(error_code(r).empty());
    CHECK(r["Method"] == "PUT");
    CHECK(r["ObjectUrl"] == object_url);
    CHECK(r["ExpiresIn"] == 900);
    CHECK_FALSE(r.contains("Url"));
    REQUIRE(r["PartUrls"].size() == 3);
    const int expected[] = {3, 1, 10000};
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& part = r["PartUrls"][i];
      CHECK(part["PartNumber"] == expected[i]);
      const auto u = parse_presigned_url(part["Url"]);
      check_signed(u);
      CHECK(u.query.at("partNumber") == std::to_string(expected[i]));
      CHECK(u.query.at("uploadId") == "up/id 1+=");
    }
  }
  SECTION("CompleteMultipartUpload") {
    auto r = presign({{"Operation", "CompleteMultipartUpload"}, {"UploadId", "upload-1"}});
    REQUIRE(error_code(r).empty());
    CHECK(r["Method"] == "POST");
    const auto u = parse_presigned_url(r["Url"]);
    check_signed(u);
    CHECK(u.query.at("uploadId") == "upload-1");
    CHECK_FALSE(u.query.contains("partNumber"));
  }
  SECTION("AbortMultipartUpload") {
    auto r = presign({{"Operation", "AbortMultipartUpload"}, {"UploadId", "upload-1"}});
    REQUIRE(error_code(r).empty());
    CHECK(r["Method"] == "DELETE");
    const auto u = parse_presigned_url(r["Url"]);
    check_signed(u);
    CHECK(u.query.at("uploadId") == "upload-1");
  }
  SECTION("temporary credentials carry their token; the secret never appears") {
    settings.output_buckets.credentials[kPresignBucket].credentials.session_token = kPresignToken;
    auto r = presign({{"Operation", "PutObject"}});
    REQUIRE(error_code(r).empty());
    CHECK(parse_presigned_url(r["Url"]).query.at("X-Amz-Security-Token") == kPresignToken);
  }
  SECTION("a later call is signed at the later time") {
    clock.advance_ms(3'600'000);
    auto r = presign({{"Operation", "PutObject"}});
    REQUIRE(error_code(r).empty());
    CHECK(parse_presigned_url(r["Url"]).query.at("X-Amz-Date") == "20240501T010000Z");
  }
}

TEST_CASE_METHOD(OutputFixture, "PresignOutputUpload on a path-style bucket over allowed http",
                 "[gateway][outputs]") {
  const std::string bucket = "http://127.0.0.1:9000/outputs";
  set_bucket(bucket);
  settings.output_buckets.credentials.clear();
  settings.output_buckets.credentials["default"] =
      cos::BucketCredentials{{kPresignKeyId, kPresignSecret, ""}, "us-east-1"};
  settings.output_buckets.allow_http_hosts = {"127.0.0.1:9000"};
  auto r = presign({{"Operation", "PutObject"}});
  INFO(r.dump());
  REQUIRE(error_code(r).empty());
  const auto u = parse_presigned_url(r["Url"]);
  CHECK(u.origin == "http://127.0.0.1:9000");
  CHECK(u.path == "/outputs" + object_path());
  CHECK(u.query.at("X-Amz-Credential") ==
        std::string(kPresignKeyId) + "/20240501/us-east-1/s3/aws4_request");
  CHECK(r["ObjectUrl"] == bucket + object_path());

  // The host no longer allowed (the configuration changed since RunCommand).
  settings.output_buckets.allow_http_hosts.clear();
  auto refused = presign({{"Operation", "PutObject"}});
  CHECK(error_code(refused) == "FailedOperation.BucketCredentials");
  CHECK_THAT(refused["Error"]["Message"].get<std::string>(), Catch::Contains("https"));
}

TEST_CASE_METHOD(OutputFixture, "PresignOutputUpload refusals", "[gateway][outputs]") {
  SECTION("the task of another instance, or none") {
    CHECK(error_code(presign({{"Operation", "PutObject"}}, &other)) ==
          "AuthFailure.UnauthorizedOperation");
    CHECK(presign_code({{"Operation", "PutObject"}, {"InvocationTaskId", "invt-nothere1"}}) ==
          "ResourceNotFound.InvocationTaskNotFound");
    CHECK(presign_code({{"Operation", "PutObject"}, {"InvocationTaskId", "bad id!"}}) ==
          "InvalidParameterValue");
  }
  SECTION("a task without a bucket") {
    set_bucket("");
    CHECK(presign_code({{"Operation", "PutObject"}}) == "FailedOperation.NoOutputBucket");
  }
  SECTION("a finished task, its status named") {
    const auto done = add_tasks({agent.instance_id}, TaskStatus::kSuccess).at(0);
    auto r = presign({{"Operation", "PutObject"}, {"InvocationTaskId", done}});
    CHECK(error_code(r) == "FailedOperation.TaskFinished");
    CHECK_THAT(r["Error"]["Message"].get<std::string>(), Catch::Contains("SUCCESS"));
    // A cancel under way still lets the output go up.
    const auto cancelling = add_tasks({agent.instance_id}, TaskStatus::kCancelling).at(0);
    CHECK(error_code(presign({{"Operation", "PutObject"}, {"InvocationTaskId", cancelling}}))
              .empty());
  }
  SECTION("credentials gone since RunCommand: the bucket named, no key") {
    settings.output_buckets.credentials.clear();
    auto r = presign({{"Operation", "PutObject"}});
    CHECK(error_code(r) == "FailedOperation.BucketCredentials");
    const std::string message = r["Error"]["Message"];
    CHECK_THAT(message, Catch::Contains(kPresignBucket));
    CHECK(message.find(kPresignKeyId) == std::string::npos);
    // An entry without a region, for a host that names none.
    settings.output_buckets.credentials["default"] =
        cos::BucketCredentials{{kPresignKeyId, kPresignSecret, kPresignToken}, ""};
    r = presign({{"Operation", "PutObject"}});
    CHECK(error_code(r) == "FailedOperation.BucketCredentials");
    CHECK(r.dump().find(kPresignToken) == std::string::npos);
  }
}

TEST_CASE_METHOD(OutputFixture, "PresignOutputUpload checks its fields", "[gateway][outputs]") {
  const auto part = [](json numbers) {
    return json{{"Operation", "UploadPart"}, {"UploadId", "u-1"}, {"PartNumbers", numbers}};
  };
  CHECK(presign_code(json::object()) == "MissingParameter");
  CHECK(error_code(agent_call(agent, "PresignOutputUpload", {{"Operation", "PutObject"}})) ==
        "MissingParameter");
  CHECK(presign_code({{"Operation", "GetObject"}}) == "InvalidParameterValue");
  CHECK(presign_code({{"Operation", 1}}) == "InvalidParameter");
  CHECK(presign_code({{"Operation", "PutObject"}, {"Colour", "blue"}}) == "UnknownParameter");

  // UploadId: the three operations on an upload need it, the other two refuse it.
  CHECK(presign_code({{"Operation", "PutObject"}, {"UploadId", "u-1"}}) == "InvalidParameterValue");
  CHECK(presign_code({{"Operation", "CreateMultipartUpload"}, {"UploadId", "u-1"}}) ==
        "InvalidParameterValue");
  CHECK(presign_code({{"Operation", "CompleteMultipartUpload"}}) == "MissingParameter");
  CHECK(presign_code({{"Operation", "AbortMultipartUpload"}}) == "MissingParameter");
  CHECK(presign_code({{"Operation", "UploadPart"}, {"PartNumbers", {1}}}) == "MissingParameter");
  CHECK(presign_code({{"Operation", "AbortMultipartUpload"}, {"UploadId", ""}}) ==
        "InvalidParameterValue");
  CHECK(presign_code({{"Operation", "AbortMultipartUpload"}, {"UploadId", "a\nb"}}) ==
        "InvalidParameterValue");
  CHECK(presign_code({{"Operation", "AbortMultipartUpload"},
                      {"UploadId", std::string(1025, 'u')}}) == "InvalidParameterValue");
  CHECK(presign_code({{"Operation", "AbortMultipartUpload"}, {"UploadId", 7}}) ==
        "InvalidParameter");
  CHECK(error_code(
            presign({{"Operation", "AbortMultipartUpload"}, {"UploadId", std::string(1024, 'u')}}))
            .empty());

  // PartNumbers: UploadPart's alone, 1 to 100 distinct numbers of 1..10000.
  CHECK(presign_code({{"Operation", "UploadPart"}, {"UploadId", "u-1"}}) == "MissingParameter");
  CHECK(presign_code({{"Operation", "CompleteMultipartUpload"},
                      {"UploadId", "u-1"},
                      {"PartNumbers", {1}}}) == "InvalidParameterValue");
  CHECK(presign_code(part("1")) == "InvalidParameter");
  CHECK(presign_code(part({1.5})) == "InvalidParameter");
  CHECK(presign_code(part({"1"})) == "InvalidParameter");
  CHECK(presign_code(part(json::array())) == "InvalidParameterValue");
  CHECK(presign_code(part({0})) == "InvalidParameterValue");
  CHECK(presign_code(part({-1})) == "InvalidParameterValue");
  CHECK(presign_code(part({10001})) == "InvalidParameterValue");
  CHECK(presign_code(part({std::uint64_t{18446744073709551615ULL}})) == "InvalidParameterValue");
  CHECK(presign_code(part({4294967297LL})) == "InvalidParameterValue");  // 2^32 + 1
  CHECK(presign_code(part({2, 5, 2})) == "InvalidParameterValue");
  json hundred = json::array();
  for (int i = 1; i <= 100; ++i) {
    hundred.push_back(i);
  }
  auto many = presign(part(hundred));
  REQUIRE(error_code(many).empty());
  CHECK(many["PartUrls"].size() == 100);
  hundred.push_back(101);
  CHECK(presign_code(part(hundred)) == "InvalidParameterValue");
}

TEST_CASE_METHOD(OutputFixture, "PresignOutputUpload logs the task and operation, never the URL",
                 "[gateway][outputs]") {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "outputs-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  auto r = presign({{"Operation", "UploadPart"}, {"UploadId", "u-1"}, {"PartNumbers", {1}}});
  spdlog::set_default_logger(previous);
  REQUIRE(error_code(r).empty());
  const std::string text = log.str();
  CHECK_THAT(text, Catch::Contains(task_id) && Catch::Contains("UploadPart"));
  const std::string signature =
      parse_presigned_url(r["PartUrls"][0]["Url"]).query.at("X-Amz-Signature");
  CHECK(text.find(signature) == std::string::npos);
  CHECK(text.find("X-Amz-") == std::string::npos);
  CHECK(text.find(kPresignSecret) == std::string::npos);
}
