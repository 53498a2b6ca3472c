// Internal to ferry_server_http: the Beast session coroutines, shared by http_server.cpp (plain
// TCP) and tls.cpp (TLS), each instantiating them for its own stream type. Nothing outside
// server/http/ includes this file: it costs most of the library's compile time.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <charconv>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "ferry/server/http_server.hpp"

namespace ferry::server::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

using strand_type = net::strand<net::io_context::executor_type>;
// The default completion token of every I/O object: each co_await yields its error as a value
// (a tuple) instead of throwing, so that expected conditions (EOF, timeouts, cancellation) are
// ordinary control flow.
using token_type = net::as_tuple_t<net::use_awaitable_t<strand_type>>;
using executor_type = token_type::executor_with_default<strand_type>;
using stream_type = beast::basic_stream<net::ip::tcp, executor_type>;
using acceptor_type = net::basic_socket_acceptor<net::ip::tcp, executor_type>;
using timer_type =
    net::basic_waitable_timer<std::chrono::steady_clock,
                              net::wait_traits<std::chrono::steady_clock>, executor_type>;
template <typename T>
using task = net::awaitable<T, strand_type>;

// What every session of one server shares; owned by HttpServer::Impl, outlives all sessions.
struct ServerCore {
  HttpServerOptions options;
  HttpHandler handler;
  std::shared_ptr<WebSocketHandler> ws_handler;
  std::shared_ptr<const HttpErrorWriter> errors;  // never null
  std::atomic<bool> stopping{false};
};

inline HttpResponse error_response(const ServerCore& core, HttpErrorKind kind, std::string message,
                                   const HttpRequest* head = nullptr) {
  return core.errors->error_response(HttpError{kind, std::move(message)}, head);
}

// What a session tells the server's accounting of connections (http_server.cpp).
class ConnectionState {
 public:
  virtual ~ConnectionState() = default;
  // Waiting for a request (the TLS handshake, between requests, reading a header): a connection
  // that may be closed to make room for a new one when the server is full.
  virtual void set_waiting(bool waiting) = 0;
  // The peer proved who it is (a signed agent request, an accepted WebSocket): the connection no
  // longer counts against its source's cap and is never closed to make room.
  virtual void trust() = 0;
};

struct ConnectionInfo {
  std::string remote_address;
  bool tls = false;
  ConnectionState* state = nullptr;  // outlives the session; null in tools and tests
};

inline void set_waiting(const ConnectionInfo& info, bool waiting) {
  if (info.state != nullptr) {
    info.state->set_waiting(waiting);
  }
}

// Room for a full header plus a read-ahead, so a pipelined next request fits as well.
inline std::size_t connection_buffer_limit(const HttpServerOptions& o) {
  return o.max_header_bytes + 64 * 1024;
}

inline bool cancelled(const net::cancellation_state& cs) {
  return cs.cancelled() != net::cancellation_type::none;
}

inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The request without its body: what an error writer sees of a request refused while (or
// instead of) reading its body.
template <typename Body>
HttpRequest to_head(const http::request<Body>& req, const ConnectionInfo& info) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    auto [it, inserted] =
        out.headers.try_emplace(lowercase(field.name_string()), std::string(field.value()));
    if (!inserted) {
      it->second.append(", ").append(field.value());
    }
  }
  out.remote_address = info.remote_address;
  out.tls = info.tls;
  return out;
}

inline HttpRequest to_request(const http::request<http::string_body>& req,
                              const ConnectionInfo& info) {
  HttpRequest out = to_head(req, info);
  out.body = req.body();
  return out;
}

inline http::response<http::string_body> to_response(const ServerCore& core, HttpResponse in,
                                                     unsigned version, bool keep_alive, bool head) {
  if (in.status < 100 || in.status > 999) {
    in = error_response(core, HttpErrorKind::kInternal, "handler returned an invalid status");
  }
  http::response<http::string_body> res;
  res.version(version);
  res.result(in.status);
  res.set(http::field::server, "ferry");
  for (auto& [name, value] : in.headers) {
    res.insert(name, value);
  }
  // A status without content must not carry a body nor a length.
  bool no_content = in.status < 200 || in.status == 204 || in.status == 304;
  if (!no_content) {
    res.set(http::field::content_type, in.content_type);
  }
  res.keep_alive(keep_alive);
  if (no_content) {
    in.body.clear();
  }
  if (head) {
    res.content_length(in.body.size());
  } else {
    res.body() = std::move(in.body);
    res.prepare_payload();
  }
  return res;
}

HttpResponse call_handler(const ServerCore& core, const HttpRequest& req);

// Returns whether the response went out.
template <typename Stream>
task<bool> write_response(Stream& stream, const ServerCore& core, HttpResponse r, unsigned version,
                          bool keep_alive, bool head = false) {
  auto res = to_response(core, std::move(r), version, keep_alive, head);
  beast::get_lowest_layer(stream).expires_after(core.options.body_timeout);
  auto [ec, n] = co_await http::async_write(stream, res);
  if (ec) {
    spdlog::debug("http: writing response: {}", ec.message());
  }
  co_return !ec;
}

// Answers an error the transport finds itself; the connection closes after it. `parser`, when
// given, has read the request's header, which the error writer then sees.
template <typename Stream>
task<bool> refuse(Stream& stream, const ServerCore& core, const ConnectionInfo& info,
                  HttpErrorKind kind, std::string message, unsigned version,
                  const http::request_parser<http::string_body>* parser = nullptr) {
  std::optional<HttpRequest> head;
  if (parser != nullptr) {
    head = to_head(parser->get(), info);
  }
  co_return co_await write_response(
      stream, core, error_response(core, kind, std::move(message), head ? &*head : nullptr),
      version, false);
}

inline bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_version).category();
}

// ---------------------------------------------------------------------------------------------
// WebSocket

// Per-socket state that only the session's strand touches.
struct WsState {
  explicit WsState(const strand_type& ex) : wake(ex, timer_type::time_point::max()) {}
  std::deque<std::string> queue;
  timer_type wake;  // the writer sleeps on it; cancel() wakes it
  std::optional<websocket::close_reason> close_reason;
};

class WsConnection final : public WebSocketConnection,
                           public std::enable_shared_from_this<WsConnection> {
 public:
  WsConnection(strand_type strand, std::string remote_address, std::size_t max_queue_bytes)
      : strand_(std::move(strand)),
        remote_address_(std::move(remote_address)),
        max_queue_bytes_(max_queue_bytes) {}

  bool send(std::string text) override {
    std::lock_guard lock(mutex_);
    if (!strand_ || closing_) {
      return false;
    }
    if (text.size() > max_queue_bytes_ - std::min(queued_bytes_, max_queue_bytes_)) {
      closing_ = true;
      spdlog::debug("websocket {}: outgoing queue over {} bytes, closing", remote_address_,
                    max_queue_bytes_);
      post_close(websocket::close_code::try_again_later);
      return false;
    }
    queued_bytes_ += text.size();
    net::post(*strand_, [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->state_ == nullptr) {
        self->written(text.size());
        return;
      }
      self->state_->queue.push_back(std::move(text));
      self->state_->wake.cancel();
    });
    return true;
  }

  void close() override {
    std::lock_guard lock(mutex_);
    if (!strand_ || closing_) {
      return;
    }
    closing_ = true;
    post_close(websocket::close_code::normal);
  }

  [[nodiscard]] const std::string& remote_address() const override { return remote_address_; }

  // On the strand: the session's state is live from attach() to detach(). After detach() the
  // strand executor is dropped too, since it must not outlive the io_context while a handler
  // keeps this object.
  void attach(WsState* state) { state_ = state; }
  void detach() {
    state_ = nullptr;
    std::lock_guard lock(mutex_);
    strand_.reset();
  }
  // On the strand, when a queued message has left (or was dropped).
  void written(std::size_t n) {
    std::lock_guard lock(mutex_);
    queued_bytes_ -= std::min(n, queued_bytes_);
  }
  // On the strand: the session itself wants to close (e.g. on_message threw).
  void request_close(websocket::close_code code) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    if (state_ != nullptr && !state_->close_reason) {
      state_->close_reason = websocket::close_reason(code);
      state_->wake.cancel();
    }
  }

 private:
  void post_close(websocket::close_code code) {  // mutex_ held
    net::post(*strand_, [self = shared_from_this(), code] {
      if (self->state_ != nullptr && !self->state_->close_reason) {
        self->state_->close_reason = websocket::close_reason(code);
        self->state_->wake.cancel();
      }
    });
  }

  std::mutex mutex_;
  std::optional<strand_type> strand_;  // guarded by mutex_
  bool closing_ = false;               // guarded by mutex_
  std::size_t queued_bytes_ = 0;       // guarded by mutex_
  WsState* state_ = nullptr;           // strand only
  const std::string remote_address_;
  const std::size_t max_queue_bytes_;
};

template <typename Ws>
task<void> ws_read_loop(Ws& ws, ServerCore& core, std::shared_ptr<WsConnection> conn) {
  co_await net::this_coro::throw_if_cancelled(false);
  auto cs = co_await net::this_coro::cancellation_state;
  beast::flat_buffer buffer;
  while (!cancelled(cs) && !core.stopping.load()) {
    auto [ec, n] = co_await ws.async_read(buffer);
    if (ec) {
      spdlog::debug("websocket {}: read: {}", conn->remote_address(), ec.message());
      co_return;
    }
    std::string text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    try {
      core.ws_handler->on_message(conn, std::move(text));
    } catch (const std::exception& e) {
      // The reason may quote the frame: at debug only.
      spdlog::warn("websocket {}: on_message failed (the reason at debug)", conn->remote_address());
      spdlog::debug("websocket {}: on_message failed: {}", conn->remote_address(), e.what());
      conn->request_close(websocket::close_code::internal_error);
    } catch (...) {
      spdlog::warn("websocket {}: on_message failed", conn->remote_address());
      conn->request_close(websocket::close_code::internal_error);
    }
  }
}

template <typename Ws>
task<void> ws_write_loop(Ws& ws, const ServerCore& core, WsState& state,
                         std::shared_ptr<WsConnection> conn) {
  co_await net::this_coro::throw_if_cancelled(false);
  auto cs = co_await net::this_coro::cancellation_state;
  auto stop_requested = [&] { return cancelled(cs) || core.stopping.load(); };
  while (!stop_requested()) {
    // A normal close() goes out after what was queued before it; any other close (queue
    // overflow, handler error) drops the backlog.
    while (!state.queue.empty() && !stop_requested() &&
           (!state.close_reason || state.close_reason->code == websocket::close_code::normal)) {
      std::string message = std::move(state.queue.front());
      state.queue.pop_front();
      auto [ec, n] = co_await ws.async_write(net::buffer(message));
      conn->written(message.size());
      if (ec) {
        spdlog::debug("websocket {}: write: {}", conn->remote_address(), ec.message());
        co_return;
      }
    }
    if (state.close_reason) {
      for (const auto& m : state.queue) {
        conn->written(m.size());
      }
      state.queue.clear();
      auto [ec] = co_await ws.async_close(*state.close_reason);
      if (ec) {
        spdlog::debug("websocket {}: close: {}", conn->remote_address(), ec.message());
      }
      co_return;
    }
    if (stop_requested()) {
      co_return;
    }
    state.wake.expires_at(timer_type::time_point::max());
    co_await state.wake.async_wait();  // operation_aborted: woken or cancelled
  }
}

template <typename Stream>
task<void> serve_websocket(Stream& stream, ServerCore& core, http::request<http::string_body> req,
                           const ConnectionInfo& info) {
  using namespace net::experimental::awaitable_operators;
  const auto& opt = core.options;
  strand_type strand = co_await net::this_coro::executor;
  auto cs = co_await net::this_coro::cancellation_state;
  auto conn = std::make_shared<WsConnection>(strand, info.remote_address, opt.max_ws_queue_bytes);

  std::optional<HttpResponse> refusal;
  const HttpRequest upgrade = to_request(req, info);
  try {
    refusal = core.ws_handler->on_open(upgrade, conn);
  } catch (const std::exception& e) {
    spdlog::warn("websocket {}: on_open failed (the reason at debug)", info.remote_address);
    spdlog::debug("websocket {}: on_open failed: {}", info.remote_address, e.what());
    refusal = error_response(core, HttpErrorKind::kInternal, "internal error", &upgrade);
  } catch (...) {
    refusal = error_response(core, HttpErrorKind::kInternal, "internal error", &upgrade);
  }
  // Also runs if stop() gives up on this session and the io_context destroys the frame: a
  // handler may keep `conn`, which must not then hold an executor of a dead io_context.
  struct Detach {
    WsConnection& c;
    ~Detach() { c.detach(); }
  } detach_at_exit{*conn};
  if (refusal) {
    co_await write_response(stream, core, std::move(*refusal), req.version(), false);
    co_return;
  }

  WsState state(strand);
  conn->attach(&state);
  {
    websocket::stream<Stream&> ws{stream};
    ws.set_option(websocket::stream_base::timeout{opt.header_timeout, opt.ws_idle_timeout, true});
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "ferry"); }));
    ws.read_message_max(opt.max_ws_message_bytes);
    auto [ec] = co_await ws.async_accept(req);
    if (ec) {
      spdlog::debug("websocket {}: handshake: {}", info.remote_address, ec.message());
    } else if (!cancelled(cs) && !core.stopping.load()) {
      spdlog::debug("websocket {}: open", info.remote_address);
      // The handler accepted it (the agents' handler only after checking a signature).
      if (info.state != nullptr) {
        info.state->trust();
      }
      // Whichever loop ends first (peer gone, close done, stop()) cancels the other.
      co_await (ws_read_loop(ws, core, conn) || ws_write_loop(ws, core, state, conn));
    }
  }
  conn->detach();
  try {
    core.ws_handler->on_close(conn);
  } catch (...) {
    spdlog::warn("websocket {}: on_close failed", info.remote_address);
  }
  spdlog::debug("websocket {}: closed", info.remote_address);
}

// ---------------------------------------------------------------------------------------------
// HTTP

// After refusing an over-size body: read and discard what the client is still sending (at most
// `remaining` bytes when the request announced its length, never more than 32 MiB or 1 s) before
// the connection closes. Closing a socket with unread data makes the kernel send a reset, and a
// client still writing its body then sees EPIPE or ECONNRESET instead of the error envelope it
// was sent (nginx's lingering close does the same).
template <typename Stream>
task<void> drain_before_close(Stream& stream, std::optional<std::uint64_t> remaining) {
  constexpr std::uint64_t kMaxDrainBytes = 32u << 20;
  const std::uint64_t limit = std::min(remaining.value_or(kMaxDrainBytes), kMaxDrainBytes);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  std::array<char, 16 * 1024> scratch{};
  std::uint64_t drained = 0;
  while (drained < limit) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch));
    if (ec) {
      break;  // EOF (the client closed after reading the envelope), timeout or cancellation
    }
    drained += n;
  }
}

// Serves requests on `stream` until the peer is done, a limit or timeout is hit, or the session
// is cancelled. Leaves the stream open when a graceful shutdown is still possible.
template <typename Stream>
task<void> serve_http(Stream& stream, beast::flat_buffer& buffer, ServerCore& core,
                      const ConnectionInfo& info) {
  const auto& opt = core.options;
  auto cs = co_await net::this_coro::cancellation_state;
  auto& lowest = beast::get_lowest_layer(stream);
  // Checked before every operation, not only per request: a cancellation that lands while a
  // completion is already queued marks the state but aborts nothing, so the next operation
  // would otherwise run to its full timeout.
  auto stop_requested = [&] { return cancelled(cs) || core.stopping.load(); };
  bool first = true;
  while (!stop_requested()) {
    set_waiting(info, true);
    if (!first && buffer.size() == 0) {
      // Between requests the client gets the idle timeout; once it sends, the header timeout.
      lowest.expires_after(opt.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096));
      if (ec) {
        co_return;
      }
      buffer.commit(n);
      if (stop_requested()) {
        co_return;
      }
    }
    first = false;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);
    lowest.expires_after(opt.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser);
    const std::string too_large =
        "request body larger than " + std::to_string(opt.max_body_bytes) + " bytes";
    if (hec == http::error::body_limit) {
      // Content-Length over the limit, refused before reading the body; that unread body leaves
      // the connection unusable.
      co_await refuse(stream, core, info, HttpErrorKind::kBodyTooLarge, too_large,
                      parser.get().version(), &parser);
      // The body was not read at all; whatever of it is already buffered counts.
      // Beast refuses the length before it marks the header done, so parser.content_length()
      // (which asserts a finished header) is off limits here: the field, already stored and
      // checked by the parser, is read instead.
      std::optional<std::uint64_t> rest;
      const auto field = parser.get()[http::field::content_length];
      std::uint64_t announced = 0;
      if (auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), announced);
          !field.empty() && ec == std::errc() && end == field.data() + field.size()) {
        rest = announced - std::min<std::uint64_t>(announced, buffer.size());
      }
      co_await drain_before_close(stream, rest);
      co_return;
    }
    if (hec == http::error::header_limit || hec == http::error::buffer_overflow) {
      co_await refuse(
          stream, core, info, HttpErrorKind::kHeaderTooLarge,
          "request header larger than " + std::to_string(opt.max_header_bytes) + " bytes", 11);
      co_return;
    }
    if (hec) {
      if (is_http_parse_error(hec) && hec != http::error::end_of_stream &&
          hec != http::error::partial_message) {
        co_await refuse(stream, core, info, HttpErrorKind::kMalformed, "malformed request", 11);
      } else {
        spdlog::debug("http {}: read header: {}", info.remote_address, hec.message());
      }
      co_return;
    }

    if (stop_requested()) {
      co_return;
    }
    set_waiting(info, false);
    const unsigned version = parser.get().version();
    if (version >= 11 && !parser.is_done() &&
        beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      auto [cec, cn] = co_await http::async_write(stream, cont);
      if (cec || stop_requested()) {
        co_return;
      }
    }
    lowest.expires_after(opt.body_timeout);
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser);
    if (bec == http::error::body_limit) {
      co_await refuse(stream, core, info, HttpErrorKind::kBodyTooLarge, too_large, version,
                      &parser);
      std::optional<std::uint64_t> rest;
      if (auto left = parser.content_length_remaining()) {
        rest = *left;
      }
      co_await drain_before_close(stream, rest);
      co_return;
    }
    if (bec) {
      if (is_http_parse_error(bec) && bec != http::error::partial_message) {
        co_await refuse(stream, core, info, HttpErrorKind::kMalformed, "malformed request", version,
                        &parser);
      } else {
        spdlog::debug("http {}: read body: {}", info.remote_address, bec.message());
      }
      co_return;
    }

    if (stop_requested()) {
      co_return;
    }
    http::request<http::string_body> req = parser.release();
    if (core.ws_handler && websocket::is_upgrade(req)) {
      std::string_view target = req.target();
      if (target.substr(0, target.find('?')) == opt.websocket_path) {
        lowest.expires_never();  // the websocket stream keeps its own timers
        co_await serve_websocket(stream, core, std::move(req), info);
        co_return;
      }
    }

    const bool keep_alive = req.keep_alive() && !core.stopping.load();
    const bool head = req.method() == http::verb::head;
    HttpResponse res = call_handler(core, to_request(req, info));
    if (res.trusted_peer && info.state != nullptr) {
      info.state->trust();
    }
    if (!co_await write_response(stream, core, std::move(res), version, keep_alive, head) ||
        !keep_alive) {
      co_return;
    }
  }
}

// Entry points of one accepted connection, defined in http_server.cpp and tls.cpp.
task<void> run_plain_session(ServerCore& core, stream_type stream, ConnectionInfo info);

}  // namespace ferry::server::detail

namespace boost::asio::ssl {
class context;
}

namespace ferry::server::detail {

task<void> run_tls_session(ServerCore& core, net::ssl::context& ctx, stream_type stream,
                           ConnectionInfo info);
// Loads the PEM certificate chain and key into a server context that speaks TLS 1.2 or later.
Expected<std::shared_ptr<net::ssl::context>> make_tls_context(const std::string& cert_file,
                                                              const std::string& key_file);

}  // namespace ferry::server::detail
