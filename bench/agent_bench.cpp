// End-to-end dispatch latency and the idle footprint of a real ferry-agent daemon, on loopback,
// each beside its floor measured in the same run:
//  start:   RunCommand returned -> the agent's ReportTaskStart reaching the server (seen by a
//           loopback proxy between agent and server, which timestamps the request as it passes);
//  success: RunCommand returned -> SUCCESS visible through DescribeInvocationTasks (polled every
//           --poll-us microseconds);
//  floor:   a bare fork/exec of the same script by bash plus one loopback HTTP round trip to the
//           same server;
//  idle:    the agent's RSS, CPU and wakeups (voluntary + involuntary context switches of all its
//           threads) over --idle-seconds with nothing to do.
// The server and the agent run with their production timing defaults (heartbeat 60 s, push
// pings after 30 s of silence). Usage: ferry-bench-agent [--runs N] [--idle-seconds S]
// [--poll-us U] (prints one JSON object)
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "api_client.hpp"
#include "bench_options.hpp"
#include "ferry/core/base64.hpp"
#include "proc_stats.hpp"
#include "server_process.hpp"
#include "tcp_proxy.hpp"

extern char** environ;

using Clock = std::chrono::steady_clock;
using ferry::bench::cpu_ticks;
using ferry::bench::status_kib;
using ferry::bench::thread_sum;
using nlohmann::json;

namespace {

constexpr double kStartTargetMs = 5;
constexpr double kSuccessTargetMs = 15;
constexpr double kRssTargetMiB = 8;
constexpr double kCpuTargetPercent = 0.1;
constexpr double kWakeupsTarget = 1;

struct Options {
  int runs = 200;
  int idle_seconds = 60;
  int poll_us = 1000;
};

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

json summary(std::vector<double> v) {
  if (v.empty()) {
    return json{{"count", 0}};
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  return json{{"count", v.size()},
              {"median_ms", at(0.5)},
              {"p99_ms", at(0.99)},
              {"max_ms", v.back()},
              {"min_ms", v.front()}};
}

json ok_or_throw(const ferry::test::ApiResponse& r, const char* what) {
  if (!r.ok()) {
    throw std::runtime_error(std::string(what) + ": " + r.describe());
  }
  return r.response;
}

// fork/exec of bash on the script, waited for.
Clock::duration bare_run(const std::string& script) {
  const auto t0 = Clock::now();
  pid_t pid = 0;
  std::string bash = "/bin/bash";
  char* argv[] = {bash.data(), const_cast<char*>(script.c_str()), nullptr};
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ) != 0) {
    throw std::runtime_error("posix_spawn failed");
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return Clock::now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ferry::bench::parse_bench_options(
      argc, argv, "ferry-bench-agent [--runs N] [--idle-seconds S] [--poll-us U]",
      {{"--runs", true, [&](const std::string& v) { o.runs = std::max(1, std::stoi(v)); }},
       {"--idle-seconds", true,
        [&](const std::string& v) { o.idle_seconds = std::max(1, std::stoi(v)); }},
       {"--poll-us", true,
        [&](const std::string& v) { o.poll_us = std::max(100, std::stoi(v)); }}});
  try {
    ferry::test::ServerProcess server(FERRY_SERVER_BIN, json{{"heartbeat_interval_s", 60},
                                                             {"online_window_s", 180},
                                                             {"sweep_interval_ms", 1000},
                                                             {"task_timeout_grace_s", 60}});
    ferry::test::TcpProxy proxy(server.port());
    std::mutex mu;
    std::map<std::string, Clock::time_point> start_seen;
    const std::regex start_re(
        R"re("Action":"ReportTaskStart".*"InvocationTaskId":"([A-Za-z0-9_-]+)")re");
    const std::regex start_re2(
        R"re("InvocationTaskId":"([A-Za-z0-9_-]+)".*"Action":"ReportTaskStart")re");
    proxy.on_client_data([&](std::string_view chunk) {
      if (chunk.find("ReportTaskStart") == std::string_view::npos) {
        return;
      }
      const auto now = Clock::now();
      std::string text(chunk);
      std::smatch m;
      if (std::regex_search(text, m, start_re) || std::regex_search(text, m, start_re2)) {
        std::lock_guard lock(mu);
        start_seen.emplace(m[1].str(), now);
      }
    });

    auto api = server.api();
    auto code = ok_or_throw(api.call("CreateRegisterCode", {{"Description", "bench"}}),
                            "CreateRegisterCode");
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-bench.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    const std::filesystem::path dir = tmpl;
    ferry::test::AgentProcess agent(FERRY_AGENT_BINARY, dir / "agent",
                                    json{{"log_level", "info"}, {"poll_interval_ms", 15000}});
    auto reg =
        agent.register_with(proxy.endpoint(), code["RegisterCodeId"], code["RegisterCodeValue"]);
    if (reg.exit_code != 0) {
      throw std::runtime_error("register: " + reg.err);
    }
    agent.start();
    if (!agent.wait_log("push socket up")) {
      throw std::runtime_error("the agent did not connect: " + agent.log());
    }
    const std::string instance = agent.instance_id();

    // Dispatch: RunCommand of `true`, then DescribeInvocationTasks until SUCCESS.
    std::vector<double> start_ms;
    std::vector<double> success_ms;
    int failures = 0;
    int missing_start = 0;
    const int warmup = 10;
    for (int i = 0; i < o.runs + warmup; ++i) {
      auto run = ok_or_throw(api.call("RunCommand", {{"Content", ferry::base64_encode("true")},
                                                     {"InstanceIds", {instance}}}),
                             "RunCommand");
      const auto returned = Clock::now();
      const std::string inv = run["InvocationId"];
      std::string task_id;
      std::string status;
      const auto deadline = returned + std::chrono::seconds(30);
      for (;;) {
        auto r =
            ok_or_throw(api.call("DescribeInvocationTasks",
                                 {{"Filters", {{{"Name", "invocation-id"}, {"Values", {inv}}}}}}),
                        "DescribeInvocationTasks");
        const auto& t = r["InvocationTaskSet"].at(0);
        status = t["TaskStatus"];
        task_id = t["InvocationTaskId"];
        if (status == "SUCCESS" || status == "FAILED" || status == "START_FAILED" ||
            Clock::now() > deadline) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(o.poll_us));
      }
      const auto succeeded = Clock::now();
      if (i < warmup) {
        continue;
      }
      if (status != "SUCCESS") {
        ++failures;
        continue;
      }
      success_ms.push_back(ms(succeeded - returned));
      std::lock_guard lock(mu);
      auto it = start_seen.find(task_id);
      if (it == start_seen.end()) {
        ++missing_start;
      } else {
        start_ms.push_back(ms(it->second - returned));
      }
    }

    // The floor: bash on the same script, plus one loopback HTTP round trip to the server.
    const auto script = dir / "true.sh";
    {
      std::ofstream out(script);
      out << "true";
    }
    ferry::test::ApiClient raw_client = server.api();
    std::vector<double> floor_ms;
    for (int i = 0; i < o.runs + warmup; ++i) {
      const auto exec = bare_run(script.string());
      const auto t0 = Clock::now();
      auto reply = raw_client.raw("GET", "/nowhere");
      const auto http = Clock::now() - t0;
      if (reply.status == 0) {
        throw std::runtime_error("floor request failed: " + reply.transport_error);
      }
      if (i >= warmup) {
        floor_ms.push_back(ms(exec + http));
      }
    }

    // Idle: nothing to do for idle_seconds.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const pid_t pid = agent.pid();
    const long long ticks0 = cpu_ticks(pid);
    const long long ctx0 =
        thread_sum(pid, "voluntary_ctxt_switches") + thread_sum(pid, "nonvoluntary_ctxt_switches");
    long long rss_max = 0;
    const auto idle_start = Clock::now();
    for (int s = 0; s < o.idle_seconds; ++s) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      rss_max = std::max(rss_max, status_kib(pid, "VmRSS"));
    }
    const double idle_elapsed = std::chrono::duration<double>(Clock::now() - idle_start).count();
    const long long ticks1 = cpu_ticks(pid);
    const long long ctx1 =
        thread_sum(pid, "voluntary_ctxt_switches") + thread_sum(pid, "nonvoluntary_ctxt_switches");
    const double cpu_percent = 100.0 * static_cast<double>(ticks1 - ticks0) /
                               static_cast<double>(::sysconf(_SC_CLK_TCK)) / idle_elapsed;
    const double wakeups = static_cast<double>(ctx1 - ctx0) / idle_elapsed;
    const double rss_mib = static_cast<double>(rss_max) / 1024.0;
    const long long hwm = status_kib(pid, "VmHWM");
    agent.stop();

    auto start_summary = summary(start_ms);
    auto success_summary = summary(success_ms);
    auto floor_summary = summary(floor_ms);
    json out{{"runs", o.runs},
             {"poll_interval_us", o.poll_us},
             {"failures", failures},
             {"start_reports_not_seen", missing_start},
             {"dispatch_to_start", start_summary},
             {"dispatch_to_success", success_summary},
             {"floor_exec_plus_http", floor_summary},
             {"idle",
              {{"seconds", idle_elapsed},
               {"rss_max_mib", rss_mib},
               {"rss_peak_whole_run_mib", static_cast<double>(hwm) / 1024.0},
               {"cpu_percent", cpu_percent},
               {"wakeups_per_second", wakeups}}},
             {"targets",
              {{"start_median_ms_max", kStartTargetMs},
               {"success_median_ms_max", kSuccessTargetMs},
               {"idle_rss_mib_max", kRssTargetMiB},
               {"idle_cpu_percent_max", kCpuTargetPercent},
               {"idle_wakeups_per_second_max", kWakeupsTarget}}},
             {"met",
              {{"start", start_summary.value("median_ms", 1e9) <= kStartTargetMs},
               {"success", success_summary.value("median_ms", 1e9) <= kSuccessTargetMs},
               {"idle_rss", rss_mib <= kRssTargetMiB},
               {"idle_cpu", cpu_percent <= kCpuTargetPercent},
               {"idle_wakeups", wakeups <= kWakeupsTarget}}}};
    std::cout << out.dump(2) << std::endl;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ferry-bench-agent: " << e.what() << "\n";
    return 1;
  }
}
