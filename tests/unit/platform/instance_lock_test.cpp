#include "ferry/platform/instance_lock.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "ferry/platform/detached_process.hpp"
#include "ferry/platform/fs.hpp"
#include "test_process.hpp"

using ferry::platform::InstanceLock;

TEST_CASE("instance lock: private, holds the pid, refuses a second holder naming the first",
          "[platform][lock]") {
  ferry::test::TempDir dir;
  const auto file = dir.path() / "agent.lock";
  std::optional<InstanceLock> held;
  {
    auto lock = InstanceLock::acquire(file);
    REQUIRE(lock);
    held.emplace(std::move(*lock));
  }
  CHECK(held->file() == file);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string pid = std::to_string(::getpid());
  CHECK(ferry::test::read_file(file) == pid + "\n");

  // An open file description lock: a second open, even in this process, is refused.
  auto second = InstanceLock::acquire(file);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == "OperationDenied");
  CHECK(second.error().message.find(file.string()) != std::string::npos);
  CHECK(second.error().message.find("locked by pid " + pid) != std::string::npos);

  held.reset();
  CHECK(InstanceLock::acquire(file));
}

TEST_CASE("instance lock: a process started while it is held does not keep it",
          "[platform][lock]") {
  ferry::test::TempDir dir;
  const auto file = dir.path() / "agent.lock";
  boost::asio::io_context io;
  auto log = ferry::platform::create_file(dir.path() / "child.log",
                                          ferry::platform::FileAccess::kPrivate, "log");
  REQUIRE(log);
  std::unique_ptr<ferry::platform::DetachedProcess> child;
  {
    auto lock = InstanceLock::acquire(file);
    REQUIRE(lock);
    auto started = ferry::platform::DetachedProcess::start(io, "/bin/sleep", {"30"}, *log);
    REQUIRE(started);
    child = std::move(*started);
  }
  // The child still runs; had it inherited the descriptor, it would hold the lock now.
  REQUIRE(::kill(child->identity().pid, 0) == 0);
  auto again = InstanceLock::acquire(file);
  INFO((again ? std::string() : again.error().message));
  CHECK(again);
  ::kill(child->identity().pid, SIGKILL);
  int code = 0;
  child->async_wait([&](int c) { code = c; });
  io.run_for(std::chrono::seconds(10));
  CHECK(code != 0);
}
