#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ferry::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kForever = std::chrono::hours(24);

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

int poll_ms(milliseconds limit) {
  return static_cast<int>(std::min<milliseconds::rep>(limit.count(), kForever.count()));
}

std::vector<std::string> child_environment(const LaunchOptions& o) {
  std::vector<std::string> env;
  if (!o.clean_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('=') + 1);
      const bool replaced = std::any_of(
          o.env.begin(), o.env.end(), [&](const std::string& kv) { return kv.starts_with(name); });
      if (!replaced) {
        env.emplace_back(entry);
      }
    }
  }
  env.insert(env.end(), o.env.begin(), o.env.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// Points `fd` at `path` (/dev/null when empty); false on failure.
bool redirect(int fd, const char* path, int flags) {
  const int f = ::open(path, flags | O_CLOEXEC, 0600);
  return f >= 0 && ::dup2(f, fd) == fd;
}

// In the child between fork and exec: async-signal-safe calls only, everything else was
// prepared before the fork (the parent may have other threads holding locks).
[[noreturn]] void exec_child(char* const* argv, char* const* envp, const char* out, const char* err,
                             bool err_is_out, int pipe_write, const char* cwd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(126);  // the parent is gone already
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  constexpr int kWrite = O_WRONLY | O_CREAT | O_TRUNC;
  const bool ok = redirect(0, "/dev/null", O_RDONLY) &&
                  (pipe_write >= 0 ? ::dup2(pipe_write, 1) == 1 : redirect(1, out, kWrite)) &&
                  (err_is_out ? ::dup2(1, 2) == 2 : redirect(2, err, kWrite)) &&
                  (cwd[0] == '\0' || ::chdir(cwd) == 0);
  if (!ok) {
    ::_exit(126);
  }
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

}  // namespace

Process::Process(LaunchOptions options) : options_(std::move(options)) {
  if (options_.argv.empty()) {
    throw std::invalid_argument("Process: no argv");
  }
  std::vector<std::string> args = options_.argv;
  std::vector<std::string> env = child_environment(options_);
  const std::vector<char*> argv = c_strings(args);
  const std::vector<char*> envp = c_strings(env);
  const auto path_or_null = [](const std::filesystem::path& p) {
    return p.empty() ? std::string("/dev/null") : p.string();
  };
  const std::string out = path_or_null(options_.out_file);
  const std::string err = path_or_null(options_.err_file);
  const bool err_is_out =
      !options_.out_pipe && !options_.err_file.empty() && options_.err_file == options_.out_file;
  const std::string cwd = options_.cwd.string();
  int fds[2] = {-1, -1};
  if (options_.out_pipe && ::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("Process: pipe failed");
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    exec_child(argv.data(), envp.data(), out.c_str(), err.c_str(), err_is_out, fds[1], cwd.c_str(),
               parent);
  }
  if (fds[1] >= 0) {
    ::close(fds[1]);
  }
  if (pid_ < 0) {
    if (fds[0] >= 0) {
      ::close(fds[0]);
    }
    throw std::runtime_error("Process: fork failed");
  }
  out_fd_ = fds[0];
  // Without a pidfd (a kernel before 5.3) waits fall back to polling waitpid. The syscall:
  // glibc 2.36's pidfd_open() lacks C linkage in C++.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

Process::~Process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
  }
  if (pidfd_ >= 0) {
    ::close(pidfd_);
  }
}

void Process::reap(int options) {
  int status = 0;
  struct rusage ru {};
  pid_t r = -1;
  while ((r = ::wait4(pid_, &status, options, &ru)) < 0 && errno == EINTR) {
  }
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    max_rss_kib_ = ru.ru_maxrss;
  } else if (r < 0) {
    exit_code_ = -1;  // not our child any more: nothing to wait for
  }
}

bool Process::running() {
  if (!exit_code_) {
    reap(WNOHANG);
  }
  return !exit_code_;
}

void Process::signal(int sig) const {
  if (!exit_code_) {
    ::kill(pid_, sig);
  }
}

std::optional<int> Process::wait_for(milliseconds limit) {
  const auto deadline = Clock::now() + std::min(limit, kForever);
  while (running()) {
    const milliseconds left = left_until(deadline);
    if (left.count() == 0) {
      return std::nullopt;
    }
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, poll_ms(left));
    } else {
      std::this_thread::sleep_for(std::min(left, milliseconds(5)));
    }
  }
  return exit_code_;
}

int Process::read_some(milliseconds limit) {
  pollfd p[2] = {{out_fd_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
  const nfds_t n = pidfd_ >= 0 ? 2 : 1;
  // Without a pidfd the end of the process is noticed by the callers between short polls.
  const milliseconds step = pidfd_ >= 0 ? limit : std::min(limit, milliseconds(20));
  if (::poll(p, n, poll_ms(step)) <= 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
    return 0;
  }
  char buf[4096];
  const ssize_t got = ::read(out_fd_, buf, sizeof buf);
  if (got <= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
    return -1;
  }
  piped_.append(buf, static_cast<std::size_t>(got));
  return static_cast<int>(got);
}

bool Process::read_until(const std::string& text, milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (piped_.find(text) == std::string::npos && out_fd_ >= 0) {
    const milliseconds left = left_until(deadline);
    // Nothing to read from a process that has ended: nothing more will come.
    if (left.count() == 0 || (read_some(left) == 0 && !running())) {
      break;
    }
  }
  return piped_.find(text) != std::string::npos;
}

ProcessResult Process::wait(milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (out_fd_ >= 0 && left_until(deadline).count() > 0) {
    // An ended process whose pipe stays open (a descendant holds it) is not waited for.
    if (read_some(left_until(deadline)) == 0 && !running()) {
      break;
    }
  }
  if (!wait_for(left_until(deadline))) {
    ::kill(pid_, SIGKILL);
    wait_for(kForever);
  }
  while (out_fd_ >= 0 && read_some(milliseconds(0)) > 0) {
  }
  ProcessResult r;
  r.exit_code = exit_code_.value_or(-1);
  r.max_rss_kib = max_rss_kib_;
  r.out = options_.out_pipe ? piped_ : read_file(options_.out_file);
  r.err = read_file(options_.err_file);
  return r;
}

int Process::stop(int sig, milliseconds grace) {
  signal(sig);
  if (!wait_for(grace)) {
    ::kill(pid_, SIGKILL);
    wait_for(kForever);
  }
  return exit_code_.value_or(-1);
}

int stop_and_release(std::unique_ptr<Process>& p, int sig, milliseconds grace) {
  if (!p) {
    return -1;
  }
  const int code = p->stop(sig, grace);
  p.reset();
  return code;
}

ProcessResult run_process(LaunchOptions options, milliseconds limit) {
  Process p(std::move(options));
  return p.wait(limit);
}

std::string read_file(const std::filesystem::path& path) {
  if (path.empty()) {
    return "";
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

}  // namespace ferry::test
