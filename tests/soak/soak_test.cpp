// The soak (scripts/soak, not part of scripts/test): one ferry-server and four ferry-agents on
// loopback run a steady mix of tasks (short, long, big-output, timed-out, cancelled) for
// FERRY_SOAK_MINUTES (default 60). Every minute it samples each process's resident set, open
// descriptors and threads and each agent's state directory; at the end it fails on growth past
// the bounds below (measured from the first sample after the warm-up minute) and on any result
// that was lost (not final in time), wrong (status or output) or doubled (two finished lines in
// an agent's audit log). It writes its figures to FERRY_SOAK_RESULTS (a JSON file) and a table
// to stdout.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "started_agent.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Growth allowed between the first sample after the warm-up and the last one.
constexpr std::int64_t kRssGrowthKiB = 16 * 1024;  // and 25 % of the first sample
constexpr int kFdGrowth = 8;
constexpr int kThreadGrowth = 4;
constexpr std::int64_t kStateDirGrowthBytes = 32 << 20;

constexpr int kAgents = 4;

struct Sample {
  std::int64_t rss_kib = 0;
  int fds = 0;
  int threads = 0;
  std::int64_t dir_bytes = -1;  // agents only
};

// VmRSS and Threads of /proc/PID/status, the entries of /proc/PID/fd.
Sample sample_process(pid_t pid) {
  Sample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      s.rss_kib = std::stoll(line.substr(6));
    } else if (line.starts_with("Threads:")) {
      s.threads = std::stoi(line.substr(8));
    }
  }
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++s.fds;
  }
  return s;
}

std::int64_t dir_bytes(const fs::path& dir) {
  std::int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) {
      total += static_cast<std::int64_t>(it->file_size(ec2));
    }
  }
  return total;
}

// One kind of task of the mix.
struct Kind {
  std::string name;
  std::string script;
  json extra;
  std::string status;  // the final status it must reach
  std::string output;  // its Output, exactly ("" : not checked)
  bool cancel = false;
};

std::vector<Kind> mix() {
  return {
      {"short", "echo short", json{{"Timeout", 60}}, "SUCCESS", "short\n"},
      {"long", "sleep 25; echo long", json{{"Timeout", 120}}, "SUCCESS", "long\n"},
      // 8 MiB of output: Output keeps 24 KiB of it.
      {"big", "head -c 8388608 /dev/zero | tr '\\0' x", json{{"Timeout", 120}}, "SUCCESS", ""},
      {"timeout", "sleep 60", json{{"Timeout", 2}}, "TIMEOUT", ""},
      {"cancel", "sleep 60", json{{"Timeout", 120}}, "TERMINATED", "", true},
  };
}

struct Pending {
  std::string invocation;
  std::size_t kind = 0;
  SteadyClock::time_point created;
  bool cancelled = false;
};

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

}  // namespace

TEST_CASE("soak: a steady mix on one server and four agents, bounded growth, no lost result",
          "[.soak]") {
  const auto minutes = std::max<std::int64_t>(1, env_int("FERRY_SOAK_MINUTES", 60));
  const fs::path results_file =
      std::getenv("FERRY_SOAK_RESULTS") != nullptr ? std::getenv("FERRY_SOAK_RESULTS") : "";

  // Production's grace for a final report (60 s, not the black-box tests' 1 s): a report a
  // second late is not a lost result.
  // FERRY_SOAK_LOG_LEVEL (default info) for the server and the agents: debug when a failure
  // needs every report's story.
  const std::string log_level =
      std::getenv("FERRY_SOAK_LOG_LEVEL") != nullptr ? std::getenv("FERRY_SOAK_LOG_LEVEL") : "info";
  ServerProcess server(
      FERRY_SERVER_BIN,
      json{{"log_level", log_level}, {"online_window_s", 60}, {"task_timeout_grace_s", 60}});
  ApiClient api = server.api();
  const TempDir scratch{"ferry-soak", 0755};
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<std::string> ids;
  for (int i = 0; i < kAgents; ++i) {
    auto [code_id, code] = create_register_code(api);
    agents.push_back(std::make_unique<AgentProcess>(
        FERRY_AGENT_BINARY, scratch / ("a" + std::to_string(i)), json{{"log_level", log_level}}));
    register_and_start(*agents.back(), server.endpoint(), code_id, code);
    ids.push_back(agents.back()->instance_id());
  }

  const auto kinds = mix();
  std::deque<Pending> pending;
  std::map<std::string, int> done_by_kind;
  std::vector<std::string> failures;
  std::size_t created = 0;
  std::vector<std::vector<Sample>> samples;  // per minute: server, then the agents

  const auto take_sample = [&] {
    std::vector<Sample> row{sample_process(server.pid())};
    for (const auto& a : agents) {
      Sample s = sample_process(a->pid());
      s.dir_bytes = dir_bytes(a->state_dir());
      row.push_back(s);
    }
    samples.push_back(std::move(row));
    const auto& r = samples.back();
    std::cout << "minute " << std::setw(3) << samples.size() - 1 << "  server rss " << r[0].rss_kib
              << " KiB fds " << r[0].fds << " threads " << r[0].threads;
    for (std::size_t i = 1; i < r.size(); ++i) {
      std::cout << " | agent" << i - 1 << " " << r[i].rss_kib << " KiB " << r[i].fds << " fds "
                << r[i].threads << " thr " << r[i].dir_bytes / 1024 << " KiB dir";
    }
    std::cout << "  (tasks created " << created << ", in flight " << pending.size() << ")"
              << std::endl;
  };

  // Polls the oldest invocations; a final one is checked and dropped.
  const auto settle = [&] {
    const auto limit_of = [&](const Pending& p) {
      return p.created + std::chrono::seconds(kinds[p.kind].extra["Timeout"].get<int>()) + 90s;
    };
    for (auto it = pending.begin(); it != pending.end();) {
      const Kind& k = kinds[it->kind];
      if (k.cancel && !it->cancelled && SteadyClock::now() - it->created > 1s) {
        must(api.call("CancelInvocation", {{"InvocationId", it->invocation}}));
        it->cancelled = true;
      }
      auto r = api.call("DescribeInvocationTasks",
                        {{"Filters", {{{"Name", "invocation-id"}, {"Values", {it->invocation}}}}},
                         {"HideOutput", k.output.empty()}});
      if (!r.ok()) {
        failures.push_back("DescribeInvocationTasks failed: " + r.describe());
        ++it;
        continue;
      }
      const auto& set = r.response["InvocationTaskSet"];
      bool all_final = set.size() == 1;
      for (const auto& t : set) {
        all_final = all_final && is_final_status(t["TaskStatus"].get<std::string>());
      }
      if (!all_final) {
        if (SteadyClock::now() > limit_of(*it)) {
          failures.push_back(k.name + " " + it->invocation + " lost: not final in time (" +
                             set.dump() + ")");
          it = pending.erase(it);
        } else {
          ++it;
        }
        continue;
      }
      const auto& t = set[0];
      // A cancel that lands before the task started gives CANCELLED: not a failure.
      if (t["TaskStatus"] != k.status && !(k.cancel && t["TaskStatus"] == "CANCELLED")) {
        failures.push_back(k.name + " " + it->invocation + ": " +
                           t["TaskStatus"].get<std::string>() + ", not " + k.status);
      } else if (!k.output.empty() && unb64(t["TaskResult"]["Output"]) != k.output) {
        failures.push_back(k.name + " " + it->invocation + ": wrong output");
      }
      ++done_by_kind[k.name];
      it = pending.erase(it);
    }
  };

  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::minutes(minutes);
  auto next_sample = start;
  std::size_t round = 0;
  while (SteadyClock::now() < end) {
    if (SteadyClock::now() >= next_sample) {
      take_sample();
      next_sample += 1min;
    }
    // One round every 2 s: a short task on every agent, and in turn one of the other kinds.
    for (std::size_t a = 0; a < ids.size(); ++a) {
      const std::size_t kind = (round + a) % 4 == 0 ? 1 + (round / 4 + a) % (kinds.size() - 1) : 0;
      pending.push_back({run_command(api, {ids[a]}, kinds[kind].script, kinds[kind].extra), kind,
                         SteadyClock::now()});
      ++created;
    }
    ++round;
    settle();
    std::this_thread::sleep_for(2s);
  }
  // Drained: everything in flight reaches its end (bounded by each task's own limit).
  const auto drain_until = SteadyClock::now() + 4min;
  while (!pending.empty() && SteadyClock::now() < drain_until) {
    settle();
    std::this_thread::sleep_for(500ms);
  }
  for (const auto& p : pending) {
    failures.push_back(kinds[p.kind].name + " " + p.invocation + " lost: still in flight");
  }
  // The agents let go of every reported task.
  for (const auto& a : agents) {
    if (!eventually([&] { return a->journal_empty(); }, 30s)) {
      failures.push_back("an agent's journal still holds tasks after the drain");
    }
  }
  take_sample();

  // Doubled results: one "finished" audit line per task, whatever the agent.
  std::size_t finished_lines = 0;
  for (const auto& a : agents) {
    for (const auto& f : fs::directory_iterator(a->state_dir())) {
      if (f.path().filename().string().starts_with("audit.log")) {  // rotated ones too
        finished_lines += count_occurrences(read_file(f.path()), "\"event\":\"finished\"");
      }
    }
  }
  std::size_t done = 0;
  for (const auto& [k, n] : done_by_kind) {
    done += static_cast<std::size_t>(n);
  }
  if (finished_lines != created) {
    failures.push_back("the agents' audit logs hold " + std::to_string(finished_lines) +
                       " finished lines for " + std::to_string(created) + " tasks");
  }

  // Growth from the first sample after the warm-up minute to the last.
  const std::size_t base = samples.size() > 2 ? 1 : 0;
  json figures = json::array();
  for (std::size_t p = 0; p < samples[0].size(); ++p) {
    const Sample& first = samples[base][p];
    const Sample& last = samples.back()[p];
    const std::string who = p == 0 ? "server" : "agent" + std::to_string(p - 1);
    const std::int64_t rss_bound = kRssGrowthKiB + first.rss_kib / 4;
    json f{{"process", who},
           {"rss_kib", {first.rss_kib, last.rss_kib}},
           {"rss_growth_bound_kib", rss_bound},
           {"fds", {first.fds, last.fds}},
           {"threads", {first.threads, last.threads}}};
    if (last.rss_kib - first.rss_kib > rss_bound) {
      failures.push_back(who + ": resident set grew from " + std::to_string(first.rss_kib) +
                         " to " + std::to_string(last.rss_kib) + " KiB");
    }
    if (last.fds - first.fds > kFdGrowth) {
      failures.push_back(who + ": descriptors grew from " + std::to_string(first.fds) + " to " +
                         std::to_string(last.fds));
    }
    if (last.threads - first.threads > kThreadGrowth) {
      failures.push_back(who + ": threads grew from " + std::to_string(first.threads) + " to " +
                         std::to_string(last.threads));
    }
    if (p > 0) {
      f["state_dir_bytes"] = {first.dir_bytes, last.dir_bytes};
      if (last.dir_bytes - first.dir_bytes > kStateDirGrowthBytes) {
        failures.push_back(who + ": state directory grew from " + std::to_string(first.dir_bytes) +
                           " to " + std::to_string(last.dir_bytes) + " bytes");
      }
    }
    figures.push_back(f);
  }
  const json report{{"minutes", minutes},
                    {"tasks", created},
                    {"finished_by_kind", done_by_kind},
                    {"processes", figures},
                    {"bounds",
                     {{"rss_growth_kib", "16384 + 25% of the first sample"},
                      {"fd_growth", kFdGrowth},
                      {"thread_growth", kThreadGrowth},
                      {"state_dir_growth_bytes", kStateDirGrowthBytes}}},
                    {"failures", failures}};
  std::cout << report.dump(2) << std::endl;
  if (!results_file.empty()) {
    std::ofstream(results_file) << report.dump(2) << "\n";
  }
  // What a failure needs looking into, kept beside the results (the test's own directories go
  // at its end): every agent's log, the journal records still held, the server's stderr.
  if (!failures.empty() && !results_file.empty()) {
    const fs::path keep = results_file.parent_path() / "soak-failure";
    fs::remove_all(keep);
    fs::create_directories(keep);
    std::ofstream(keep / "server.err") << server.stderr_text();
    for (std::size_t i = 0; i < agents.size(); ++i) {
      const std::string name = "agent" + std::to_string(i);
      std::ofstream(keep / (name + ".log")) << agents[i]->all_logs();
      std::error_code ec;
      fs::copy(agents[i]->state_dir() / "tasks", keep / (name + "-tasks"),
               fs::copy_options::recursive, ec);
      fs::copy_file(agents[i]->state_dir() / "audit.log", keep / (name + "-audit.log"), ec);
    }
    std::cout << "soak: logs and the journal records still held are in " << keep << std::endl;
  }
  INFO(report.dump(2));
  CHECK(done == created);
  CHECK(failures.empty());
}
