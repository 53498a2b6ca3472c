// End to end (issue 13): a real ferry-server holding a bucket's credentials, a real ferry-agent
// and a real S3-compatible store (s3rver, which checks SigV4) on loopback. A task's complete
// output lands in the bucket byte for byte, through a restart of the store and a SIGKILL of the
// agent in the middle of a multipart upload; a refused upload leaves the task's status alone; no
// bucket secret reaches the instance.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "s3_store.hpp"
#include "started_agent.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBucketName = "ferry-test";
constexpr const char* kPrefix = "runs";
// Configured with the right keys, but never made in the store.
constexpr const char* kMissingBucket = "ferry-missing";

// Smaller parts than the defaults, so that multipart uploads are reached with outputs of MiBs.
json upload_agent_config() {
  return json{{"multipart_threshold_bytes", 5 << 20},
              {"multipart_part_bytes", 5 << 20},
              {"retry_max_ms", 1000},
              {"journal_max_bytes", std::int64_t{4} << 30},
              // The 300 MiB output is over the default 256 MiB the agent keeps of a task.
              {"task_output_max_bytes", std::int64_t{1} << 30}};
}

// One test's world: the store, a server holding its credentials (`secret`), an agent.
struct UploadWorld {
  S3Store store;
  std::unique_ptr<ServerProcess> server;
  ApiClient api;
  const TempDir scratch{"ferry-upload-e2e", 0755};
  std::unique_ptr<AgentProcess> agent;

  explicit UploadWorld(const std::string& secret = std::string(S3Store::kSecretAccessKey))
      : server(std::make_unique<ServerProcess>(
            FERRY_SERVER_BIN,
            json{{"buckets",
                  {{store.bucket_url(kBucketName),
                    {{"AccessKeyId", std::string(S3Store::kAccessKeyId)},
                     {"SecretAccessKey", secret},
                     {"Region", std::string(S3Store::kRegion)}}},
                   {store.bucket_url(kMissingBucket),
                    {{"AccessKeyId", std::string(S3Store::kAccessKeyId)},
                     {"SecretAccessKey", std::string(S3Store::kSecretAccessKey)},
                     {"Region", std::string(S3Store::kRegion)}}}}},
                 {"allow_http_bucket_hosts", {"127.0.0.1:" + std::to_string(store.port())}}})),
        api(server->api()) {
    auto [code_id, code] = create_register_code(api);
    agent =
        std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / "a", upload_agent_config());
    register_and_start(*agent, server->endpoint(), code_id, code);
  }

  // RunCommand of `script` with the bucket; the invocation id.
  std::string run(const std::string& script, json extra = json::object()) {
    extra["OutputCOSBucketUrl"] = store.bucket_url(kBucketName);
    extra["OutputCOSKeyPrefix"] = kPrefix;
    extra["Timeout"] = 600;
    return run_command(api, {agent->instance_id()}, script, extra);
  }
  json finished(const std::string& invocation, std::chrono::milliseconds limit = 120s) {
    return finished_task(api, invocation, agent->instance_id(), limit);
  }
  // The object of a task, as the store keeps it.
  [[nodiscard]] fs::path object_of(const std::string& invocation, const std::string& task) const {
    return store.object_file(kBucketName,
                             std::string(kPrefix) + "/" + invocation + "/" + task + ".log");
  }
  // `ferry output TASK -o FILE`, the real client against this server.
  ProcessResult ferry_output(const std::string& task, const fs::path& file) const {
    LaunchOptions o;
    o.argv = {FERRY_CLI_BIN, "output", task, "-o", file.string()};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME=" + scratch.str(),
             "FERRY_ENDPOINT=" + server->endpoint(),
             std::string("FERRY_SECRET_ID=") + kTestSecretId,
             std::string("FERRY_SECRET_KEY=") + kTestSecretKey,
             std::string("FERRY_REGION=") + kTestRegion};
    o.clean_env = true;
    o.out_file = scratch / "ferry.out";
    o.err_file = scratch / "ferry.err";
    return run_process(std::move(o));
  }
  [[nodiscard]] std::string object_url(const std::string& invocation,
                                       const std::string& task) const {
    return store.bucket_url(kBucketName) + "/" + kPrefix + "/" + invocation + "/" + task + ".log";
  }
};

// Whether two files hold the same bytes, read in 1 MiB pieces.
bool same_bytes(const fs::path& a, const fs::path& b) {
  std::error_code ec1;
  std::error_code ec2;
  if (fs::file_size(a, ec1) != fs::file_size(b, ec2) || ec1 || ec2) {
    return false;
  }
  std::ifstream fa(a, std::ios::binary);
  std::ifstream fb(b, std::ios::binary);
  std::string ba(1 << 20, '\0');
  std::string bb(1 << 20, '\0');
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount() || ba.compare(0, static_cast<std::size_t>(fa.gcount()), bb, 0,
                                                 static_cast<std::size_t>(fb.gcount())) != 0) {
      return false;
    }
  }
  return true;
}

// A script that writes `bytes` random bytes to stdout and a copy to `copy`.
std::string random_output(std::uint64_t bytes, const fs::path& copy) {
  return "head -c " + std::to_string(bytes) + " /dev/urandom | tee " + copy.string();
}

// Every file under `dir` and the agent's logs hold none of `needles`.
void check_nothing_leaked(const AgentProcess& agent, const std::vector<std::string>& needles) {
  std::string everything = agent.all_logs();
  for (const auto& e : fs::recursive_directory_iterator(agent.state_dir())) {
    if (e.is_regular_file() && e.file_size() < (1 << 20)) {
      everything += read_file(e.path());
    }
  }
  for (const auto& n : needles) {
    INFO(n);
    CHECK(everything.find(n) == std::string::npos);
  }
}

// Whether a journal record of the agent holds a part the store took.
bool journal_has_part(const AgentProcess& agent) {
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(agent.state_dir() / "tasks", ec)) {
    if (read_file(d.path() / "journal.json").find("\"PartNumber\"") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("upload e2e: outputs of 0 B, 1 KiB and 10 MiB land whole in the bucket", "[upload]") {
  UploadWorld w;
  for (const std::uint64_t size :
       {std::uint64_t{0}, std::uint64_t{1024}, std::uint64_t{10} << 20}) {
    INFO("size " << size);
    const fs::path copy = w.scratch / ("expected-" + std::to_string(size));
    const auto inv = w.run(random_output(size, copy));
    const json t = w.finished(inv);
    const std::string task = t["InvocationTaskId"];
    REQUIRE(t["TaskStatus"] == "SUCCESS");
    CHECK(t["TaskResult"]["OutputUrl"] == w.object_url(inv, task));
    CHECK(t["TaskResult"]["OutputUploadCOSErrorInfo"] == "");
    CHECK(same_bytes(w.object_of(inv, task), copy));
    // `ferry output` reads it back from the bucket through a URL the server presigns.
    const fs::path back = w.scratch / ("back-" + std::to_string(size));
    const auto r = w.ferry_output(task, back);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(same_bytes(back, copy));
  }
  // The agent holds no secret and no signature of the store: not in its files, not in its log.
  check_nothing_leaked(*w.agent, {std::string(S3Store::kSecretAccessKey), "X-Amz-Signature"});
  CHECK(w.agent->stop() == 0);
}

TEST_CASE("upload e2e: 300 MiB go as a multipart upload, whole", "[upload][big]") {
  UploadWorld w;
  const fs::path copy = w.scratch / "expected-300m";
  const auto inv = w.run(random_output(std::uint64_t{300} << 20, copy));
  const json t = w.finished(inv, 300s);
  const std::string task = t["InvocationTaskId"];
  REQUIRE(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["OutputUrl"] == w.object_url(inv, task));
  CHECK(t["TaskResult"]["Dropped"].get<std::int64_t>() > 0);  // the excerpt stays an excerpt
  CHECK(same_bytes(w.object_of(inv, task), copy));
  CHECK(w.agent->all_logs().find("uploading its output (314572800 bytes)") != std::string::npos);
}

TEST_CASE("upload e2e: wrong credentials: the task keeps SUCCESS and says why", "[upload]") {
  UploadWorld w("not-the-secret-3c9d");
  const auto inv = w.run("echo hello");
  const json t = w.finished(inv);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["ExitCode"] == 0);
  CHECK(t["TaskResult"]["OutputUrl"] == "");
  const std::string why = t["TaskResult"]["OutputUploadCOSErrorInfo"];
  INFO(why);
  CHECK(why.find("403") != std::string::npos);
  CHECK_FALSE(fs::exists(w.object_of(inv, t["InvocationTaskId"])));
  check_nothing_leaked(*w.agent, {"not-the-secret-3c9d"});
}

TEST_CASE("upload e2e: the store stopped during the upload and started again", "[upload]") {
  UploadWorld w;
  const fs::path copy = w.scratch / "expected";
  const auto inv = w.run(random_output(std::uint64_t{40} << 20, copy));
  // Down in the middle of the multipart upload: after its first part, while the next ones go.
  REQUIRE(eventually([&] { return journal_has_part(*w.agent); }, 60s, 5ms));
  w.store.stop();
  REQUIRE(w.agent->wait_log("output upload:", 30s));  // a failed attempt, to be retried
  w.store.start();
  const json t = w.finished(inv);
  const std::string task = t["InvocationTaskId"];
  REQUIRE(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["OutputUrl"] == w.object_url(inv, task));
  CHECK(same_bytes(w.object_of(inv, task), copy));
}

TEST_CASE(
    "upload e2e: the agent killed in the middle of a multipart upload; the object is "
    "complete, once",
    "[upload]") {
  UploadWorld w;
  const fs::path copy = w.scratch / "expected";
  const auto inv = w.run(random_output(std::uint64_t{40} << 20, copy));
  // As soon as the journal holds a part, the store stalls (so no more parts go) and the agent
  // dies.
  REQUIRE(eventually(
      [&] {
        if (!journal_has_part(*w.agent)) {
          return false;
        }
        w.store.pause();
        return true;
      },
      60s, 5ms));
  w.agent->kill();
  w.store.resume();
  CHECK(w.finished(inv, 2s)["TaskStatus"] == "RUNNING");  // the finish waits for the upload
  w.agent->start();
  const json t = w.finished(inv);
  const std::string task = t["InvocationTaskId"];
  REQUIRE(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["OutputUrl"] == w.object_url(inv, task));
  CHECK(same_bytes(w.object_of(inv, task), copy));
  const std::string log = w.agent->log();
  CHECK(log.find("uploading its output (41943040 bytes) to its bucket, resumed") !=
        std::string::npos);
  REQUIRE(eventually([&] { return w.agent->journal_empty(); }, 10s));
}

TEST_CASE("upload e2e: without a bucket, an output over the excerpt is kept by the server",
          "[upload]") {
  UploadWorld w;
  const fs::path copy = w.scratch / "expected";
  const auto inv =
      run_command(w.api, {w.agent->instance_id()}, random_output(std::uint64_t{3} << 20, copy));
  const json t = w.finished(inv);
  const std::string task = t["InvocationTaskId"];
  REQUIRE(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["OutputUrl"] == "");
  CHECK(t["TaskResult"]["Dropped"].get<std::int64_t>() > 0);
  const json out = must(w.api.call("DescribeInvocationTaskOutput", {{"InvocationTaskId", task}}));
  CHECK(out["Source"] == "SERVER");
  CHECK(out["Size"] == 3 << 20);
  const fs::path back = w.scratch / "back";
  const auto r = w.ferry_output(task, back);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(same_bytes(back, copy));

  SECTION("an output that fits in the excerpt is not uploaded, and still printed whole") {
    const auto small = run_command(w.api, {w.agent->instance_id()}, "seq 1 100");
    const std::string small_task = w.finished(small)["InvocationTaskId"];
    const json answer =
        must(w.api.call("DescribeInvocationTaskOutput", {{"InvocationTaskId", small_task}}));
    CHECK(answer["Source"] == "RESULT");
    CHECK_FALSE(fs::exists(w.server->data_dir() / "outputs" / (small_task + ".log")));
  }
}

TEST_CASE("upload e2e: a bucket that does not exist: the task keeps SUCCESS and says why",
          "[upload]") {
  UploadWorld w;
  const auto inv = run_command(w.api, {w.agent->instance_id()}, "echo hello",
                               {{"OutputCOSBucketUrl", w.store.bucket_url(kMissingBucket)}});
  const json t = w.finished(inv);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["OutputUrl"] == "");
  const std::string why = t["TaskResult"]["OutputUploadCOSErrorInfo"];
  INFO(why);
  CHECK(why.find("NoSuchBucket") != std::string::npos);
}
