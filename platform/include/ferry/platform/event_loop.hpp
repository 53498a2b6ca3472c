// The one event loop the agent runs on: Boost.Asio's io_context, named here without including
// Asio so that headers which only pass it along stay light. Run by one thread.
#pragma once

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ferry::platform {

using EventLoop = boost::asio::io_context;

}  // namespace ferry::platform
