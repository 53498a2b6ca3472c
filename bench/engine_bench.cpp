// Figures of the execution engine, each beside its floor measured in the same run:
//  1. time from a task handed to the runner to its script's first instruction, against a bare
//     fork/exec of the same interpreter on the same script;
//  2. throughput of a task printing 1 GiB, against `script > file` on the same disk;
//  3. peak RSS of the agent (run-task) and of the supervisor during 2.
// Usage: ferry-bench-engine [--runs N] [--output-runs K] [--bytes B] [--dir DIR]
//        (prints one JSON object)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/supervisor.hpp"
#include "ferry/agent/task_runner.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/task.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The first instruction of the script prints the wall clock in microseconds (a bash builtin,
// no fork), so both paths are timed to the same point.
constexpr const char* kStampScript = "echo $EPOCHREALTIME\n";

double now_us() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

double parse_stamp(const std::string& out) {
  std::string s = out;
  std::replace(s.begin(), s.end(), ',', '.');
  return std::stod(s) * 1e6;
}

json summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  return json{{"median", at(0.5)},
              {"p90", at(0.9)},
              {"p99", at(0.99)},
              {"max", v.back()},
              {"runs", v.size()}};
}

// Floor: fork, exec bash on the script, read its stamp from a pipe.
double floor_start_us(const std::string& script_path) {
  int fds[2];
  if (::pipe(fds) != 0) {
    throw std::runtime_error("pipe");
  }
  const double t0 = now_us();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/bin/bash", "bash", script_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return parse_stamp(out) - t0;
}

ferry::Task make_task(const std::string& id, const std::string& script) {
  ferry::Task t;
  t.invocation_task_id = id;
  t.invocation_id = "inv-bench";
  t.command_id = "cmd-bench";
  t.content = ferry::base64_encode(script);
  return t;
}

json bench_start(const fs::path& dir, int runs) {
  const fs::path script = dir / "stamp.sh";
  std::ofstream(script) << kStampScript;
  std::vector<double> floor;
  std::vector<double> ferry_runs;
  ferry::agent::RunnerOptions options;
  options.state_dir = dir / "state";
  options.supervisor_executable = ferry::agent::default_supervisor_executable(FERRY_AGENT_BINARY);
  if (auto s = ferry::agent::prepare_state_dir(options.state_dir); !s) {
    throw std::runtime_error(s.error().message);
  }
  boost::asio::io_context io;
  ferry::agent::TaskRunner runner(io, options);
  for (int i = 0; i < runs; ++i) {
    floor.push_back(floor_start_us(script.string()));
    std::optional<ferry::TaskResult> result;
    const double t0 = now_us();
    runner.submit(make_task("invt-start" + std::to_string(i), kStampScript),
                  [&](ferry::TaskResult r) { result = std::move(r); });
    io.restart();
    io.run();
    if (!result || result->status != ferry::TaskStatus::kSuccess) {
      throw std::runtime_error("bench task failed: " + (result ? result->error_info : ""));
    }
    ferry_runs.push_back(parse_stamp(result->output) - t0);
  }
  auto f = summarize(floor);
  auto r = summarize(ferry_runs);
  return json{{"floor_fork_exec_us", f},
              {"ferry_runner_us", r},
              {"added_median_us", r["median"].get<double>() - f["median"].get<double>()},
              {"target_added_median_us", 2000}};
}

long vm_hwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

std::optional<pid_t> find_supervisor(pid_t parent) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream st(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 2, "%c %d", &state, &ppid) == 2 && ppid == parent) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return std::nullopt;
}

struct OutputRun {
  double floor_s = 0;
  double ferry_s = 0;
  long agent_peak_kib = 0;
  long supervisor_peak_kib = 0;
};

double floor_once(const fs::path& dir, const std::string& producer) {
  // The same command with its output sent straight to a file on the same disk.
  const fs::path floor_file = dir / "floor.out";
  const auto f0 = std::chrono::steady_clock::now();
  const std::string cmd = "/bin/bash -c '" + producer + " > " + floor_file.string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("floor command failed");
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
  fs::remove(floor_file);
  return s;
}

OutputRun output_once(const fs::path& dir, uint64_t bytes, int index) {
  OutputRun run;
  const std::string producer = "head -c " + std::to_string(bytes) + " /dev/zero";
  // Whichever writes second pays for the first one's 1 GiB (its unlink and the file system's
  // catching up), so the order alternates from one repetition to the next.
  const bool floor_first = index % 2 == 0;
  if (floor_first) {
    run.floor_s = floor_once(dir, producer);
  }

  const std::string id = "invt-bigout" + std::to_string(index);
  const fs::path task_file = dir / "big.json";
  std::ofstream(task_file) << ferry::to_json(make_task(id, producer + "\n")).dump();
  const std::string state = (dir / "state").string();
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t agent = ::fork();
  if (agent == 0) {
    if (std::freopen("/dev/null", "w", stdout) == nullptr) {
      ::_exit(126);
    }
    // --keep: the floor's file is removed outside its timed window, and so is the spool.
    ::execl(FERRY_AGENT_BINARY, "ferry-agent", "run-task", "--task", task_file.c_str(),
            "--state-dir", state.c_str(), "--keep", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::optional<pid_t> supervisor;
  int status = 0;
  while (::waitpid(agent, &status, WNOHANG) == 0) {
    run.agent_peak_kib = std::max(run.agent_peak_kib, vm_hwm_kib(agent));
    if (!supervisor) {
      supervisor = find_supervisor(agent);
    }
    if (supervisor) {
      run.supervisor_peak_kib = std::max(run.supervisor_peak_kib, vm_hwm_kib(*supervisor));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  run.ferry_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove_all(dir / "state" / "tasks" / id);
  if (!floor_first) {
    run.floor_s = floor_once(dir, producer);
  }
  return run;
}

// Runs the floor and the task `reps` times; the medians damp the page cache's moods.
json bench_output(const fs::path& dir, uint64_t bytes, int reps) {
  std::vector<double> floor_mibps;
  std::vector<double> ferry_mibps;
  std::vector<double> ratios;
  long agent_peak = 0;
  long supervisor_peak = 0;
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  for (int i = 0; i < reps; ++i) {
    const OutputRun run = output_once(dir, bytes, i);
    floor_mibps.push_back(mib / run.floor_s);
    ferry_mibps.push_back(mib / run.ferry_s);
    ratios.push_back(run.floor_s / run.ferry_s);
    agent_peak = std::max(agent_peak, run.agent_peak_kib);
    supervisor_peak = std::max(supervisor_peak, run.supervisor_peak_kib);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return json{
      {"bytes", bytes},
      {"runs", reps},
      {"floor_script_to_file_MiBps", median(floor_mibps)},
      {"ferry_task_MiBps", median(ferry_mibps)},
      {"ratio_median", median(ratios)},
      {"ratios", ratios},
      {"target_ratio", 0.8},
      {"peak_rss_kib",
       {{"agent_run_task", agent_peak},
        {"supervisor", supervisor_peak},
        {"target_each", 16 * 1024}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  int output_runs = 5;
  uint64_t bytes = 1ULL << 30;
  fs::path base = fs::temp_directory_path();
  ferry::bench::parse_bench_options(
      argc, argv, "ferry-bench-engine [--runs N] [--output-runs K] [--bytes B] [--dir DIR]",
      {{"--runs", true, [&](const std::string& v) { runs = std::max(1, std::stoi(v)); }},
       {"--output-runs", true,
        [&](const std::string& v) { output_runs = std::max(1, std::stoi(v)); }},
       {"--bytes", true, [&](const std::string& v) { bytes = std::stoull(v); }},
       {"--dir", true, [&](const std::string& v) { base = v; }}});
  const fs::path dir = base / ("ferry-bench." + std::to_string(::getpid()));
  fs::create_directories(dir);
  json out;
  try {
    out["start_latency"] = bench_start(dir, runs);
    out["output"] = bench_output(dir, bytes, output_runs);
  } catch (const std::exception& e) {
    std::cerr << "ferry-bench-engine: " << e.what() << "\n";
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  std::cout << out.dump(2) << std::endl;
  return 0;
}
