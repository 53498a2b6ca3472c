// The daemon's real clock: timers on the event loop that never fire once cancelled.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>

#include "ferry/agent/clock.hpp"

using std::chrono::milliseconds;

TEST_CASE("system clock: a timer fires once, after its delay, and can be started again") {
  boost::asio::io_context io;
  auto clock = ferry::agent::make_system_clock(io);
  auto timer = clock->make_timer();
  CHECK_FALSE(timer->armed());
  const auto t0 = clock->now();
  int fired = 0;
  timer->start(milliseconds(30), [&] {
    ++fired;
    CHECK_FALSE(timer->armed());  // while it fires, it may be started again
    if (fired == 1) {
      timer->start(milliseconds(0), [&] { ++fired; });
    }
  });
  CHECK(timer->armed());
  io.run();
  CHECK(fired == 2);
  CHECK(clock->now() - t0 >= milliseconds(30));
  const auto wall = std::chrono::system_clock::now();
  CHECK(clock->wall_now() - wall < std::chrono::seconds(1));
}

TEST_CASE("system clock: a cancelled wait never fires, even once it is due") {
  boost::asio::io_context io;
  auto clock = ferry::agent::make_system_clock(io);
  // Both are due in the same turn of the loop, each cancels the other: whichever runs first,
  // the other's completion is already queued and must not fire.
  auto a = clock->make_timer();
  auto b = clock->make_timer();
  int fired = 0;
  a->start(milliseconds(0), [&] {
    ++fired;
    b->cancel();
  });
  b->start(milliseconds(0), [&] {
    ++fired;
    a->cancel();
  });
  io.run();
  CHECK(fired == 1);

  // Cancelled before its time, restarted (the first wait replaced), destroyed while waiting.
  int late = 0;
  a->start(milliseconds(10), [&] { late += 100; });
  a->cancel();
  CHECK_FALSE(a->armed());
  b->start(milliseconds(50), [&] { late += 10; });
  b->start(milliseconds(5), [&] { late += 1; });
  auto gone = clock->make_timer();
  gone->start(milliseconds(1), [&] { late += 1000; });
  gone.reset();
  io.restart();
  io.run();
  CHECK(late == 1);
}
