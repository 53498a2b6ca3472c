#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>

#include "ferry/agent/clock.hpp"

namespace ferry::agent {
namespace {

class SystemTimer : public Timer {
 public:
  explicit SystemTimer(platform::EventLoop& loop) : state_(std::make_shared<State>(loop)) {}
  ~SystemTimer() override { cancel(); }
  SystemTimer(const SystemTimer&) = delete;
  SystemTimer& operator=(const SystemTimer&) = delete;

  void start(std::chrono::milliseconds delay, std::function<void()> fire) override {
    State& s = *state_;
    s.fire = std::move(fire);
    const std::uint64_t generation = ++s.generation;
    s.timer.expires_after(delay);
    s.timer.async_wait(
        [weak = std::weak_ptr<State>(state_), generation](const boost::system::error_code& ec) {
          const auto state = weak.lock();
          // A wait that completed before a cancel or a new start is still queued: the generation
          // tells it apart.
          if (!state || ec || state->generation != generation || !state->fire) {
            return;
          }
          auto fire_now = std::move(state->fire);
          state->fire = nullptr;
          fire_now();
        });
  }

  void cancel() override {
    state_->fire = nullptr;
    ++state_->generation;
    state_->timer.cancel();
  }

  [[nodiscard]] bool armed() const override { return static_cast<bool>(state_->fire); }

 private:
  // Shared with the pending wait, which may complete after the timer is gone.
  struct State {
    explicit State(platform::EventLoop& loop) : timer(loop) {}
    boost::asio::steady_timer timer;
    std::function<void()> fire;
    std::uint64_t generation = 0;
  };
  std::shared_ptr<State> state_;
};

class SystemClock : public Clock {
 public:
  explicit SystemClock(platform::EventLoop& loop) : loop_(loop) {}

  [[nodiscard]] std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
  [[nodiscard]] std::unique_ptr<Timer> make_timer() override {
    return std::make_unique<SystemTimer>(loop_);
  }

 private:
  platform::EventLoop& loop_;
};

}  // namespace

std::unique_ptr<Clock> make_system_clock(platform::EventLoop& loop) {
  return std::make_unique<SystemClock>(loop);
}

}  // namespace ferry::agent
