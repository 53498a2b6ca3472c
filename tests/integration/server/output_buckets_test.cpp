// Output buckets through the real ferry-server: its configuration keys, --allow-http-bucket-host,
// the AWS_* fallback from its own environment, the RunCommand check and PresignOutputUpload.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "blackbox.hpp"

using namespace ferry::test;

namespace {

constexpr const char* kBbStore = "http://127.0.0.1:9000/outputs";
constexpr const char* kBbStoreSecret = "bbStoreSecretThatMustNeverLeak000001";
constexpr const char* kBbEnvSecret = "bbEnvironmentSecretMustNeverLeak0001";
constexpr const char* kBbInvalidBucket = "InvalidParameterValue.InvalidOutputCOSBucketUrl";

nlohmann::json presign_put(ScriptedAgent& agent, const std::string& task) {
  return must(agent.client().call("PresignOutputUpload",
                                  {{"InvocationTaskId", task}, {"Operation", "PutObject"}}));
}

}  // namespace

TEST_CASE("output buckets: configuration, RunCommand's check, presigned URLs",
          "[server][buckets]") {
  ServerProcess server(
      FERRY_SERVER_BIN,
      {{"buckets",
        {{kBbStore,
          {{"AccessKeyId", "AKIDbbstore"},
           {"SecretAccessKey", kBbStoreSecret},
           {"Region", "us-east-1"}}}}},
       {"output_url_ttl_s", 120}},
      {"--allow-http-bucket-host", "127.0.0.1:9000"},
      // The fallback: the server's own environment (AWS_REGION and the token set empty, so that
      // whatever the test runs under does not count).
      {"AWS_ACCESS_KEY_ID=AKIDbbenvironment", std::string("AWS_SECRET_ACCESS_KEY=") + kBbEnvSecret,
       "AWS_REGION=", "AWS_SESSION_TOKEN="});
  ApiClient api = server.api();
  ScriptedAgent agent(api, server.endpoint());

  // The configured store, over http to the host allowed on the command line.
  const auto inv = run_command(api, {agent.id()}, "echo hi",
                               {{"OutputCOSBucketUrl", kBbStore}, {"OutputCOSKeyPrefix", "bb"}});
  const auto task = agent.fetch_task();
  auto put = presign_put(agent, task);
  const std::string object = std::string(kBbStore) + "/bb/" + inv + "/" + task + ".log";
  CHECK(put["Method"] == "PUT");
  CHECK(put["ObjectUrl"] == object);
  CHECK(put["ExpiresIn"] == 120);
  const std::string url = put["Url"];
  CHECK(url.rfind(object + "?", 0) == 0);
  CHECK_THAT(url, Catch::Contains("X-Amz-Expires=120") &&
                      Catch::Contains("X-Amz-Credential=AKIDbbstore%2F") &&
                      Catch::Contains("%2Fus-east-1%2Fs3%2Faws4_request"));
  CHECK(put.dump().find(kBbStoreSecret) == std::string::npos);

  // Another port is not allowed over http.
  expect_error(api.call("RunCommand", {{"Content", b64("echo hi")},
                                       {"InstanceIds", {agent.id()}},
                                       {"OutputCOSBucketUrl", "http://127.0.0.1:9001/outputs"}}),
               kBbInvalidBucket);

  // A bucket with no entry: the environment's keys; a COS host names its region.
  const std::string env_bucket = "https://envbucket-1250000000.cos.ap-guangzhou.myqcloud.com";
  const auto env_inv =
      run_command(api, {agent.id()}, "echo hi", {{"OutputCOSBucketUrl", env_bucket}});
  auto env_put = presign_put(agent, task_id_of(api, env_inv, agent.id()));
  CHECK_THAT(env_put["Url"].get<std::string>(),
             Catch::Contains("X-Amz-Credential=AKIDbbenvironment%2F") &&
                 Catch::Contains("%2Fap-guangzhou%2Fs3%2Faws4_request"));
  CHECK(env_put.dump().find(kBbEnvSecret) == std::string::npos);

  // A self-hosted bucket whose region nobody names: refused at RunCommand, the bucket named.
  const std::string no_region = "https://s3.example.internal:9000/noregion";
  auto refused = api.call("RunCommand", {{"Content", b64("echo hi")},
                                         {"InstanceIds", {agent.id()}},
                                         {"OutputCOSBucketUrl", no_region}});
  expect_error(refused, kBbInvalidBucket);
  CHECK_THAT(refused.error_message(), Catch::Contains(no_region));
  // CreateCommand takes it: the operator may configure the bucket later.
  must(api.call("CreateCommand", {{"CommandName", "later-bucket"},
                                  {"Content", b64("echo hi")},
                                  {"OutputCOSBucketUrl", no_region}}));

  // The test's config file holds a secret: warned of when others may read it (the umask says),
  // never shown.
  struct stat st {};
  REQUIRE(::stat((server.data_dir().parent_path() / "server.json").c_str(), &st) == 0);
  const bool exposed = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
  const std::string log = server.stderr_text();
  CHECK((log.find("server.json holds bucket secrets") != std::string::npos) == exposed);
  CHECK((log.find("chmod 600") != std::string::npos) == exposed);
  CHECK(log.find(kBbStoreSecret) == std::string::npos);
  CHECK(log.find(kBbEnvSecret) == std::string::npos);
  CHECK(server.stop() == 0);
}
