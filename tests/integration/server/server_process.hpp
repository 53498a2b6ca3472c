// A real ferry-server process for black-box tests and benchmarks: its own temporary data
// directory, fixed API credentials, a JSON config file (short timeouts by default), port 0 on
// loopback (the port is read back from the "listening on" line), SIGTERM or SIGKILL to stop,
// restart on the same data directory. The server dies with this object (process.hpp).
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "process.hpp"
#include "test_process.hpp"

namespace ferry::test {

inline constexpr const char* kTestSecretId = "AKIDferryblackboxtest0000000000000001";
inline constexpr const char* kTestSecretKey = "ferryBlackBoxTestSecretKey00000000000001";
inline constexpr const char* kTestRegion = "ap-guangzhou";

// The configuration the tests run under: agents count as offline after 5 s of silence (the
// smallest window the server accepts), a task overruns 1 s after its Timeout, the sweeper looks
// every 100 ms, no rate limit (nor a limit on failed agent authentications: the suites send many
// on purpose). Tests override keys as they need.
inline nlohmann::json default_test_config() {
  return nlohmann::json{
      {"credentials", {{{"SecretId", kTestSecretId}, {"SecretKey", kTestSecretKey}}}},
      {"regions", {kTestRegion}},
      {"rate_limit", 0},
      {"agent_auth_failure_rate", 0},
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
  // `overrides` are merged over default_test_config(); `extra_args` follow --config on the
  // command line; `env` ("K=V") is added to the environment the server inherits.
  explicit ServerProcess(std::string binary, const nlohmann::json& overrides = {},
                         std::vector<std::string> extra_args = {},
                         std::vector<std::string> env = {})
      : binary_(std::move(binary)),
        config_(default_test_config()),
        extra_args_(std::move(extra_args)),
        env_(std::move(env)) {
    if (overrides.is_object()) {
      for (const auto& [k, v] : overrides.items()) {
        config_[k] = v;
      }
    }
    start();
  }

  // Starts the binary on the data directory and waits (10 s at most) for its listening line.
  void start() {
    if (running()) {
      throw std::runtime_error("ferry-server is already running");
    }
    ++starts_;
    nlohmann::json config = config_;
    config["data_dir"] = data_dir().string();
    // Loopback unless the test named an address of its own (a network namespace's link); the
    // port is always a free one.
    const std::string host = config_.contains("listen") ? config_["listen"].get<std::string>()
                                                        : std::string("127.0.0.1");
    config["listen"] = host + ":0";
    {
      std::ofstream out(config_file());
      out << config.dump(2);
    }
    const std::string run = "server." + std::to_string(starts_);
    out_path_ = dir_ / (run + ".out");
    err_path_ = dir_ / (run + ".err");
    LaunchOptions o;
    o.argv = {binary_, "--config", config_file()};
    o.argv.insert(o.argv.end(), extra_args_.begin(), extra_args_.end());
    o.env = env_;
    o.out_file = out_path_;
    o.err_file = err_path_;
    server_ = std::make_unique<Process>(std::move(o));
    const std::regex listening("ferry-server listening on (https?://[0-9.]+:([0-9]+))");
    std::smatch m;
    std::string out;
    bool exited = false;
    const bool up = eventually(
        [&] {
          out = read_file(out_path_);
          exited = !server_->running();
          return std::regex_search(out, m, listening) || exited;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(10));
    if (!up || exited) {
      server_.reset();
      throw std::runtime_error(std::string(exited ? "ferry-server exited at start-up: "
                                                  : "ferry-server printed no listening line: ") +
                               read_file(err_path_));
    }
    endpoint_ = m[1].str();
    port_ = static_cast<uint16_t>(std::stoi(m[2].str()));
  }

  // SIGTERM, the graceful path; SIGKILL after 10 s. Returns the exit code (128 + signal).
  int stop() { return stop_and_release(server_, SIGTERM, std::chrono::seconds(10)); }
  // SIGKILL: nothing flushed, nothing closed.
  int kill() { return stop_and_release(server_, SIGKILL, std::chrono::seconds(10)); }
  void restart() {
    stop();
    start();
  }

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  // The URL of /metrics the server printed ("" when metrics_listen is not set).
  [[nodiscard]] std::string metrics_url() const {
    const std::regex line("ferry-server metrics on (http://127\\.0\\.0\\.1:[0-9]+/metrics)");
    std::smatch m;
    const std::string out = read_file(out_path_);
    return std::regex_search(out, m, line) ? m[1].str() : std::string();
  }
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] bool running() const { return server_ != nullptr; }
  // The running server's process id; -1 when stopped.
  [[nodiscard]] pid_t pid() const { return server_ ? server_->pid() : -1; }
  [[nodiscard]] std::filesystem::path data_dir() const { return dir_ / "data"; }
  // The --config file, written by start(); a test may rewrite it before a SIGHUP.
  [[nodiscard]] std::filesystem::path config_file() const { return dir_ / "server.json"; }
  [[nodiscard]] std::string stderr_text() const { return read_file(err_path_); }

  [[nodiscard]] ApiClient api() const {
    return ApiClient(endpoint_, kTestSecretId, kTestSecretKey, kTestRegion);
  }

 private:
  std::string binary_;
  nlohmann::json config_;
  std::vector<std::string> extra_args_;
  std::vector<std::string> env_;
  TempDir dir_{"ferry-bb", 0700};
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
  std::string endpoint_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> server_;
  int starts_ = 0;
};

}  // namespace ferry::test
