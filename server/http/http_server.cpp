#include "ferry/server/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <charconv>
#include <condition_variable>
#include <list>
#include <thread>
#include <unordered_map>

#include "ferry/core/error_codes.hpp"
#include "session.hpp"

namespace ferry::server {

const std::string& HttpRequest::header(const std::string& lowercase_name) const {
  static const std::string kEmpty;
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? kEmpty : it->second;
}

unsigned http_status(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kBodyTooLarge:
      return 413;
    case HttpErrorKind::kHeaderTooLarge:
      return 431;
    case HttpErrorKind::kMalformed:
      return 400;
    case HttpErrorKind::kNotFound:
      return 404;
    case HttpErrorKind::kInternal:
      break;
  }
  return 500;
}

namespace detail {
namespace {

// For a server that speaks no API of its own (tests, tools): the message as plain text.
class PlainTextErrors final : public HttpErrorWriter {
 public:
  [[nodiscard]] HttpResponse error_response(const HttpError& error,
                                            const HttpRequest* /*head*/) const override {
    HttpResponse r;
    r.status = http_status(error.kind);
    r.content_type = "text/plain; charset=utf-8";
    r.body = error.message + "\n";
    return r;
  }
};

// The target without its query string.
std::string_view request_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

HttpResponse call_handler(const ServerCore& core, const HttpRequest& req) {
  try {
    return core.handler(req);
  } catch (const std::exception& e) {
    // The message may quote request contents, and the target's query string may hold a
    // signature or a command (Cloud Assistant GETs): both stay below info and out of the
    // response.
    spdlog::error("http {} {}: handler failed (the reason at debug)", req.method,
                  request_path(req.target));
    spdlog::debug("http {} {}: handler failed: {}", req.method, request_path(req.target), e.what());
  } catch (...) {
    spdlog::error("http {} {}: handler failed", req.method, request_path(req.target));
  }
  return error_response(core, HttpErrorKind::kInternal, "internal error", &req);
}

task<void> run_plain_session(ServerCore& core, stream_type stream, ConnectionInfo info) {
  co_await net::this_coro::throw_if_cancelled(false);
  beast::flat_buffer buffer(connection_buffer_limit(core.options));
  co_await serve_http(stream, buffer, core, info);
  if (stream.socket().is_open()) {
    beast::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
}

namespace {

struct Listen {
  net::ip::address address;
  std::uint16_t port = 0;
};

Expected<Listen> parse_listen(std::string_view listen) {
  auto bad = [&](std::string_view why) {
    return Error{codes::kInvalidParameterValue,
                 "listen address \"" + std::string(listen) + "\": " + std::string(why)};
  };
  std::string_view host;
  std::string_view port;
  if (listen.starts_with('[')) {
    auto close = listen.find("]:");
    if (close == std::string_view::npos) {
      return bad("expected [ipv6]:port");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return bad("expected host:port");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("an IPv6 address needs brackets: [::1]:8080");
    }
  }
  Listen out;
  auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (port.empty() || perr != std::errc() || end != port.data() + port.size()) {
    return bad("port must be a number from 0 to 65535");
  }
  if (host == "localhost") {
    // Resolving would give several addresses; the loopback one is what is meant.
    host = "127.0.0.1";
  }
  beast::error_code ec;
  out.address = net::ip::make_address(host, ec);
  if (ec) {
    return bad("host must be an IP address or localhost");
  }
  return out;
}

// Connections are counted per source: an IPv4 address, or the /64 of an IPv6 address (what one
// host or site usually holds). IPv4-mapped IPv6 addresses count as their IPv4 address.
std::string source_key(const net::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.to_string();
}

std::size_t thread_count(std::size_t wanted) {
  if (wanted != 0) {
    return wanted;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace
}  // namespace detail

using namespace detail;  // NOLINT(google-build-using-namespace): this file is the detail

struct HttpServer::Impl {
  // One connection (or the listener): its cancellation signal, emitted on its own strand, and
  // what the limits of connections look at.
  struct Session final : ConnectionState {
    Session(Impl* owner, strand_type s, std::string source_key)
        : impl(owner), strand(std::move(s)), source(std::move(source_key)) {}
    void set_waiting(bool w) override { waiting.store(w, std::memory_order_relaxed); }
    void trust() override { impl->trust(*this); }

    Impl* impl;
    strand_type strand;
    net::cancellation_signal signal;
    const std::string source;
    std::atomic<bool> waiting{true};
    bool trusted = false;  // guarded by Impl::mutex
    bool evicted = false;  // guarded by Impl::mutex
  };

  Impl(HttpServerOptions options, HttpHandler handler, std::shared_ptr<WebSocketHandler> ws,
       std::shared_ptr<const HttpErrorWriter> errors)
      : listener_strand(net::make_strand(ioc)) {
    core.options = std::move(options);
    core.handler = std::move(handler);
    core.ws_handler = std::move(ws);
    core.errors = errors ? std::move(errors) : std::make_shared<PlainTextErrors>();
  }
  ~Impl() {
    stop();
    std::lock_guard lock(mutex);
    if (sessions.empty() && !listener_running) {
      // A signal keeps its last slot handler, which holds a strand: it must go before the
      // io_context does.
      listener.reset();
      return;
    }
    // stop() gave up on some sessions. The io_context destroys their frames, which still use
    // these signals, yet the signals' handlers hold strands that must not outlive it: leak
    // them rather than crash on the way out.
    static_cast<void>(new std::list<std::shared_ptr<Session>>(std::move(sessions)));
    static_cast<void>(new std::shared_ptr<Session>(std::move(listener)));
  }

  task<void> accept_loop(acceptor_type acceptor);
  void spawn_session(const strand_type& strand, stream_type stream, ConnectionInfo info,
                     std::string source);
  bool make_room();          // with mutex held
  void refused(bool whole);  // with mutex held
  void trust(Session& session);
  void forget_untrusted(const std::string& source);  // with mutex held
  void stop();

  // Declared before ioc: coroutine frames that stop() had to abandon are destroyed with the
  // io_context and may still refer to these.
  ServerCore core;
  std::shared_ptr<net::ssl::context> tls_context;
  std::mutex mutex;
  std::condition_variable sessions_done;
  std::list<std::shared_ptr<Session>> sessions;  // guarded by mutex, oldest first
  // Sessions not trusted yet, by source. Guarded by mutex.
  std::unordered_map<std::string, std::size_t> untrusted_by_source;
  // Connections refused or closed for room since the last warning (one line per 10 s at most,
  // so that a flood of connections does not become a flood of log lines). Guarded by mutex.
  std::size_t refused_full = 0;
  std::size_t refused_source = 0;
  std::size_t evicted_count = 0;
  std::chrono::steady_clock::time_point last_refusal_warning;
  std::shared_ptr<Session> listener;
  bool listener_running = false;  // guarded by mutex
  bool stopping = false;          // guarded by mutex
  std::uint16_t port = 0;

  net::io_context ioc;
  strand_type listener_strand;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

task<void> HttpServer::Impl::accept_loop(acceptor_type acceptor) {
  co_await net::this_coro::throw_if_cancelled(false);
  auto cs = co_await net::this_coro::cancellation_state;
  while (!cancelled(cs)) {
    strand_type strand = net::make_strand(ioc);
    stream_type::socket_type socket(strand);
    auto [ec] = co_await acceptor.async_accept(socket);
    if (cancelled(cs) || ec == net::error::operation_aborted) {
      break;
    }
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning on the error.
      spdlog::warn("http: accept: {}", ec.message());
      timer_type pause(listener_strand, std::chrono::milliseconds(100));
      co_await pause.async_wait();
      continue;
    }
    beast::error_code ep_ec;
    auto remote = socket.remote_endpoint(ep_ec);
    if (ep_ec) {
      continue;  // already gone (reset before it was accepted); the socket closes
    }
    ConnectionInfo info{remote.address().to_string(), tls_context != nullptr};
    spawn_session(strand, stream_type(std::move(socket)), std::move(info),
                  source_key(remote.address()));
  }
  spdlog::debug("http: listener on port {} stopped", port);
}

// Closes the oldest session that waits for a request and has not proved who it is, so that a
// new connection fits. False when every session is busy or trusted.
bool HttpServer::Impl::make_room() {
  for (const auto& s : sessions) {
    if (!s->trusted && !s->evicted && s->waiting.load(std::memory_order_relaxed)) {
      s->evicted = true;
      ++evicted_count;
      net::post(s->strand, [s] { s->signal.emit(net::cancellation_type::terminal); });
      return true;
    }
  }
  return false;
}

void HttpServer::Impl::refused(bool whole) {
  ++(whole ? refused_full : refused_source);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_warning < std::chrono::seconds(10)) {
    return;
  }
  last_refusal_warning = now;
  spdlog::warn(
      "http: connections refused in the last 10 s: {} with the server full ({} open, "
      "max_connections {}), {} over max_connections_per_source ({}); {} idle ones closed "
      "for room",
      refused_full, sessions.size(), core.options.max_connections, refused_source,
      core.options.max_connections_per_source, evicted_count);
  refused_full = refused_source = evicted_count = 0;
}

void HttpServer::Impl::trust(Session& session) {
  std::lock_guard lock(mutex);
  if (session.trusted) {
    return;
  }
  session.trusted = true;
  forget_untrusted(session.source);
}

void HttpServer::Impl::forget_untrusted(const std::string& source) {
  if (auto it = untrusted_by_source.find(source);
      it != untrusted_by_source.end() && --it->second == 0) {
    untrusted_by_source.erase(it);
  }
}

void HttpServer::Impl::spawn_session(const strand_type& strand, stream_type stream,
                                     ConnectionInfo info, std::string source) {
  std::list<std::shared_ptr<Session>>::iterator it;
  {
    std::lock_guard lock(mutex);
    if (stopping) {
      return;
    }
    auto& from_source = untrusted_by_source[source];
    if (from_source >= core.options.max_connections_per_source) {
      refused(false);
      return;  // the stream's destructor closes the socket
    }
    // An evicted session stays in the list until its coroutine ends: the count may pass the
    // limit by the few being closed.
    if (sessions.size() >= core.options.max_connections && !make_room()) {
      if (from_source == 0) {
        untrusted_by_source.erase(source);
      }
      refused(true);
      return;
    }
    ++from_source;
    it = sessions.insert(sessions.end(), std::make_shared<Session>(this, strand, source));
  }
  auto session = *it;
  info.state = session.get();
  spdlog::debug("http: connection from {}", info.remote_address);
  auto done = [this, it](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: session failed: {}", ex.what());
      } catch (...) {
        spdlog::error("http: session failed");
      }
    }
    std::lock_guard lock(mutex);
    if (!(*it)->trusted) {
      forget_untrusted((*it)->source);
    }
    sessions.erase(it);
    sessions_done.notify_all();
  };
  if (tls_context) {
    net::co_spawn(strand, run_tls_session(core, *tls_context, std::move(stream), std::move(info)),
                  net::bind_cancellation_slot(session->signal.slot(), std::move(done)));
  } else {
    net::co_spawn(strand, run_plain_session(core, std::move(stream), std::move(info)),
                  net::bind_cancellation_slot(session->signal.slot(), std::move(done)));
  }
}

void HttpServer::Impl::stop() {
  {
    std::lock_guard lock(mutex);
    if (stopping) {
      return;
    }
    stopping = true;
    core.stopping = true;
    // A signal is not thread-safe: emit each on the strand its coroutine runs on. Terminal
    // cancellation aborts the pending read or write; the sessions still run their cleanup
    // (WebSocket on_close) before they finish.
    auto emit = [](const std::shared_ptr<Session>& s) {
      if (s) {
        net::post(s->strand, [s] { s->signal.emit(net::cancellation_type::terminal); });
      }
    };
    emit(listener);
    for (const auto& s : sessions) {
      emit(s);
    }
  }
  {
    std::unique_lock lock(mutex);
    bool drained = sessions_done.wait_for(lock, core.options.stop_timeout,
                                          [this] { return sessions.empty() && !listener_running; });
    if (!drained) {
      spdlog::warn("http: {} sessions did not end within {} ms, abandoning them", sessions.size(),
                   core.options.stop_timeout.count());
    }
  }
  work.reset();
  ioc.stop();
  for (auto& t : threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

Expected<std::unique_ptr<HttpServer>> HttpServer::start(
    HttpServerOptions options, HttpHandler handler, std::shared_ptr<WebSocketHandler> ws,
    std::shared_ptr<const HttpErrorWriter> errors) {
  auto listen = parse_listen(options.listen);
  if (!listen) {
    return listen.error();
  }
  if (!handler) {
    return Error{codes::kInvalidParameterValue, "no HTTP handler"};
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Error{codes::kInvalidParameterValue, "TLS needs both a certificate file and a key file"};
  }
  std::shared_ptr<net::ssl::context> tls_context;
  if (!options.tls_cert_file.empty()) {
    auto ctx = make_tls_context(options.tls_cert_file, options.tls_key_file);
    if (!ctx) {
      return ctx.error();
    }
    tls_context = std::move(*ctx);
  } else if (!listen->address.is_loopback() && !options.allow_plain_http) {
    return Error{codes::kInvalidParameterValue,
                 "refusing plain HTTP on non-loopback address " + options.listen +
                     ": configure a TLS certificate and key, or allow plain HTTP explicitly"};
  }

  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), std::move(ws),
                                     std::move(errors));
  impl->tls_context = std::move(tls_context);

  const net::ip::tcp::endpoint endpoint(listen->address, listen->port);
  acceptor_type acceptor(impl->listener_strand);
  beast::error_code ec;
  auto fail = [&](std::string_view what) {
    return Error{codes::kInternalError,
                 std::string(what) + " " + impl->core.options.listen + ": " + ec.message()};
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return fail("opening socket for");
  }
  // Lets a restarted server bind while old connections sit in TIME_WAIT.
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return fail("setting SO_REUSEADDR on");
  }
  if (acceptor.bind(endpoint, ec); ec) {
    return fail("binding");
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return fail("listening on");
  }
  impl->port = acceptor.local_endpoint(ec).port();

  Impl* raw = impl.get();
  raw->listener = std::make_shared<Impl::Session>(raw, raw->listener_strand, std::string());
  raw->listener_running = true;
  net::co_spawn(
      raw->listener_strand, raw->accept_loop(std::move(acceptor)),
      net::bind_cancellation_slot(raw->listener->signal.slot(), [raw](const std::exception_ptr& e) {
        if (e) {
          spdlog::error("http: listener failed");
        }
        std::lock_guard lock(raw->mutex);
        raw->listener_running = false;
        raw->sessions_done.notify_all();
      }));

  raw->work.emplace(raw->ioc.get_executor());
  const std::size_t n = thread_count(raw->core.options.io_threads);
  for (std::size_t i = 0; i < n; ++i) {
    raw->threads.emplace_back([raw] {
      for (;;) {
        try {
          raw->ioc.run();
          return;
        } catch (const std::exception& e) {
          // Handlers catch their own errors; this is a last resort that keeps the thread.
          spdlog::error("http: io thread: {}", e.what());
        }
      }
    });
  }
  spdlog::info("http: listening on {} port {} ({})", raw->core.options.listen, raw->port,
               raw->tls_context ? "https" : "http");
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
std::uint16_t HttpServer::port() const {
  return impl_->port;
}
bool HttpServer::tls() const {
  return impl_->tls_context != nullptr;
}
std::size_t HttpServer::connection_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->sessions.size();
}
void HttpServer::stop() {
  impl_->stop();
}

}  // namespace ferry::server
