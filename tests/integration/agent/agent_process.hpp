// A real ferry-agent for end-to-end tests: `ferry-agent register` into its own state dir, then
// the daemon with a test configuration (fast polling, short kill grace, debug log to a file),
// SIGTERM or SIGKILL to stop, start again on the same state dir. The daemon dies with this
// object (process.hpp).
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "process.hpp"
#include "test_process.hpp"

namespace ferry::test {

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

  [[nodiscard]] std::filesystem::path state_dir() const { return dir_ / "state"; }
  // The daemon's --config file, written by start(); a test may rewrite it before a SIGHUP.
  [[nodiscard]] std::filesystem::path config_file() const { return dir_ / "agent.json"; }
  [[nodiscard]] const nlohmann::json& config() const { return config_; }
  // Whether the journal holds no task: everything it ran was reported and forgotten.
  [[nodiscard]] bool journal_empty() const {
    std::error_code ec;
    return std::filesystem::is_empty(state_dir() / "tasks", ec) && !ec;
  }
  // "K=V" entries added to the daemon's environment from the next start() on.
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }
  // Words put before the binary in every command (register and the daemon), e.g.
  // {"ip", "netns", "exec", NAME} to run the agent in a network namespace; `ip netns exec`
  // execs the binary, so the process is still the agent's and dies with this object.
  void set_command_prefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }

  // `ferry-agent register`; on success the instance id is kept.
  ProcessResult register_with(const std::string& server_url, const std::string& code_id,
                              const std::string& code, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{binary_,       "register",           "--server",
                                  server_url,    "--register-code-id", code_id,
                                  "--state-dir", state_dir().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.begin(), prefix_.begin(), prefix_.end());
    LaunchOptions o;
    o.argv = std::move(argv);
    o.env = {"FERRY_REGISTER_CODE=" + code};
    o.out_file = dir_ / "cmd.out";
    o.err_file = dir_ / "cmd.err";
    auto r = run_process(std::move(o));
    if (r.exit_code == 0) {
      instance_id_ = r.out.substr(0, r.out.find('\n'));
    }
    return r;
  }

  void start() {
    if (running()) {
      throw std::runtime_error("agent already running");
    }
    ++starts_;
    {
      std::ofstream out(config_file());
      out << config_.dump(2);
    }
    log_path_ = log_path(starts_);
    LaunchOptions o;
    o.argv = prefix_;
    o.argv.insert(o.argv.end(), {binary_, "--config", config_file()});
    o.env = env_;
    o.out_file = log_path_;
    o.err_file = log_path_;  // one log, in the order written
    daemon_ = std::make_unique<Process>(std::move(o));
  }

  // Waits (up to `limit`) for `text` in the current log.
  bool wait_log(const std::string& text,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    return eventually([&] { return log().find(text) != std::string::npos; }, limit);
  }

  // SIGTERM (SIGKILL after 15 s) or SIGKILL; the exit code (128 + signal), -1 when not running.
  int stop() { return stop_and_release(daemon_, SIGTERM, std::chrono::seconds(15)); }
  int kill() { return stop_and_release(daemon_, SIGKILL, std::chrono::seconds(15)); }
  // Waits up to `limit` for the daemon to end by itself: its exit code, nullopt while it runs.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (!daemon_) {
      return std::nullopt;
    }
    const auto code = daemon_->wait_for(limit);
    if (code) {
      daemon_.reset();
    }
    return code;
  }
  [[nodiscard]] bool running() const { return daemon_ != nullptr; }
  [[nodiscard]] pid_t pid() const { return daemon_ ? daemon_->pid() : -1; }
  [[nodiscard]] std::string log() const { return read_file(log_path_); }
  // Every log this agent wrote, across restarts.
  [[nodiscard]] std::string all_logs() const {
    std::string all;
    for (int i = 1; i <= starts_; ++i) {
      all += read_file(log_path(i));
    }
    return all;
  }
  [[nodiscard]] const std::string& instance_id() const { return instance_id_; }

 private:
  [[nodiscard]] std::filesystem::path log_path(int start) const {
    return dir_ / ("agent." + std::to_string(start) + ".log");
  }
  std::string binary_;
  std::filesystem::path dir_;
  nlohmann::json config_;
  std::filesystem::path log_path_;
  std::unique_ptr<Process> daemon_;
  int starts_ = 0;
  std::string instance_id_;
  std::vector<std::string> env_;
  std::vector<std::string> prefix_;
};

}  // namespace ferry::test
