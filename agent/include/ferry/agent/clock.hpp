// Time as the daemon sees it: steady time for its timers and intervals, wall time for the
// reports it sends. The real clock runs on the event loop; tests use a fake one that they move
// by hand, so that what the daemon does after a minute takes no minute.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "ferry/platform/event_loop.hpp"

namespace ferry::agent {

// One pending wait at a time.
class Timer {
 public:
  // A pending wait goes with the timer: it never fires.
  virtual ~Timer() = default;
  // Runs `fire` once, `delay` from now, on the event loop; replaces a pending wait.
  virtual void start(std::chrono::milliseconds delay, std::function<void()> fire) = 0;
  // A cancelled wait never fires, even one whose time has come.
  virtual void cancel() = 0;
  // Started and neither fired nor cancelled yet (false again while `fire` runs).
  [[nodiscard]] virtual bool armed() const = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall_now() const = 0;
  [[nodiscard]] virtual std::unique_ptr<Timer> make_timer() = 0;
};

// The system's clocks, with timers on `loop` (which must outlive it).
std::unique_ptr<Clock> make_system_clock(platform::EventLoop& loop);

}  // namespace ferry::agent
