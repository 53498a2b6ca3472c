#include "ferry/server/gateway/periodic_thread.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "test_process.hpp"

using namespace ferry;
using ferry::server::PeriodicThread;

TEST_CASE("PeriodicThread: a failing or throwing pass does not end the passes", "[periodic]") {
  std::atomic<int> passes{0};
  PeriodicThread thread("test", std::chrono::milliseconds(5), [&]() -> Status {
    const int n = ++passes;
    if (n == 1) {
      throw std::runtime_error("first pass throws");
    }
    if (n == 2) {
      return Error{"Test.Failed", "second pass fails"};
    }
    return {};
  });
  CHECK(passes == 0);  // nothing before start()
  thread.start();
  thread.start();  // once
  CHECK(ferry::test::eventually([&] { return passes >= 4; }, std::chrono::seconds(10),
                                std::chrono::milliseconds(5)));
  thread.stop();
  const int stopped_at = passes;
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(passes == stopped_at);
  thread.start();  // not after stop()
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(passes == stopped_at);
}
