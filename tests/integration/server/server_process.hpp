// A real ferry-server process for black-box tests and benchmarks: its own temporary data
// directory, fixed API credentials, a JSON config file (short timeouts by default), port 0 on
// loopback (the port is read back from the "listening on" line), SIGTERM or SIGKILL to stop,
// restart on the same data directory.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"

namespace ferry::test {

inline constexpr const char* kTestSecretId = "AKIDferryblackboxtest0000000000000001";
inline constexpr const char* kTestSecretKey = "ferryBlackBoxTestSecretKey00000000000001";
inline constexpr const char* kTestRegion = "ap-guangzhou";

// The configuration the tests run under: agents count as offline after 5 s of silence (the
// smallest window the server accepts), a task overruns 1 s after its Timeout, the sweeper looks
// every 100 ms, no rate limit. Tests override keys as they need.
inline nlohmann::json default_test_config() {
  return nlohmann::json{
      {"credentials", {{{"SecretId", kTestSecretId}, {"SecretKey", kTestSecretKey}}}},
      {"regions", {kTestRegion}},
      {"rate_limit", 0},
      {"heartbeat_interval_s", 5},
      {"online_window_s", 5},
      {"deliver_timeout_s", 120},
      {"task_timeout_grace_s", 1},
      {"sweep_interval_ms", 100},
      {"max_clock_skew_s", 300},
      {"io_threads", 2},
      {"log_level", "warn"},
  };
}

class ServerProcess {
 public:
  // `overrides` are merged over default_test_config().
  explicit ServerProcess(std::string binary, const nlohmann::json& overrides = {})
      : binary_(std::move(binary)), config_(default_test_config()) {
    if (overrides.is_object()) {
      for (const auto& [k, v] : overrides.items()) {
        config_[k] = v;
      }
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-bb.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir_ = tmpl;
    start();
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the binary on the data directory and waits (10 s at most) for its listening line.
  void start() {
    if (pid_ > 0) {
      throw std::runtime_error("ferry-server is already running");
    }
    ++starts_;
    const std::string data = (dir_ / "data").string();
    nlohmann::json config = config_;
    config["data_dir"] = data;
    config["listen"] = "127.0.0.1:0";
    const std::string config_file = (dir_ / "server.json").string();
    {
      std::ofstream out(config_file);
      out << config.dump(2);
    }
    out_path_ = (dir_ / ("server." + std::to_string(starts_) + ".out")).string();
    err_path_ = (dir_ / ("server." + std::to_string(starts_) + ".err")).string();
    std::vector<std::string> argv{binary_, "--config", config_file};
    std::vector<char*> args;
    for (auto& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      // A test binary that dies must not leave servers behind.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* o = std::fopen(out_path_.c_str(), "w");
      FILE* e = std::fopen(err_path_.c_str(), "w");
      if (o == nullptr || e == nullptr) {
        ::_exit(126);
      }
      ::dup2(::fileno(o), 1);
      ::dup2(::fileno(e), 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    const std::regex listening("ferry-server listening on (http://127\\.0\\.0\\.1:([0-9]+))");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      std::smatch m;
      const std::string out = slurp(out_path_);
      if (std::regex_search(out, m, listening)) {
        endpoint_ = m[1].str();
        port_ = static_cast<uint16_t>(std::stoi(m[2].str()));
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("ferry-server exited at start-up: " + slurp(err_path_));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        reap();
        throw std::runtime_error("ferry-server printed no listening line: " + slurp(err_path_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // SIGTERM, the graceful path; SIGKILL after 10 s. Returns the exit code (128 + signal).
  int stop() { return signal_and_wait(SIGTERM); }
  // SIGKILL: nothing flushed, nothing closed.
  int kill() { return signal_and_wait(SIGKILL); }
  void restart() {
    stop();
    start();
  }

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] std::filesystem::path data_dir() const { return dir_ / "data"; }
  [[nodiscard]] std::string stderr_text() const { return slurp(err_path_); }

  [[nodiscard]] ApiClient api() const {
    return ApiClient(endpoint_, kTestSecretId, kTestSecretKey, kTestRegion);
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  int signal_and_wait(int sig) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (r < 0 && errno != EINTR) {
        pid_ = -1;
        return -1;
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
  nlohmann::json config_;
  std::filesystem::path dir_;
  std::string out_path_;
  std::string err_path_;
  std::string endpoint_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int starts_ = 0;
};

}  // namespace ferry::test
