#include "ferry/platform/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ferry/core/error_codes.hpp"
#include "unique_fd.hpp"

namespace ferry::platform {
namespace {

std::vector<char*> run_command_c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

int run_command_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

}  // namespace

Expected<CommandOutcome> run_command(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout, std::size_t max_out) {
  if (argv.empty()) {
    return Error{codes::kInternalError, "run_command: no program"};
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error{codes::kInternalError, std::string("pipe: ") + std::strerror(errno)};
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  // The caller may block signals (the supervisor does): the child starts with none blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const auto args = run_command_c_strings(argv);
  const auto envp = run_command_c_strings(env);
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, argv.front().c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  write_end.reset();
  if (rc != 0) {
    return Error{codes::kInternalError,
                 "starting " + argv.front() + ": " + std::string(std::strerror(rc))};
  }
  CommandOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      continue;  // the deadline check above ends it
    }
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // EOF: the program (and whatever shared its stdout) is done writing
    }
    const auto take = std::min(static_cast<std::size_t>(n), max_out - outcome.out.size());
    outcome.out.append(buffer, take);
  }
  if (outcome.timed_out) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, outcome.timed_out ? 0 : WNOHANG);
    if (w == pid) {
      break;
    }
    if (w < 0 && errno != EINTR) {
      return Error{codes::kInternalError,
                   "waiting for " + argv.front() + ": " + std::strerror(errno)};
    }
    if (w == 0) {
      // Closed its stdout but still running: give it until the deadline.
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        outcome.timed_out = true;
        continue;
      }
      ::usleep(10'000);
    }
  }
  outcome.exit_code = outcome.timed_out ? -1 : run_command_status(status);
  return outcome;
}

}  // namespace ferry::platform
