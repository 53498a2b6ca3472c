// Helpers for tests that run real processes: a temporary directory, a polling wait, the
// processes of a marker, and the launcher (process.hpp) in the form the first tests used.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "process.hpp"
#include "process_table.hpp"

namespace ferry::test {

// Upper bounds on elapsed time are checked only without sanitizers, which slow every process of
// a test several times over. Timing belongs in the benchmarks; the bounds that stay are those
// that are the point of a test (a timeout that must fire, a kill that must not wait).
#ifdef FERRY_SANITIZED
inline constexpr bool kCheckTimeBounds = false;
#else
inline constexpr bool kCheckTimeBounds = true;
#endif

// An upper bound on elapsed time: `tight` without sanitizers; under them `loose`, which only
// needs to stay below what the wrong behaviour would take (the sleep a kill must not wait for,
// the timeout a stop must not sit out), so that the test still fails on it.
template <typename Tight, typename Loose>
constexpr std::common_type_t<Tight, Loose> time_bound(Tight tight, Loose loose) {
  using Bound = std::common_type_t<Tight, Loose>;
  return kCheckTimeBounds ? Bound(tight) : Bound(loose);
}

// The launcher with stdout and stderr in DIR/child.out and DIR/child.err.
class Child : public Process {
 public:
  Child(const std::vector<std::string>& argv, const std::string& dir)
      : Process(options(argv, dir)) {}

 private:
  static LaunchOptions options(const std::vector<std::string>& argv, const std::string& dir) {
    LaunchOptions o;
    o.argv = argv;
    o.out_file = dir + "/child.out";
    o.err_file = dir + "/child.err";
    return o;
  }
};

inline ProcessResult run_process(const std::vector<std::string>& argv, const std::string& dir) {
  return Child(argv, dir).wait();
}

// A fresh temporary directory, /tmp/<prefix>.XXXXXX, removed at the end of the scope. The
// default mode 0711 keeps it traversable, as a state directory's parents must be for tasks run
// as other users; 0755 lets them list and read it too.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ferry-test", mode_t mode = 0711) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
    ::chmod(path_.c_str(), mode);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str() const { return path_.string(); }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

// Pids of live (not zombie) processes whose command line contains `marker`.
inline std::vector<pid_t> pids_with_cmdline(const std::string& marker) {
  std::vector<pid_t> found;
  for (const auto& p : process_table()) {
    if (p.state != 'Z' && p.cmdline.find(marker) != std::string::npos) {
      found.push_back(p.pid);
    }
  }
  return found;
}

// Polls `pred` every `step` until it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(step);
  }
  return pred();
}

inline void kill_all(const std::string& marker) {
  for (pid_t p : pids_with_cmdline(marker)) {
    ::kill(p, SIGKILL);
  }
}

// How many times `needle` occurs in `text`, not overlapping (log lines, audit lines).
inline std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace ferry::test
