// A real ferry-agent for end-to-end tests: `ferry-agent register` into its own state dir, then
// the daemon with a test configuration (fast polling, short kill grace, debug log to a file),
// SIGTERM or SIGKILL to stop, start again on the same state dir.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ferry::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv to its end with stdout and stderr captured; `env` entries are added ("K=V").
inline CommandResult run_program(const std::vector<std::string>& argv,
                                 const std::filesystem::path& scratch,
                                 const std::vector<std::string>& env = {}) {
  const auto out_path = scratch / "cmd.out";
  const auto err_path = scratch / "cmd.err";
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* o = std::fopen(out_path.c_str(), "w");
    FILE* e = std::fopen(err_path.c_str(), "w");
    if (o == nullptr || e == nullptr) {
      ::_exit(126);
    }
    ::dup2(::fileno(o), 1);
    ::dup2(::fileno(e), 2);
    for (const auto& kv : env) {
      ::putenv(const_cast<char*>(kv.c_str()));
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp_file(out_path);
  r.err = slurp_file(err_path);
  return r;
}

class AgentProcess {
 public:
  // A state dir under `dir`; nothing runs yet.
  AgentProcess(std::string binary, std::filesystem::path dir, nlohmann::json config = {})
      : binary_(std::move(binary)), dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    config_ = nlohmann::json{{"state_dir", (dir_ / "state").string()},
                             {"log_level", "debug"},
                             {"poll_interval_ms", 500},
                             {"kill_grace_ms", 500},
                             {"reconnect_max_ms", 2000},
                             {"retry_max_ms", 2000},
                             {"shutdown_flush_ms", 3000}};
    if (config.is_object()) {
      for (auto& [k, v] : config.items()) {
        config_[k] = v;
      }
    }
  }
  ~AgentProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  [[nodiscard]] std::filesystem::path state_dir() const { return dir_ / "state"; }
  // "K=V" entries added to the daemon's environment from the next start() on.
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }

  // `ferry-agent register`; on success the instance id is kept.
  CommandResult register_with(const std::string& server_url, const std::string& code_id,
                              const std::string& code, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{binary_,       "register",           "--server",
                                  server_url,    "--register-code-id", code_id,
                                  "--state-dir", state_dir().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_program(argv, dir_, {"FERRY_REGISTER_CODE=" + code});
    if (r.exit_code == 0) {
      instance_id_ = r.out.substr(0, r.out.find('\n'));
    }
    return r;
  }

  void start() {
    if (pid_ > 0) {
      throw std::runtime_error("agent already running");
    }
    ++starts_;
    const auto config_file = dir_ / "agent.json";
    {
      std::ofstream out(config_file);
      out << config_.dump(2);
    }
    log_path_ = dir_ / ("agent." + std::to_string(starts_) + ".log");
    std::vector<std::string> argv{binary_, "--config", config_file.string()};
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* e = std::fopen(log_path_.c_str(), "w");
      if (e == nullptr) {
        ::_exit(126);
      }
      ::dup2(::fileno(e), 1);
      ::dup2(::fileno(e), 2);
      for (const auto& kv : env_) {
        ::putenv(const_cast<char*>(kv.c_str()));
      }
      std::vector<char*> args;
      for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
      }
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }

  // Waits (up to `limit`) for `text` in the current log.
  bool wait_log(const std::string& text,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (log().find(text) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  int stop() { return signal_and_wait(SIGTERM); }
  int kill() { return signal_and_wait(SIGKILL); }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const { return slurp_file(log_path_); }
  // Every log this agent wrote, across restarts.
  [[nodiscard]] std::string all_logs() const {
    std::string all;
    for (int i = 1; i <= starts_; ++i) {
      all += slurp_file(dir_ / ("agent." + std::to_string(i) + ".log"));
    }
    return all;
  }
  [[nodiscard]] const std::string& instance_id() const { return instance_id_; }

 private:
  int signal_and_wait(int sig) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  void reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string binary_;
  std::filesystem::path dir_;
  nlohmann::json config_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::string instance_id_;
  std::vector<std::string> env_;
};

}  // namespace ferry::test
