// What every part of the daemon shares: its options and identity, the server, the clock, where
// the daemon is in its life, and the rules every part applies to the server's replies.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "ferry/agent/audit_log.hpp"
#include "ferry/agent/clock.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/agent/daemon.hpp"
#include "ferry/agent/identity.hpp"

namespace ferry::agent {

enum class DaemonPhase {
  kRunning,   // taking tasks
  kStopping,  // stop(): no new work; pending reports still go out, within shutdown_flush
  kStopped,   // nothing more is sent; running tasks are their supervisors' alone
};

class DaemonContext {
 public:
  DaemonContext(DaemonOptions options, Identity identity, ControlPlane& server, Clock& clock);

  // Daemon::reload changes the fields DaemonOptions says; the parts read them at each use.
  DaemonOptions options;
  const Identity identity;
  ControlPlane& server;
  Clock& clock;
  std::string boot_id;  // read at start
  DaemonPhase phase = DaemonPhase::kRunning;
  // Ends the daemon with an error; set by the daemon.
  std::function<void(const std::string& why)> fatal;
  // What the agent is doing (its link to the server, the tasks running) may have changed; the
  // daemon passes it on to Daemon::on_status_change.
  std::function<void()> status_changed = [] {};
  // The daemon itself: callbacks that may come after it is gone (replies, push events) hold
  // this and do nothing once it has expired.
  std::weak_ptr<void> owner;

  [[nodiscard]] bool running() const { return phase == DaemonPhase::kRunning; }
  [[nodiscard]] bool stopped() const { return phase == DaemonPhase::kStopped; }
  // The wall clock as reports carry it (RFC 3339).
  [[nodiscard]] std::string now_text() const;

  // Writes `record` to the audit log, stamped with now_text(). A failure is logged (once until
  // a write works again) and never reaches the task.
  void audit(AuditRecord record);
  // Daemon::reload's new audit limits.
  void set_audit_limits(std::uint64_t max_bytes, std::size_t keep);

  // Capped exponential backoff: min * 2^attempt, at most max, then a delay in [d/2, d] so that
  // a fleet's retries after a server restart spread out.
  std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds min,
                                    std::chrono::milliseconds max);
  // `base` +-25%, at least 1 ms.
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);

  // A reply that says the instance is gone stops the daemon (nothing it sends can work again).
  // True then.
  bool check_fatal(const CallResult& r);
  void instance_gone();
  // After AuthFailure.SignatureExpire: signs with the server's clock from now on. True then.
  bool fix_clock(const CallResult& r);

  // `f`, run only while the daemon exists.
  template <typename F>
  auto guard(F f) const {
    return [owner = owner, f = std::move(f)](auto&&... args) mutable {
      if (auto alive = owner.lock()) {
        f(std::forward<decltype(args)>(args)...);
      }
    };
  }

 private:
  std::mt19937_64 rng_{std::random_device{}()};
  AuditLog audit_log_;
  bool audit_failing_ = false;
};

}  // namespace ferry::agent
