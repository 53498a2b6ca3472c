// A task's output uploaded to a bucket by a real ferry-agent, on loopback (issue 13): a task
// prints a file of --mib MiB (1024 by default) to a bucket of the S3 test store (s3rver), through
// a real ferry-server that presigns the URLs. Figures, each beside its target or floor in the same
// run:
//   rss:     peak resident set of the agent (VmHWM over its life) and of the task's supervisor
//            (VmRSS sampled every 10 ms while it runs): at most 32 MiB each;
//   upload:  from "uploading its output" to "output uploaded" in the agent's log, against the
//            floor `curl -T` of the same file to a URL presigned for the same store (ratio);
//            also without CompleteMultipartUpload, which s3rver does by copying every byte;
//   visible: from the task's exit (the agent's "task ...: SUCCESS" line) to OutputUrl visible
//            through DescribeInvocationTasks (polled every 10 ms).
// Usage: ferry-bench-upload [--mib N] [--part-mib N] [--threshold-mib N] (the agent's
// multipart_part_bytes and multipart_threshold_bytes; prints one JSON object; needs node and
// tests/s3's node_modules, as scripts/test installs them)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "api_client.hpp"
#include "bench_options.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/server/cos/bucket_url.hpp"
#include "ferry/server/cos/presigner.hpp"
#include "proc_stats.hpp"
#include "process_table.hpp"
#include "s3_store.hpp"
#include "server_process.hpp"
#include "test_process.hpp"

using Clock = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;
using ferry::bench::status_kib;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr double kRssTargetMiB = 32;
constexpr const char* kBucket = "ferry-bench";

json ok_or_throw(const ferry::test::ApiResponse& r, const char* what) {
  if (!r.ok()) {
    throw std::runtime_error(std::string(what) + ": " + r.describe());
  }
  return r.response;
}

// The wall time of the agent's log line that contains `text` ("[2026-12-07 05:04:57.583] ...").
std::optional<Wall::time_point> log_time(const std::string& log, const std::string& text) {
  const auto at = log.find(text);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  const auto line = log.rfind('\n', at);
  const std::string head = log.substr(line == std::string::npos ? 0 : line + 1, 25);
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(head.c_str(), "[%d-%d-%d %d:%d:%d.%d]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return Wall::from_time_t(std::mktime(&tm)) + std::chrono::milliseconds(ms);
}

double seconds_between(Wall::time_point a, Wall::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// `curl -T file url`, timed: the floor of one PUT of the file to the same store.
double curl_put_seconds(const fs::path& file, const std::string& url) {
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("curl", "curl", "-sS", "-f", "-o", "/dev/null", "-T", file.c_str(), url.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("curl -T failed (is curl installed?)");
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mib = 1024;
  json agent_config{{"log_level", "info"}, {"journal_max_bytes", std::int64_t{16} << 30}};
  const auto mib_of = [](const std::string& v) { return std::int64_t{std::max(1, std::stoi(v))}; };
  ferry::bench::parse_bench_options(
      argc, argv, "ferry-bench-upload [--mib N] [--part-mib N] [--threshold-mib N]",
      {{"--mib", true, [&](const std::string& v) { mib = static_cast<std::uint64_t>(mib_of(v)); }},
       {"--part-mib", true,
        [&](const std::string& v) { agent_config["multipart_part_bytes"] = mib_of(v) << 20; }},
       {"--threshold-mib", true, [&](const std::string& v) {
          agent_config["multipart_threshold_bytes"] = mib_of(v) << 20;
        }}});
  const std::uint64_t bytes = mib << 20;
  try {
    ferry::test::TempDir dir("ferry-bench-upload", 0755);
    ferry::test::S3Store store(ferry::test::S3StoreOptions{{kBucket}, dir / "store"});
    const std::string bucket_url = store.bucket_url(kBucket);
    ferry::test::ServerProcess server(
        FERRY_SERVER_BIN,
        json{{"buckets",
              {{bucket_url,
                {{"AccessKeyId", std::string(ferry::test::S3Store::kAccessKeyId)},
                 {"SecretAccessKey", std::string(ferry::test::S3Store::kSecretAccessKey)},
                 {"Region", std::string(ferry::test::S3Store::kRegion)}}}}},
             {"allow_http_bucket_hosts", {"127.0.0.1:" + std::to_string(store.port())}}});
    auto api = server.api();

    // The output: a file of random bytes, printed by the task with cat.
    const fs::path data = dir / "output.bin";
    {
      std::ifstream random("/dev/urandom", std::ios::binary);
      std::ofstream out(data, std::ios::binary);
      std::string chunk(1 << 20, '\0');
      for (std::uint64_t i = 0; i < mib; ++i) {
        random.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      }
    }

    auto code = ok_or_throw(api.call("CreateRegisterCode", {{"Description", "bench"}}),
                            "CreateRegisterCode");
    ferry::test::AgentProcess agent(FERRY_AGENT_BINARY, dir / "agent", agent_config);
    auto reg =
        agent.register_with(server.endpoint(), code["RegisterCodeId"], code["RegisterCodeValue"]);
    if (reg.exit_code != 0) {
      throw std::runtime_error("register: " + reg.err);
    }
    agent.start();
    if (!agent.wait_log("push socket up")) {
      throw std::runtime_error("the agent did not connect: " + agent.log());
    }

    auto run = ok_or_throw(
        api.call("RunCommand", {{"Content", ferry::base64_encode("cat " + data.string())},
                                {"InstanceIds", {agent.instance_id()}},
                                {"OutputCOSBucketUrl", bucket_url},
                                {"OutputCOSKeyPrefix", "bench"},
                                {"Timeout", 3600}}),
        "RunCommand");
    const std::string inv = run["InvocationId"];

    // Until OutputUrl is visible: the supervisor's RSS sampled while it runs.
    long long supervisor_rss_kib = 0;
    std::optional<Wall::time_point> visible;
    json task;
    const auto deadline = Clock::now() + std::chrono::minutes(30);
    while (!visible && Clock::now() < deadline) {
      for (const auto& p : ferry::test::process_table()) {
        if (p.cmdline.find("supervise") != std::string::npos &&
            p.cmdline.find(agent.state_dir().string()) != std::string::npos) {
          supervisor_rss_kib = std::max(supervisor_rss_kib, status_kib(p.pid, "VmRSS"));
        }
      }
      auto r =
          ok_or_throw(api.call("DescribeInvocationTasks",
                               {{"Filters", {{{"Name", "invocation-id"}, {"Values", {inv}}}}}}),
                      "DescribeInvocationTasks");
      task = r["InvocationTaskSet"].at(0);
      if (task["TaskStatus"] != "RUNNING" && task["TaskStatus"] != "PENDING" &&
          task["TaskStatus"] != "DELIVERING") {
        visible = Wall::now();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const long long agent_hwm_kib = status_kib(agent.pid(), "VmHWM");
    const std::string task_id = task.value("InvocationTaskId", "");
    const std::string log = agent.log();
    const auto exited = log_time(log, "task " + task_id + ": SUCCESS");
    const auto began = log_time(log, "task " + task_id + ": uploading its output");
    const auto uploaded = log_time(log, "task " + task_id + ": output uploaded");
    // A multipart upload's last step: the store joins the parts.
    const auto parts_done = log.find("parts uploaded; completing") != std::string::npos
                                ? log_time(log, "parts uploaded; completing")
                                : std::nullopt;
    if (task["TaskStatus"] != "SUCCESS" || !visible || !exited || !began || !uploaded) {
      throw std::runtime_error("the task did not end with its output uploaded: " + task.dump() +
                               "\n" + log);
    }
    const std::string object = "bench/" + inv + "/" + task_id + ".log";
    std::error_code ec;
    const bool whole = fs::file_size(store.object_file(kBucket, object), ec) == bytes && !ec;

    // The floor: curl -T of the same file to the same store, on a URL presigned the same way.
    auto parsed = ferry::server::cos::parse_configured_bucket_url(bucket_url);
    if (!parsed) {
      throw std::runtime_error(parsed.error().message);
    }
    ferry::server::cos::BucketCredentials credentials;
    credentials.credentials.access_key_id = std::string(ferry::test::S3Store::kAccessKeyId);
    credentials.credentials.secret_access_key = std::string(ferry::test::S3Store::kSecretAccessKey);
    credentials.region = std::string(ferry::test::S3Store::kRegion);
    const ferry::server::cos::Presigner presigner(*parsed, credentials);
    auto put = presigner.put_object(
        "bench/floor.bin",
        std::chrono::duration_cast<std::chrono::seconds>(Wall::now().time_since_epoch()).count(),
        3600);
    if (!put) {
      throw std::runtime_error(put.error().message);
    }
    const double curl_s = curl_put_seconds(data, put->url);

    const double upload_s = seconds_between(*began, *uploaded);
    // s3rver joins the parts by copying every byte again; COS and S3 join them in metadata.
    const double complete_s = parts_done ? seconds_between(*parts_done, *uploaded) : 0.0;
    const double exit_to_visible_s = seconds_between(*exited, *visible);
    const double agent_mib = static_cast<double>(agent_hwm_kib) / 1024.0;
    const double supervisor_mib = static_cast<double>(supervisor_rss_kib) / 1024.0;
    const double mibf = static_cast<double>(mib);
    json out{
        {"output_mib", mib},
        {"object_whole", whole},
        {"agent_rss_peak_mib", agent_mib},
        {"supervisor_rss_peak_mib", supervisor_mib},
        {"rss_target_mib", kRssTargetMiB},
        {"upload_seconds", upload_s},
        {"upload_mib_per_s", mibf / upload_s},
        {"floor_curl_put_seconds", curl_s},
        {"floor_curl_mib_per_s", mibf / curl_s},
        {"upload_vs_curl_ratio", upload_s / curl_s},
        {"exit_to_output_url_visible_seconds", exit_to_visible_s},
        {"complete_multipart_seconds", complete_s},
        {"upload_before_complete_vs_curl_ratio", (upload_s - complete_s) / curl_s},
        {"met",
         {{"agent_rss", agent_mib <= kRssTargetMiB},
          {"supervisor_rss", supervisor_mib <= kRssTargetMiB}}},
    };
    std::cout << out.dump(2) << std::endl;
    agent.stop();
    return whole ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ferry-bench-upload: " << e.what() << "\n";
    return 1;
  }
}
