#include "ferry/platform/detached_process.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include "ferry/core/error_codes.hpp"

namespace bp = boost::process::v2;

namespace ferry::platform {
namespace {

// Puts the program in a session of its own, in the child between fork and exec.
struct NewSession {
  template <typename Launcher>
  bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*) {
    if (::setsid() < 0) {
      return bp::error_code(errno, bp::system_category());
    }
    return {};
  }
};

class PosixDetachedProcess : public DetachedProcess {
 public:
  explicit PosixDetachedProcess(std::unique_ptr<bp::process> process)
      : process_(std::move(process)),
        identity_(identify_process(process_->id()).value_or(ProcessIdentity{process_->id(), 0})) {}

  ~PosixDetachedProcess() override {
    *alive_ = false;
    process_->detach();
  }

  [[nodiscard]] ProcessIdentity identity() const override { return identity_; }

  void async_wait(ExitHandler done) override {
    process_->async_wait([alive = alive_, done = std::move(done)](bp::error_code ec, int code) {
      if (*alive) {
        done(ec ? -1 : code);
      }
    });
  }

  bool cancel(CancelLevel level) override {
    if (level == CancelLevel::kForced) {
      return cancel_process(identity_, level);
    }
    bp::error_code ec;  // SIGTERM
    process_->request_exit(ec);
    return !ec;
  }

 private:
  std::unique_ptr<bp::process> process_;
  ProcessIdentity identity_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

Expected<std::unique_ptr<DetachedProcess>> DetachedProcess::start(
    EventLoop& loop, const std::filesystem::path& program, const std::vector<std::string>& args,
    const OpenFile& error_log) {
  try {
    auto process = std::make_unique<bp::process>(
        loop.get_executor(), bp::filesystem::path(program.string()), args,
        bp::process_stdio{nullptr, nullptr, static_cast<int>(error_log.native())}, NewSession{});
    return std::unique_ptr<DetachedProcess>(
        std::make_unique<PosixDetachedProcess>(std::move(process)));
  } catch (const std::exception& e) {
    return Error{codes::kInternalError, e.what()};
  }
}

}  // namespace ferry::platform
