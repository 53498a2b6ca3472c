// Written on raw POSIX/Linux calls rather than Boost.Process: the supervisor must be a child
// subreaper, keep its signals blocked across fork and take them from a signalfd, set the
// child's credentials in a fixed order (setgroups with a list computed before fork, setgid,
// setuid, verified, then chdir as the user), hold the child until it is in its cgroup, report
// which pre-exec step failed, and own the output pipe's reading end. Boost.Process offers none of
// these as a launcher option, and emulating them through its init hooks would still leave the
// signal mask, the error channel and the reaping of re-parented orphans outside its model.

#include "ferry/platform/supervise.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../posix/account_native.hpp"
#include "../posix/unique_fd.hpp"
#include "cgroup.hpp"
#include "ferry/core/error.hpp"
#include "ferry/core/error_codes.hpp"
#include "proc.hpp"

namespace ferry::platform {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Kind = SuperviseOutcome::Kind;
using linux_cgroup::TaskCgroup;

constexpr int kPipeSize = 1 << 20;
// Bounds one wakeup's copying so that signals and timers are seen under a flood of output.
constexpr int kMaxTransfersPerWakeup = 8;
// One read from the pipe takes up to this much (the supervisor's largest buffer).
constexpr std::size_t kCopyBuffer = 256 * 1024;
// The spool is written in pieces of at most 32 KiB. A write that size gets page-cache folios of
// order 3 or less, which the kernel takes from its per-CPU lists of recently freed pages; a
// larger write gets larger folios from the buddy allocator. On the virtual machines we measure
// on (virtio-balloon, so most likely free page reporting: free blocks go back to the host and
// fault there on first touch) 1 GiB written by dd in 1 MiB blocks took 0.5 to 2.9 s, in 32 KiB
// blocks 0.25 to 0.45 s in three runs of four, in 4 KiB blocks 0.9 to 1.1 s. Bare metal loses
// little by it: 32 KiB pieces are 32 times fewer system calls than the 4 KiB of most writers.
constexpr std::size_t kSpoolWrite = 32 * 1024;
// A fast writer wakes the supervisor for every few KiB it writes (head writes 4 KiB at a time):
// one poll and one read per 4 KiB cost more than the copy. When a wakeup moved less than
// kBatchBytes, the output is left alone for kBatchDelay so that the pipe (1 MiB) gathers more
// and the next read takes it in one go. A trickle is only spooled that much later.
constexpr std::size_t kBatchBytes = 256 * 1024;
// 100 us: about 200 KiB at 2 GB/s, well within the pipe, so the writer never blocks on it.
constexpr std::chrono::microseconds kBatchDelay{100};
// SIGKILL rounds repeat at this pace until the tree is gone: processes forked between two
// /proc passes are caught by the next one.
constexpr milliseconds kKillRepeat{50};
// A process in uninterruptible sleep (hung NFS) ignores SIGKILL; the supervisor reports it
// instead of waiting forever.
constexpr milliseconds kKillGiveUp{10000};

// What the child reports over the error pipe when a step before exec fails.
enum class Stage : int32_t { kSetup = 1, kGroups, kGid, kUid, kVerify, kChdir, kScript, kExec };
struct ChildFailure {
  int32_t stage;
  int32_t err;
};

// Everything the child needs, prepared before fork: between fork and exec only
// async-signal-safe calls are allowed, so no allocation, no NSS, no C++ containers.
struct ChildPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* working_directory;  // nullptr: stay where the supervisor is
  const char* script_path;        // nullptr: nothing to check
  int stdin_fd;
  int output_fd;
  int go_fd;
  int error_fd;
  pid_t parent;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t group_count;
  int fd_limit;  // for the close loop when close_range is unavailable
};

sigset_t supervised_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (const int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
    ::sigaddset(&set, sig);
  }
  return set;
}

bool is_cancel_signal(uint32_t sig) {
  return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

struct SignalsSeen {
  bool cancel = false;
  bool child = false;
};

// Reads every queued signal (standard signals coalesce, so one SIGCHLD may stand for many).
SignalsSeen drain_signals(int signal_fd) {
  SignalsSeen seen;
  signalfd_siginfo info{};
  while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    seen.cancel = seen.cancel || is_cancel_signal(info.ssi_signo);
    seen.child = seen.child || info.ssi_signo == SIGCHLD;
  }
  return seen;
}

// The child dup2()s onto 0, 1 and 2; a source descriptor already sitting there (a supervisor
// started with closed stdio) would be clobbered by an earlier dup2, so keep ours above.
UniqueFd above_stdio(int fd) {
  if (fd < 0 || fd > 2) {
    return UniqueFd(fd);
  }
  UniqueFd moved(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  ::close(fd);
  return moved;
}

[[noreturn]] void child_fail(int error_fd, Stage stage, int err) {
  const ChildFailure failure{static_cast<int32_t>(stage), err};
  // Nobody may be reading (the parent died); nothing more can be done about that here.
  [[maybe_unused]] const ssize_t n = ::write(error_fd, &failure, sizeof failure);
  ::_exit(127);
}

void reset_signals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigemptyset(&default_action.sa_mask);
  // Ignored dispositions survive exec (a supervisor ignoring SIGPIPE would pass that on).
  // Signals glibc reserves for itself fail with EINVAL, which is fine.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &default_action, nullptr);
    }
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

// The parent-death signal is cleared by any change of uid/gid, so it is set again after the
// switch; the getppid() check closes the window where the parent died before it was set.
bool arm_parent_death_signal(pid_t parent) {
  return ::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && ::getppid() == parent;
}

void reset_oom_score_adj() {
  const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] const ssize_t n = ::write(fd, "0", 1);
    ::close(fd);
  }
}

void close_inherited_fds(const ChildPlan& plan) {
  // Marking them close-on-exec (instead of closing) keeps go_fd and error_fd usable until exec.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
    return;
  }
  for (int fd = 3; fd < plan.fd_limit; ++fd) {
    if (fd != plan.go_fd && fd != plan.error_fd) {
      ::close(fd);
    }
  }
}

// clone3(2) with CLONE_INTO_CGROUP, as fork() would be but born in the cgroup of `cgroup_fd`.
// The struct is spelled out here: <linux/sched.h> clashes with glibc's <sched.h>. Called from a
// single-threaded process, so the child may go on as a forked child would.
pid_t clone_into_cgroup(int cgroup_fd) {
  struct CloneArgs {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
  };
  constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;
  CloneArgs args{};
  args.flags = kCloneIntoCgroup;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

[[noreturn]] void run_child(const ChildPlan& plan) {
  reset_signals();
  if (!arm_parent_death_signal(plan.parent)) {
    ::_exit(127);
  }
  if (::setpgid(0, 0) != 0) {
    child_fail(plan.error_fd, Stage::kSetup, errno);
  }
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.output_fd, STDERR_FILENO) < 0) {
    child_fail(plan.error_fd, Stage::kSetup, errno);
  }
  close_inherited_fds(plan);

  // Wait until the parent has put us in the task's cgroup; EOF means it gave up on the start.
  if (plan.go_fd >= 0) {
    char go = 0;
    ssize_t n = 0;
    do {
      n = ::read(plan.go_fd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      ::_exit(127);
    }
  }

  // The agent and its supervisors may run protected from the OOM killer (the unit's
  // OOMScoreAdjust); the task gets the default. Raising the value needs no privilege; where /proc
  // is missing the task runs with what it inherited.
  reset_oom_score_adj();

  if (plan.switch_user) {
    // Groups first, while still root; then gid, then uid, which drops the right to change
    // the other two.
    if (::setgroups(plan.group_count, plan.groups) != 0) {
      child_fail(plan.error_fd, Stage::kGroups, errno);
    }
    if (::setgid(plan.gid) != 0) {
      child_fail(plan.error_fd, Stage::kGid, errno);
    }
    if (::setuid(plan.uid) != 0) {
      child_fail(plan.error_fd, Stage::kUid, errno);
    }
    // A setuid that "succeeds" without dropping everything (odd capability or LSM set-ups)
    // would run the task with more rights than asked.
    if (::getuid() != plan.uid || ::geteuid() != plan.uid || ::getgid() != plan.gid ||
        ::getegid() != plan.gid || (plan.uid != 0 && ::setuid(0) == 0)) {
      child_fail(plan.error_fd, Stage::kVerify, EPERM);
    }
    if (!arm_parent_death_signal(plan.parent)) {
      ::_exit(127);
    }
  }
  // After the switch, so the user's own permissions decide whether the directory is usable.
  if (plan.working_directory != nullptr && ::chdir(plan.working_directory) != 0) {
    child_fail(plan.error_fd, Stage::kChdir, errno);
  }
  if (plan.script_path != nullptr && ::access(plan.script_path, R_OK) != 0) {
    child_fail(plan.error_fd, Stage::kScript, errno);
  }
  ::execve(plan.program, plan.argv, plan.envp);
  child_fail(plan.error_fd, Stage::kExec, errno);
}

std::string user_name_of(uid_t uid) {
  std::vector<char> buffer(4096);
  passwd entry{};
  passwd* result = nullptr;
  while (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) == ERANGE &&
         buffer.size() < (std::size_t{1} << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  return result != nullptr ? std::string(entry.pw_name) : "uid " + std::to_string(uid);
}

Expected<std::vector<gid_t>> supplementary_groups(const UserInfo& user) {
  int capacity = 64;
  std::vector<gid_t> groups;
  for (int attempt = 0; attempt < 16; ++attempt) {
    groups.resize(static_cast<std::size_t>(capacity));
    int count = capacity;
    if (::getgrouplist(user.name.c_str(), user.account.native()->gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      return groups;
    }
    capacity = std::max(count, capacity * 2);
  }
  return Error{codes::kInvalidUsername, "cannot list the groups of user '" + user.name + "'"};
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (const auto& s : strings) {
    result.push_back(const_cast<char*>(s.c_str()));
  }
  result.push_back(nullptr);
  return result;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

Error start_error(const ChildFailure& failure, const SuperviseSpec& spec) {
  const auto stage = static_cast<Stage>(failure.stage);
  const std::string user = spec.run_as ? spec.run_as->name : user_name_of(::geteuid());
  switch (stage) {
    case Stage::kChdir:
      return errno_error(codes::kInvalidWorkingDirectory,
                         "working directory '" + spec.working_directory +
                             "' cannot be entered as user '" + user + "'",
                         failure.err);
    case Stage::kGroups:
    case Stage::kGid:
    case Stage::kUid:
    case Stage::kVerify: {
      static constexpr std::array<const char*, 4> kSteps = {"setgroups", "setgid", "setuid",
                                                            "verifying the switch"};
      const auto step = kSteps.at(static_cast<std::size_t>(failure.stage) -
                                  static_cast<std::size_t>(Stage::kGroups));
      return errno_error(codes::kInvalidUsername, "cannot run as user '" + user + "': " + step,
                         failure.err);
    }
    case Stage::kScript:
      return errno_error(codes::kInternalError,
                         "ScriptStoreFailed: the script '" + spec.script_path +
                             "' is not readable by user '" + user +
                             "' (every parent of the state directory must be traversable)",
                         failure.err);
    case Stage::kExec:
      return errno_error(codes::kInternalError, "cannot execute '" + spec.argv.front() + "'",
                         failure.err);
    case Stage::kSetup:
      break;
  }
  return errno_error(codes::kInternalError, "setting up the task process", failure.err);
}

// Copies whatever the pipe holds into the spool. After a write error (disk full) the pipe is
// still emptied, into nothing, so that the task never blocks on a full pipe.
//
// Why read()/write() rather than splice(): splicing pipe -> file holds the pipe's lock for the
// whole file write, so the task's own writes spin on that lock (measured: a third of the
// writer's CPU) and the two sides never overlap; read() holds it only for the copy out. And why
// 32 KiB writes: see kSpoolWrite.
class OutputPump {
 public:
  // The spool takes the first `max_spool` bytes (0: all of them); past that the output is still
  // read, so that the task never blocks on it, and counted, and only its last `tail_keep` bytes
  // are kept, in memory.
  OutputPump(int pipe_fd, int spool_fd, uint64_t max_spool, std::size_t tail_keep)
      : pipe_fd_(pipe_fd), spool_fd_(spool_fd), max_spool_(max_spool), tail_keep_(tail_keep) {}

  // false once the pipe reached EOF (every writer closed it).
  bool pump() {
    for (int i = 0; i < kMaxTransfersPerWakeup; ++i) {
      const ssize_t n = copy_once();
      if (n > 0) {
        // A short read emptied the pipe: back to poll rather than a read that would only say
        // EAGAIN (one system call less per wakeup under a steady trickle).
        if (static_cast<std::size_t>(n) < kCopyBuffer) {
          return true;
        }
        continue;
      }
      if (n == 0) {
        return false;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        return true;
      }
      return false;  // the pipe itself failed: nothing more will come out of it
    }
    return true;
  }

  [[nodiscard]] uint64_t bytes() const { return bytes_; }
  [[nodiscard]] uint64_t spooled() const { return spooled_; }
  [[nodiscard]] int write_error() const { return write_error_; }
  // The last bytes past the spool's cap (at most tail_keep of them); empty below the cap.
  [[nodiscard]] std::string tail() const {
    return tail_.size() > tail_keep_ ? tail_.substr(tail_.size() - tail_keep_) : tail_;
  }

 private:
  ssize_t copy_once() {
    if (!buffer_) {
      // Left uninitialised: a task with little output touches only the pages read() fills.
      buffer_ = std::make_unique_for_overwrite<char[]>(kCopyBuffer);
    }
    const ssize_t n = ::read(pipe_fd_, buffer_.get(), kCopyBuffer);
    if (n <= 0 || write_error_ != 0) {
      return n;
    }
    auto total = static_cast<std::size_t>(n);
    if (max_spool_ != 0 && spooled_ + total > max_spool_) {
      const std::size_t room = max_spool_ - spooled_;  // below total, a size_t
      keep_tail(buffer_.get() + room, total - room);
      total = room;
    }
    std::size_t done = 0;
    while (done < total) {
      const ssize_t w =
          ::write(spool_fd_, buffer_.get() + done, std::min(kSpoolWrite, total - done));
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        write_error_ = errno;
        break;
      }
      done += static_cast<std::size_t>(w);
      bytes_ += static_cast<uint64_t>(w);
      spooled_ += static_cast<uint64_t>(w);
    }
    return n;
  }

  void keep_tail(const char* data, std::size_t size) {
    bytes_ += size;
    if (size >= tail_keep_) {
      tail_.assign(data + size - tail_keep_, tail_keep_);
      return;
    }
    // Trimmed only once it holds twice what is kept: one move per tail_keep bytes of output.
    if (tail_.size() + size > 2 * tail_keep_) {
      tail_.erase(0, tail_.size() - tail_keep_);
    }
    tail_.append(data, size);
  }

  int pipe_fd_;
  int spool_fd_;
  uint64_t max_spool_;
  std::size_t tail_keep_;
  int write_error_ = 0;
  uint64_t bytes_ = 0;    // read from the task (its output's size, while the spool is writable)
  uint64_t spooled_ = 0;  // written to the spool
  std::string tail_;
  std::unique_ptr<char[]> buffer_;
};

// Durations from the spec are added to clock readings; a "forever" like milliseconds::max()
// would overflow the time point, and a negative one means "now".
milliseconds bounded(milliseconds d) {
  constexpr milliseconds kLongest = std::chrono::hours(24 * 365 * 10);
  return std::clamp(d, milliseconds::zero(), kLongest);
}

// How long ppoll may wait for the next instant; nullopt: no instant, wait for events only.
std::optional<timespec> poll_timeout(SteadyClock::time_point now,
                                     std::optional<SteadyClock::time_point> next) {
  if (!next) {
    return std::nullopt;
  }
  const auto wait = std::clamp<std::chrono::nanoseconds>(*next - now, std::chrono::nanoseconds(0),
                                                         std::chrono::seconds(60));
  timespec ts{};
  ts.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(wait).count();
  ts.tv_nsec = (wait - std::chrono::seconds(ts.tv_sec)).count();
  return ts;
}

class Supervision {
 public:
  explicit Supervision(const SuperviseSpec& spec) : spec_(spec) {}
  SuperviseOutcome run();

 private:
  SuperviseOutcome fail_start(Error error);
  SuperviseOutcome cancelled_before_start();
  void loop();
  void reap();
  void begin_kill(Kind reason);
  void signal_tree(int sig);
  void on_timers(SteadyClock::time_point now);
  [[nodiscard]] bool finished(SteadyClock::time_point now);
  [[nodiscard]] std::optional<SteadyClock::time_point> next_timer() const;
  [[nodiscard]] bool kill_pending() const;

  const SuperviseSpec& spec_;
  SuperviseOutcome outcome_;
  UniqueFd signal_fd_;
  UniqueFd spool_fd_;
  UniqueFd output_fd_;
  UniqueFd error_fd_;
  std::optional<TaskCgroup> cgroup_;
  pid_t self_ = ::getpid();
  pid_t main_pid_ = -1;
  bool main_alive_ = false;
  bool batch_output_ = false;
  int main_status_ = 0;
  bool children_left_ = true;
  std::optional<ChildFailure> start_failure_;
  std::optional<Kind> kill_reason_;
  enum class KillPhase { kNone, kTerm, kKill } phase_ = KillPhase::kNone;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point phase_since_;
  SteadyClock::time_point next_kill_round_;
  bool gave_up_ = false;
  std::optional<SteadyClock::time_point> drain_until_;
};

SuperviseOutcome Supervision::fail_start(Error error) {
  outcome_.kind = Kind::kStartFailed;
  outcome_.error_code = std::move(error.code);
  outcome_.error = std::move(error.message);
  outcome_.end_time = std::chrono::system_clock::now();
  if (outcome_.start_time == std::chrono::system_clock::time_point{}) {
    outcome_.start_time = outcome_.end_time;
  }
  return outcome_;
}

SuperviseOutcome Supervision::cancelled_before_start() {
  outcome_.kind = Kind::kCancelled;
  outcome_.end_time = std::chrono::system_clock::now();
  outcome_.start_time = outcome_.end_time;
  return outcome_;
}

SuperviseOutcome Supervision::run() {
  if (spec_.argv.empty()) {
    return fail_start(Error{codes::kInternalError, "no program to run"});
  }
  // Orphans of the task (daemons that double-forked) are re-parented to us, so they can be
  // found, reaped and, on timeout or cancel, killed. Without it the /proc walk misses them;
  // the cgroup (where present) still holds them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  // Blocked before fork so that no SIGCHLD or cancel can slip between fork and the loop.
  const sigset_t signals = supervised_signals();
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_.reset(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_.valid()) {
    return fail_start(errno_error(codes::kInternalError, "signalfd", errno));
  }
  if (drain_signals(signal_fd_.get()).cancel) {
    return cancelled_before_start();
  }

  spool_fd_.reset(::open(spec_.output_path.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR));
  // An existing spool keeps its old mode through O_TRUNC; it holds task output, so force it.
  if (!spool_fd_.valid() || ::fchmod(spool_fd_.get(), S_IRUSR | S_IWUSR) != 0) {
    return fail_start(
        errno_error(codes::kInternalError, "opening output file " + spec_.output_path, errno));
  }
  spool_fd_ = above_stdio(spool_fd_.release());

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail_start(errno_error(codes::kInternalError, "creating output pipe", errno));
  }
  output_fd_ = above_stdio(fds[0]);
  UniqueFd output_write = above_stdio(fds[1]);
  // A large pipe lets a chatty task run ahead of the spool writes; refused above the system's
  // pipe-max-size or a user's pipe quota, in which case the default size still works.
  ::fcntl(output_fd_.get(), F_SETPIPE_SZ, kPipeSize);
  // Batching only pays when the pipe can hold what arrives meanwhile (see kBatchDelay).
  batch_output_ = ::fcntl(output_fd_.get(), F_GETPIPE_SZ) >= kPipeSize;
  // Only our end is non-blocking: the task's writes must block when the pipe is full.
  ::fcntl(output_fd_.get(), F_SETFL, ::fcntl(output_fd_.get(), F_GETFL) | O_NONBLOCK);

  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail_start(errno_error(codes::kInternalError, "creating error pipe", errno));
  }
  error_fd_ = above_stdio(fds[0]);
  UniqueFd error_write = above_stdio(fds[1]);

  // A socket rather than a pipe: send(MSG_NOSIGNAL) cannot raise SIGPIPE in the supervisor if
  // the child is already gone.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return fail_start(errno_error(codes::kInternalError, "creating start socket", errno));
  }
  UniqueFd go_read = above_stdio(fds[0]);
  UniqueFd go_write = above_stdio(fds[1]);

  const char* stdin_source = spec_.stdin_path.empty() ? "/dev/null" : spec_.stdin_path.c_str();
  UniqueFd stdin_source_fd = above_stdio(::open(stdin_source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!stdin_source_fd.valid() || !output_fd_.valid() || !output_write.valid() ||
      !error_fd_.valid() || !error_write.valid() || !go_read.valid() || !go_write.valid() ||
      !spool_fd_.valid()) {
    return fail_start(errno_error(codes::kInternalError, "setting up descriptors", errno));
  }

  std::vector<gid_t> groups;
  const Account::Native* run_as = spec_.run_as ? spec_.run_as->account.native() : nullptr;
  if (spec_.run_as && run_as == nullptr) {
    return fail_start(Error{codes::kInvalidUsername,
                            "user '" + spec_.run_as->name + "' has no account to run as"});
  }
  if (run_as != nullptr) {
    auto listed = supplementary_groups(*spec_.run_as);
    if (!listed) {
      return fail_start(listed.error());
    }
    groups = std::move(*listed);
  }
  if (spec_.contain_tree) {
    cgroup_ = TaskCgroup::create(spec_.container_name);
  }

  const std::vector<char*> argv = c_strings(spec_.argv);
  const std::vector<char*> envp = c_strings(spec_.env);
  rlimit files{};
  const int fd_limit = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536
                           ? static_cast<int>(files.rlim_cur)
                           : 65536;
  const ChildPlan plan{
      .program = spec_.argv.front().c_str(),
      .argv = argv.data(),
      .envp = envp.data(),
      .working_directory =
          spec_.working_directory.empty() ? nullptr : spec_.working_directory.c_str(),
      .script_path = spec_.script_path.empty() ? nullptr : spec_.script_path.c_str(),
      .stdin_fd = stdin_source_fd.get(),
      .output_fd = output_write.get(),
      .go_fd = go_read.get(),
      .error_fd = error_write.get(),
      .parent = self_,
      .switch_user = run_as != nullptr,
      .uid = run_as != nullptr ? run_as->uid : 0,
      .gid = run_as != nullptr ? run_as->gid : 0,
      .groups = groups.data(),
      .group_count = groups.size(),
      .fd_limit = fd_limit,
  };

  if (drain_signals(signal_fd_.get()).cancel) {
    if (cgroup_) {
      cgroup_->remove(false);
    }
    return cancelled_before_start();
  }
  // Starting the child inside its cgroup (clone3 + CLONE_INTO_CGROUP) is much cheaper than
  // moving it there after fork: a write to cgroup.procs takes the cgroup write lock, which
  // waits for an RCU grace period (about 10 ms per task on these machines).
  // A child born in its cgroup, or one that gets none, need not wait for the parent.
  ChildPlan no_wait = plan;
  no_wait.go_fd = -1;
  bool placed = false;
  pid_t pid = -1;
  if (cgroup_) {
    UniqueFd cgroup_dir(::open(cgroup_->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cgroup_dir.valid()) {
      pid = clone_into_cgroup(cgroup_dir.get());
      placed = pid >= 0;
      if (pid == 0) {
        go_write.reset();
        run_child(no_wait);
      }
    }
  }
  if (!placed) {
    pid = ::fork();
    if (pid == 0) {
      go_write.reset();
      run_child(cgroup_ ? plan : no_wait);
    }
  }
  const auto fork_time = SteadyClock::now();
  // The task's copies only: keeping ours would hold the pipe open past the task's end.
  output_write.reset();
  error_write.reset();
  go_read.reset();
  stdin_source_fd.reset();
  if (pid < 0) {
    const int err = errno;
    if (cgroup_) {
      cgroup_->remove(false);
    }
    return fail_start(errno_error(codes::kInternalError, "fork", err));
  }
  main_pid_ = pid;
  main_alive_ = true;
  deadline_ = fork_time + bounded(spec_.timeout);
  outcome_.start_time = std::chrono::system_clock::now();

  if (cgroup_ && !placed && !cgroup_->add_process(pid)) {
    cgroup_->remove(false);
    cgroup_.reset();
  }
  outcome_.contained = cgroup_.has_value();
  const char go = 'g';
  // If this fails the child is already gone; the loop reaps it and reports what it reported.
  [[maybe_unused]] const ssize_t sent = ::send(go_write.get(), &go, 1, MSG_NOSIGNAL);
  go_write.reset();

  loop();

  output_fd_.reset();
  error_fd_.reset();
  if (cgroup_) {
    cgroup_->remove(kill_reason_.has_value() && spec_.kill_process_tree && !children_left_);
  }
  outcome_.end_time = std::chrono::system_clock::now();
  return outcome_;
}

void Supervision::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (pid == main_pid_) {
        main_alive_ = false;
        main_status_ = status;
      }
      continue;
    }
    if (pid < 0 && errno == EINTR) {
      continue;
    }
    children_left_ = !(pid < 0 && errno == ECHILD);
    return;
  }
}

// Every process of the task: cgroup members plus everything below us in /proc (orphans of the
// task are our children too, being a subreaper). Pids come from a fresh snapshot and are
// either our unreaped children or their descendants, so none of them can be a recycled pid of
// an unrelated process, short of a descendant dying and being reaped by its own parent between
// the snapshot and the kill.
void Supervision::signal_tree(int sig) {
  if (cgroup_) {
    if (sig == SIGKILL) {
      cgroup_->kill_all();
    } else {
      for (const int pid : cgroup_->members()) {
        ::kill(pid, sig);
      }
    }
  }
  for (const int pid : linux_proc::descendants_of(self_)) {
    ::kill(pid, sig);
  }
}

void Supervision::begin_kill(Kind reason) {
  kill_reason_ = reason;
  if (spec_.stop_inside) {
    spec_.stop_inside(spec_.kill_process_tree);
  }
  phase_ = KillPhase::kTerm;
  phase_since_ = SteadyClock::now();
  if (spec_.kill_process_tree) {
    signal_tree(SIGTERM);
    // A stopped process would hold SIGTERM pending until SIGKILL; let it act on it now.
    signal_tree(SIGCONT);
  } else if (main_alive_) {
    ::kill(main_pid_, SIGTERM);
    ::kill(main_pid_, SIGCONT);
  }
}

bool Supervision::kill_pending() const {
  return spec_.kill_process_tree ? children_left_ : main_alive_;
}

void Supervision::on_timers(SteadyClock::time_point now) {
  if (!kill_reason_ && main_alive_ && now >= deadline_) {
    begin_kill(Kind::kTimedOut);
  }
  if (phase_ == KillPhase::kTerm && kill_pending() &&
      now >= phase_since_ + bounded(spec_.kill_grace)) {
    phase_ = KillPhase::kKill;
    phase_since_ = now;
    next_kill_round_ = now;
  }
  if (phase_ == KillPhase::kKill && kill_pending() && !gave_up_ && now >= next_kill_round_) {
    if (now - phase_since_ >= kKillGiveUp) {
      gave_up_ = true;
      outcome_.error = "processes of the task survived SIGKILL for " +
                       std::to_string(kKillGiveUp.count()) + " ms";
      return;
    }
    if (spec_.kill_process_tree) {
      signal_tree(SIGKILL);
    } else if (main_alive_) {
      ::kill(main_pid_, SIGKILL);
    }
    next_kill_round_ = now + kKillRepeat;
  }
}

std::optional<SteadyClock::time_point> Supervision::next_timer() const {
  std::optional<SteadyClock::time_point> next;
  auto consider = [&](SteadyClock::time_point t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  if (!kill_reason_ && main_alive_) {
    consider(deadline_);
  }
  if (kill_pending() && !gave_up_) {
    if (phase_ == KillPhase::kTerm) {
      consider(phase_since_ + bounded(spec_.kill_grace));
    } else if (phase_ == KillPhase::kKill) {
      consider(next_kill_round_);
    }
  }
  if (drain_until_) {
    consider(*drain_until_);
  }
  return next;
}

// The task is over once the main process is gone, and on timeout or cancel in ProcessTree
// mode its whole tree too; then whatever output is still coming gets drain_after_exit to
// arrive. Background processes of a normally ended task may hold the pipe open for ever.
bool Supervision::finished(SteadyClock::time_point now) {
  if (start_failure_) {
    return true;
  }
  const bool tree_pending = kill_reason_ && spec_.kill_process_tree && children_left_ && !gave_up_;
  if ((main_alive_ && !gave_up_) || tree_pending) {
    return false;
  }
  if (!drain_until_) {
    drain_until_ = now + bounded(spec_.drain_after_exit);
  }
  return !output_fd_.valid() || now >= *drain_until_;
}

void Supervision::loop() {
  OutputPump pump(output_fd_.get(), spool_fd_.get(), spec_.output_max_bytes,
                  spec_.output_tail_bytes);
  // A child may have exited before the signalfd saw its SIGCHLD drained above.
  reap();
  std::optional<SteadyClock::time_point> output_resume;  // output left alone until then
  for (;;) {
    auto now = SteadyClock::now();
    on_timers(now);
    if (finished(now)) {
      break;
    }
    if (output_resume && (now >= *output_resume || !main_alive_)) {
      output_resume.reset();
    }
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    fds[count++] = pollfd{signal_fd_.get(), POLLIN, 0};
    const bool watch_output = output_fd_.valid() && !output_resume;
    const nfds_t output_index = watch_output ? count++ : 0;
    if (watch_output) {
      fds[output_index] = pollfd{output_fd_.get(), POLLIN, 0};
    }
    const nfds_t error_index = error_fd_.valid() ? count++ : 0;
    if (error_fd_.valid()) {
      fds[error_index] = pollfd{error_fd_.get(), POLLIN, 0};
    }
    auto wake = next_timer();
    if (output_resume && (!wake || *output_resume < *wake)) {
      wake = output_resume;
    }
    const auto timeout = poll_timeout(now, wake);
    if (::ppoll(fds.data(), count, timeout ? &*timeout : nullptr, nullptr) < 0) {
      // Only ENOMEM is possible here; giving up would abandon a running task, so retry.
      if (errno != EINTR) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      continue;
    }

    const SignalsSeen seen =
        (fds[0].revents & POLLIN) != 0 ? drain_signals(signal_fd_.get()) : SignalsSeen{};
    if (seen.child) {
      reap();
    }
    if (seen.cancel) {
      if (main_alive_ && !kill_reason_) {
        begin_kill(Kind::kCancelled);
      } else if (!main_alive_ && !kill_reason_) {
        // The task already ended on its own; a cancel now only cuts the output drain short.
        drain_until_ = SteadyClock::now();
      }
    }
    if (output_index != 0 && fds[output_index].revents != 0) {
      const uint64_t before = pump.bytes();
      if (!pump.pump()) {
        output_fd_.reset();
      }
      outcome_.output_bytes = pump.bytes();
      if (batch_output_ && output_fd_.valid() && main_alive_ &&
          pump.bytes() - before < kBatchBytes) {
        output_resume = SteadyClock::now() + kBatchDelay;
      }
    }
    if (error_index != 0 && fds[error_index].revents != 0) {
      ChildFailure failure{};
      ssize_t n = 0;
      do {
        n = ::read(error_fd_.get(), &failure, sizeof failure);
      } while (n < 0 && errno == EINTR);
      error_fd_.reset();
      if (n == static_cast<ssize_t>(sizeof failure)) {
        start_failure_ = failure;
      } else {
        // EOF: the exec closed the close-on-exec write end, so the program runs (or died of
        // our kill before exec; then nobody needs to hear it started).
        outcome_.start_time = std::chrono::system_clock::now();
        if (spec_.on_started && !kill_reason_) {
          try {
            spec_.on_started(main_pid_);
          } catch (const std::exception& e) {
            outcome_.error = std::string("on_started failed: ") + e.what();
          }
        }
      }
    }
  }

  if (output_fd_.valid()) {
    // Whatever is already in the pipe is part of the output, even when the drain timed out.
    if (!pump.pump()) {
      output_fd_.reset();
    }
  }
  outcome_.output_bytes = pump.bytes();
  outcome_.spooled_bytes = pump.spooled();
  outcome_.output_tail = pump.tail();
  if (pump.write_error() != 0 && outcome_.error.empty()) {
    outcome_.error = errno_error(codes::kInternalError, "writing output file " + spec_.output_path,
                                 pump.write_error())
                         .message;
  }

  if (start_failure_) {
    // The child exits right after reporting; collect it so no zombie is left.
    int status = 0;
    while (main_alive_ && ::waitpid(main_pid_, &status, 0) < 0 && errno == EINTR) {
    }
    main_alive_ = false;
    const Error error = start_error(*start_failure_, spec_);
    outcome_.kind = Kind::kStartFailed;
    outcome_.error_code = error.code;
    outcome_.error = error.message;
    return;
  }
  outcome_.exit_code = main_alive_ ? -1 : exit_code_of(main_status_);
  if (kill_reason_) {
    outcome_.kind = *kill_reason_;
  } else if (WIFSIGNALED(main_status_)) {
    outcome_.kind = Kind::kSignaled;
  } else {
    outcome_.kind = Kind::kExited;
  }
}

}  // namespace

void block_supervisor_signals() {
  const sigset_t set = supervised_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

std::string describe_abnormal_exit(int exit_code) {
  const int sig = exit_code - 128;
  const char* name = sigabbrev_np(sig);
  return "the process was killed by signal " + std::to_string(sig) +
         (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
}

SuperviseOutcome run_supervised(const SuperviseSpec& spec) {
  return Supervision(spec).run();
}

int remove_empty_task_containers(const std::function<bool(std::string_view name)>& keep) {
  return linux_cgroup::TaskCgroup::remove_empty_leaves(keep);
}

}  // namespace ferry::platform
