// Starting a program that must outlive its starter (the agent's per-task supervisors): it runs
// in a session of its own, so the terminal's Ctrl-C and the end of the starter's process group
// do not reach it (POSIX: setsid in the child); stdin and stdout are the null device.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/platform/event_loop.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"

namespace ferry::platform {

class DetachedProcess {
 public:
  // The exit code, or -1 when the wait itself failed.
  using ExitHandler = std::function<void(int exit_code)>;

  // Starts `program` with `args`, its stderr written to `error_log` (the parent's copy may be
  // closed right after). Errors: InternalError with the reason the start failed.
  static Expected<std::unique_ptr<DetachedProcess>> start(EventLoop& loop,
                                                          const std::filesystem::path& program,
                                                          const std::vector<std::string>& args,
                                                          const OpenFile& error_log);

  // Detaches: the process goes on, and a pending wait never completes. Never kills it.
  virtual ~DetachedProcess() = default;

  // Read right after the start, while the process was certainly this one.
  [[nodiscard]] virtual ProcessIdentity identity() const = 0;
  // `done` runs on the loop once the process has exited (at most one wait).
  virtual void async_wait(ExitHandler done) = 0;
  // False when the request could not be made (the process is gone).
  virtual bool cancel(CancelLevel level) = 0;
};

}  // namespace ferry::platform
