#include "ferry/platform/reload_requests.hpp"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace ferry::platform {

struct ReloadRequests::Impl : std::enable_shared_from_this<Impl> {
  boost::asio::signal_set signals;
  std::function<void()> handler;
  Impl(EventLoop& loop, std::function<void()> h) : signals(loop, SIGHUP), handler(std::move(h)) {}

  void wait() {
    signals.async_wait([weak = weak_from_this()](const boost::system::error_code& ec, int) {
      auto self = weak.lock();
      if (ec || !self) {
        return;
      }
      self->handler();
      self->wait();
    });
  }
};

ReloadRequests::ReloadRequests(EventLoop& loop, std::function<void()> handler)
    : impl_(std::make_shared<Impl>(loop, std::move(handler))) {
  impl_->wait();
}

ReloadRequests::~ReloadRequests() {
  close();
}

void ReloadRequests::close() {
  boost::system::error_code ignored;
  impl_->signals.cancel(ignored);
}

}  // namespace ferry::platform
