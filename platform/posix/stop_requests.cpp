#include "ferry/platform/stop_requests.hpp"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace ferry::platform {

struct StopRequests::Impl {
  boost::asio::signal_set signals;
  explicit Impl(EventLoop& loop) : signals(loop, SIGTERM, SIGINT) {}
};

StopRequests::StopRequests(EventLoop& loop, Handler handler) : impl_(std::make_unique<Impl>(loop)) {
  impl_->signals.async_wait(
      [handler = std::move(handler)](const boost::system::error_code& ec, int sig) {
        if (!ec) {
          handler(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        }
      });
}

StopRequests::~StopRequests() {
  close();
}

void StopRequests::close() {
  boost::system::error_code ignored;
  impl_->signals.cancel(ignored);
}

}  // namespace ferry::platform
