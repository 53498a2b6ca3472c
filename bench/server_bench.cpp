// Request throughput and latency of ferry-server on loopback, each figure beside its floor
// measured in the same run against the same server:
//  floor:                    GET /nowhere, answered 404 with the small error envelope before any
//                            authentication, body parsing or store access (HTTP + routing only);
//  signed_floor:             signed DescribeRegions: the same HTTP, TC3 signing and verification,
//                            body parse and envelope as the API actions, but a reply from the
//                            configuration (no store);
//  describe_invocation_tasks: signed DescribeInvocationTasks, Limit 100, HideOutput false, over
//                            100 finished tasks with 1 KiB of output each;
//  run_command:              signed RunCommand onto one registered instance (a store write).
// N client threads (16), one keep-alive connection each, for a fixed duration per kind or until
// a bounded number of requests. The server is started here (release build from the same build
// dir) in a temporary directory, rate limiting off, and stopped at the end.
// Usage: ferry-bench-server [--duration S] [--threads N] [--max-requests N] [--server PATH]
//                           [--only KIND]   (one kind alone, e.g. to profile the server)
//        (prints one JSON object)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "bench_options.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/ed25519.hpp"
#include "server_process.hpp"

using ferry::test::AgentClient;
using ferry::test::ApiClient;
using ferry::test::ApiResponse;
using nlohmann::json;

namespace {

constexpr double kDescribeTargetRps = 3000;
constexpr double kFloorFractionTarget = 0.5;

struct Options {
  double duration_s = 5;
  int threads = 16;
  long max_requests = 1'000'000;  // per kind, over all threads
  std::string server = FERRY_SERVER_BIN;
  std::string only;  // "": every kind
};

json ok_or_throw(const ApiResponse& r, const char* what) {
  if (!r.ok()) {
    throw std::runtime_error(std::string(what) + ": " + r.describe());
  }
  return r.response;
}

// A registered instance, made through the API and the agent protocol.
AgentClient enroll(ApiClient& api, const std::string& endpoint) {
  auto code =
      ok_or_throw(api.call("CreateRegisterCode", {{"Description", "bench"}}), "CreateRegisterCode");
  auto key = ferry::Ed25519PrivateKey::generate();
  if (!key) {
    throw std::runtime_error("key generation failed");
  }
  AgentClient agent(endpoint, "", std::move(key).value());
  ok_or_throw(agent.register_instance(code["RegisterCodeId"], code["RegisterCodeValue"]),
              "RegisterInstance");
  ok_or_throw(agent.call("Heartbeat", {{"Version", "bench"}}), "Heartbeat");
  return agent;
}

// 100 tasks on `agent`'s instance, each finished with 1 KiB of output.
void seed_tasks(ApiClient& api, AgentClient& agent, int n) {
  const std::string output(1024, 'o');
  for (int i = 0; i < n; ++i) {
    ok_or_throw(api.call("RunCommand", {{"Content", ferry::base64_encode("echo bench")},
                                        {"InstanceIds", {agent.instance_id()}}}),
                "RunCommand");
  }
  int finished = 0;
  while (finished < n) {
    auto reply = ok_or_throw(agent.call("DescribeTasks"), "DescribeTasks");
    const auto& set = reply["InvocationNormalTaskSet"];
    if (set.empty()) {
      throw std::runtime_error("DescribeTasks handed over fewer tasks than were made");
    }
    for (const auto& t : set) {
      const std::string id = t["InvocationTaskId"];
      ok_or_throw(agent.call("ReportTaskStart", {{"InvocationTaskId", id}}), "ReportTaskStart");
      ok_or_throw(agent.call("ReportTaskFinish", {{"InvocationTaskId", id},
                                                  {"Result", "SUCCESS"},
                                                  {"ExitCode", 0},
                                                  {"Output", ferry::base64_encode(output)},
                                                  {"OutputSize", output.size()}}),
                  "ReportTaskFinish");
      ++finished;
    }
  }
}

// One request of a kind on the calling thread's client: true when answered as expected.
using Request = std::function<bool(ApiClient&)>;

json measure(const std::string& endpoint, const Options& o, const Request& request) {
  std::atomic<long> issued{0};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(o.threads));
  const auto duration = std::chrono::duration<double>(o.duration_s);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      ApiClient client(endpoint, ferry::test::kTestSecretId, ferry::test::kTestSecretKey,
                       ferry::test::kTestRegion);
      auto& lat = latencies[static_cast<std::size_t>(t)];
      lat.reserve(100'000);
      while (std::chrono::steady_clock::now() < deadline &&
             issued.fetch_add(1, std::memory_order_relaxed) < o.max_requests) {
        const auto t0 = std::chrono::steady_clock::now();
        const bool ok = request(client);
        const auto t1 = std::chrono::steady_clock::now();
        lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (!ok) {
          errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) {
    all.insert(all.end(), l.begin(), l.end());
  }
  std::sort(all.begin(), all.end());
  const auto at = [&](double q) {
    if (all.empty()) {
      return 0.0;
    }
    return all[std::min(all.size() - 1,
                        static_cast<std::size_t>(q * static_cast<double>(all.size())))];
  };
  const auto count = static_cast<double>(all.size());
  return json{{"requests", all.size()},
              {"errors", errors.load()},
              {"seconds", elapsed},
              {"rps", elapsed > 0 ? count / elapsed : 0.0},
              {"p50_ms", at(0.5)},
              {"p99_ms", at(0.99)},
              {"max_ms", all.empty() ? 0.0 : all.back()}};
}

Options parse_options(int argc, char** argv) {
  Options o;
  ferry::bench::parse_bench_options(
      argc, argv,
      "ferry-bench-server [--duration S] [--threads N] [--max-requests N] [--server PATH] [--only "
      "KIND]",
      {{"--duration", true, [&](const std::string& v) { o.duration_s = std::stod(v); }},
       {"--threads", true, [&](const std::string& v) { o.threads = std::stoi(v); }},
       {"--max-requests", true, [&](const std::string& v) { o.max_requests = std::stol(v); }},
       {"--server", true, [&](const std::string& v) { o.server = v; }},
       {"--only", true, [&](const std::string& v) { o.only = v; }}});
  if (o.duration_s <= 0 || o.threads < 1 || o.max_requests < 1) {
    throw std::runtime_error("--duration, --threads and --max-requests must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_options(argc, argv);
    ferry::test::ServerProcess server(o.server, {{"rate_limit", 0},
                                                 {"io_threads", 0},
                                                 {"log_level", "warn"},
                                                 {"heartbeat_interval_s", 60},
                                                 {"online_window_s", 600},
                                                 {"task_timeout_grace_s", 600},
                                                 {"deliver_timeout_s", 3600},
                                                 {"sweep_interval_ms", 1000}});
    auto api = server.api();
    auto reader = enroll(api, server.endpoint());
    auto target = enroll(api, server.endpoint());
    seed_tasks(api, reader, 100);

    const json describe_body{
        {"Filters", {{{"Name", "instance-id"}, {"Values", {reader.instance_id()}}}}},
        {"Limit", 100},
        {"HideOutput", false}};
    {
      // The request the figure is about must return the 100 tasks with their output.
      auto r = ok_or_throw(api.call("DescribeInvocationTasks", describe_body), "check");
      if (r["InvocationTaskSet"].size() != 100 ||
          r["InvocationTaskSet"][0]["TaskResult"]["Output"] == "") {
        throw std::runtime_error("DescribeInvocationTasks does not list 100 tasks with output");
      }
    }
    const json run_body{{"Content", ferry::base64_encode("echo bench")},
                        {"InstanceIds", {target.instance_id()}}};

    json out;
    out["threads"] = o.threads;
    out["duration_s"] = o.duration_s;
    out["max_requests_per_kind"] = o.max_requests;
    const auto run = [&](const char* kind, const char* what, const Request& request) {
      if (o.only.empty() || o.only == kind) {
        out[kind] = measure(server.endpoint(), o, request);
        out[kind]["request"] = what;
      }
    };
    run("floor", "GET /nowhere: 404 error envelope, no authentication or store",
        [](ApiClient& c) { return c.raw("GET", "/nowhere").status == 404; });
    run("signed_floor", "signed DescribeRegions: TC3, body parse, envelope; no store",
        [](ApiClient& c) {
          const auto r = c.call_unparsed("DescribeRegions", "{}");
          return r.status == 200 && r.body.find("\"RegionSet\"") != std::string::npos;
        });
    // Replies are checked without parsing them (a 140 KB JSON parse per reply would take as
    // much client CPU as the server spends); the check above showed what they hold.
    const std::string describe_text = describe_body.dump();
    run("describe_invocation_tasks",
        "signed DescribeInvocationTasks, Limit 100, HideOutput false, 100 tasks x 1 KiB output",
        [&](ApiClient& c) {
          const auto r = c.call_unparsed("DescribeInvocationTasks", describe_text);
          return r.status == 200 && r.body.find("\"Error\":{") == std::string::npos &&
                 r.body.size() > 100 * 1024;
        });
    const std::string run_text = run_body.dump();
    run("run_command", "signed RunCommand onto one registered instance", [&](ApiClient& c) {
      const auto r = c.call_unparsed("RunCommand", run_text);
      return r.status == 200 && r.body.find("\"InvocationId\"") != std::string::npos;
    });

    const auto rps_of = [&](const char* kind) {
      return out.contains(kind) ? out[kind]["rps"].get<double>() : 0.0;
    };
    const double floor_rps = rps_of("floor");
    const double signed_floor_rps = rps_of("signed_floor");
    for (const char* kind : {"describe_invocation_tasks", "run_command"}) {
      if (out.contains(kind)) {
        const double rps = rps_of(kind);
        out[kind]["fraction_of_floor"] = floor_rps > 0 ? rps / floor_rps : 0.0;
        out[kind]["fraction_of_signed_floor"] = signed_floor_rps > 0 ? rps / signed_floor_rps : 0.0;
      }
    }
    const double describe_rps = rps_of("describe_invocation_tasks");
    out["targets"] = {
        {"describe_invocation_tasks_rps", kDescribeTargetRps},
        {"describe_invocation_tasks_rps_met", describe_rps >= kDescribeTargetRps},
        {"describe_invocation_tasks_fraction_of_floor", kFloorFractionTarget},
        {"describe_invocation_tasks_fraction_of_floor_met",
         describe_rps >= kFloorFractionTarget * floor_rps},
        {"describe_invocation_tasks_fraction_of_signed_floor_met",
         describe_rps >= kFloorFractionTarget * signed_floor_rps},
    };
    out["note"] =
        "clients sign TC3 requests on the same machine as the server, so client CPU is included";
    server.stop();
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ferry-bench-server: " << e.what() << "\n";
    return 1;
  }
}
