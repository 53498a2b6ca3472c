// Helpers for tests that run real processes.
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
#include <vector>

namespace ferry::test {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  long max_rss_kib = 0;  // ru_maxrss of the process and its waited-for descendants
};

// A running child with its stdout and stderr sent to temp files.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, const std::string& dir) : dir_(dir) {
    out_path_ = dir + "/child.out";
    err_path_ = dir + "/child.err";
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
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
  }
  [[nodiscard]] pid_t pid() const { return pid_; }

  ProcessResult wait() {
    ProcessResult r;
    int status = 0;
    struct rusage ru {};
    while (::wait4(pid_, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.max_rss_kib = ru.ru_maxrss;
    r.out = slurp(out_path_);
    r.err = slurp(err_path_);
    return r;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string dir_;
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
};

inline ProcessResult run_process(const std::vector<std::string>& argv, const std::string& dir) {
  Child c(argv, dir);
  return c.wait();
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

// Pids of processes whose command line contains `marker`.
inline std::vector<pid_t> pids_with_cmdline(const std::string& marker) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& c : cmd) {
      if (c == '\0') {
        c = ' ';
      }
    }
    if (cmd.find(marker) != std::string::npos) {
      // A zombie awaiting its reaper is gone for our purposes.
      std::ifstream st(entry.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
      auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') {
        continue;
      }
      found.push_back(static_cast<pid_t>(std::stol(name)));
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

}  // namespace ferry::test
