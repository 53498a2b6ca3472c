// HTTPS and WebSocket behaviour of HttpServer. Every Beast client of the tests lives in this one
// file: it is the slow one to compile.
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "ferry/server/http_server.hpp"
#include "process.hpp"
#include "test_process.hpp"

namespace ferry::server {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto tok = net::as_tuple(net::use_awaitable);
// Catch's macros repeat their expression in a never-taken branch, and GCC 12 runs a co_await
// placed there anyway: results are awaited into variables first, then checked.

// Runs one client coroutine on this thread, bounded in time.
template <typename MakeCoroutine>
void run_client(MakeCoroutine&& make, std::chrono::seconds limit = 15s) {
  net::io_context ioc;
  bool done = false;
  std::exception_ptr error;
  net::co_spawn(ioc, make(), [&](std::exception_ptr e) {
    done = true;
    error = std::move(e);
  });
  ioc.run_for(limit);
  REQUIRE(done);
  if (error) {
    std::rethrow_exception(error);
  }
}

net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(tok);
}

tcp::endpoint loopback(std::uint16_t port) {
  return {net::ip::address_v4::loopback(), port};
}

// A self-signed certificate for CN=localhost, made once per test run.
struct TestCert {
  std::filesystem::path dir;
  std::filesystem::path cert;
  std::filesystem::path key;

  TestCert() {
    dir =
        std::filesystem::temp_directory_path() / ("ferry-http-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    const auto made = ferry::test::run_process(
        {.argv = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                  "-addext", "subjectAltName=DNS:localhost", "-keyout", key.string(), "-out",
                  cert.string()}});
    if (made.exit_code != 0) {
      throw std::runtime_error("openssl req failed");
    }
  }
  ~TestCert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const TestCert& test_cert() {
  static const TestCert cert;
  return cert;
}

HttpServerOptions base_options() {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 2;
  return o;
}

HttpResponse echo(const HttpRequest& req) {
  HttpResponse r;
  r.content_type = "text/plain";
  r.body = req.method + " " + req.target + (req.tls ? " tls" : " plain");
  if (req.target == "/nope") {
    r.status = 404;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// HTTPS

ssl::context client_tls(bool verify) {
  ssl::context ctx(ssl::context::tls_client);
  if (verify) {
    ctx.load_verify_file(test_cert().cert.string());
    ctx.set_verify_mode(ssl::verify_peer);
  } else {
    ctx.set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

TEST_CASE("HTTPS with a self-signed certificate", "[server][http][tls]") {
  auto o = base_options();
  o.tls_cert_file = test_cert().cert.string();
  o.tls_key_file = test_cert().key.string();
  o.header_timeout = 2s;
  auto s = HttpServer::start(o, echo);
  REQUIRE(s);
  CHECK((*s)->tls());
  const std::uint16_t port = (*s)->port();

  SECTION("two requests on one verified connection") {
    run_client([&]() -> net::awaitable<void> {
      auto ctx = client_tls(true);
      ssl::stream<beast::tcp_stream> stream(co_await net::this_coro::executor, ctx);
      stream.set_verify_callback(ssl::host_name_verification("localhost"));
      auto [cec] = co_await beast::get_lowest_layer(stream).async_connect(loopback(port), tok);
      REQUIRE_FALSE(cec);
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, tok);
      REQUIRE_FALSE(hec);
      int version = SSL_version(stream.native_handle());
      CHECK(version >= TLS1_2_VERSION);
      beast::flat_buffer buffer;
      for (std::string target : {"/one", "/two"}) {
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "localhost");
        auto [wec, wn] = co_await http::async_write(stream, req, tok);
        REQUIRE_FALSE(wec);
        http::response<http::string_body> res;
        auto [rec, rn] = co_await http::async_read(stream, buffer, res, tok);
        REQUIRE_FALSE(rec);
        CHECK(res.result_int() == 200);
        CHECK(res.body() == "GET " + target + " tls");
        CHECK(res[http::field::content_type] == "text/plain");
      }
      auto [sec] = co_await stream.async_shutdown(tok);
      (void)sec;
    });
  }

  SECTION("TLS 1.1 is refused") {
    run_client([&]() -> net::awaitable<void> {
      auto ctx = client_tls(false);
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
      SSL_CTX_set_security_level(ctx.native_handle(), 0);
      ssl::stream<beast::tcp_stream> stream(co_await net::this_coro::executor, ctx);
      auto [cec] = co_await beast::get_lowest_layer(stream).async_connect(loopback(port), tok);
      REQUIRE_FALSE(cec);
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, tok);
      CHECK(hec);
    });
  }

  SECTION("plain HTTP on the TLS port gets no answer") {
    run_client([&]() -> net::awaitable<void> {
      beast::tcp_stream stream(co_await net::this_coro::executor);
      auto [cec] = co_await stream.async_connect(loopback(port), tok);
      REQUIRE_FALSE(cec);
      std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
      auto [wec, wn] = co_await net::async_write(stream, net::buffer(req), tok);
      REQUIRE_FALSE(wec);
      stream.expires_after(5s);
      std::string got;
      auto [rec, rn] = co_await net::async_read(stream, net::dynamic_buffer(got), tok);
      CHECK(rec);
      CHECK(rec != beast::error::timeout);
      CHECK(got.find("HTTP/1.1") == std::string::npos);
    });
  }
}

TEST_CASE("TLS configuration errors fail start()", "[server][http][tls]") {
  auto o = base_options();
  o.tls_cert_file = test_cert().cert.string();
  auto only_cert = HttpServer::start(o, echo);
  REQUIRE_FALSE(only_cert);

  o.tls_key_file = (test_cert().dir / "missing.pem").string();
  auto missing = HttpServer::start(o, echo);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing.pem") != std::string::npos);

  // With TLS a non-loopback address needs no further permission.
  o.tls_key_file = test_cert().key.string();
  o.listen = "0.0.0.0:0";
  CHECK(HttpServer::start(o, echo));
}

// ---------------------------------------------------------------------------------------------
// WebSocket

struct WsRecorder : WebSocketHandler {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<HttpRequest> opens;
  std::vector<std::string> messages;
  int closes = 0;
  std::shared_ptr<WebSocketConnection> last;
  // Catch2 assertions are not thread-safe, so callbacks on io threads record and tests check.
  bool welcome_refused = false;
  bool send_after_close_accepted = false;

  std::optional<HttpResponse> on_open(const HttpRequest& req,
                                      const std::shared_ptr<WebSocketConnection>& conn) override {
    if (req.header("authorization") != "Bearer good") {
      HttpResponse r;
      r.status = 401;
      r.body = R"({"Response":{"Error":{"Code":"AuthFailure"}}})";
      return r;
    }
    conn->set_id("agent-" + req.header("x-agent"));
    // Sent before the handshake completes: delivered after it.
    bool queued = conn->send("welcome");
    std::lock_guard lock(mutex);
    welcome_refused = welcome_refused || !queued;
    opens.push_back(req);
    last = conn;
    cv.notify_all();
    return std::nullopt;
  }
  void on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) override {
    if (text == "close-me") {
      conn->send("bye");
      conn->close();
      return;
    }
    if (text == "throw") {
      throw std::runtime_error("handler bug");
    }
    conn->send(conn->id() + " echo:" + text);
    std::lock_guard lock(mutex);
    messages.push_back(std::move(text));
  }
  void on_close(const std::shared_ptr<WebSocketConnection>& conn) override {
    bool accepted = conn->send("too late");
    std::lock_guard lock(mutex);
    send_after_close_accepted = send_after_close_accepted || accepted;
    ++closes;
    cv.notify_all();
  }

  int close_count() {
    std::lock_guard lock(mutex);
    return closes;
  }
  std::shared_ptr<WebSocketConnection> connection() {
    std::lock_guard lock(mutex);
    return last;
  }
};

// Waits on the client's io_context (not blocking it) until `pred` holds or `limit` passes.
template <typename Pred>
net::awaitable<bool> eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) {
      co_return false;
    }
    co_await sleep_for(20ms);
  }
  co_return true;
}

using Ws = websocket::stream<beast::tcp_stream>;

net::awaitable<beast::error_code> ws_connect(Ws& ws, std::uint16_t port, std::string auth,
                                             websocket::response_type& res,
                                             std::string path = "/ws") {
  auto [cec] = co_await beast::get_lowest_layer(ws).async_connect(loopback(port), tok);
  if (cec) {
    co_return cec;
  }
  ws.set_option(websocket::stream_base::decorator([auth](websocket::request_type& req) {
    if (!auth.empty()) {
      req.set(http::field::authorization, auth);
    }
    req.set("X-Agent", "a1");
  }));
  auto [hec] = co_await ws.async_handshake(res, "localhost", path, tok);
  co_return hec;
}

template <typename Stream>
net::awaitable<std::string> ws_read(Stream& ws) {
  beast::flat_buffer buffer;
  auto [ec, n] = co_await ws.async_read(buffer, tok);
  if (ec) {
    co_return "error: " + ec.message();
  }
  co_return beast::buffers_to_string(buffer.data());
}

// Connects as the accepted client and reads the handler's greeting; true when both worked.
net::awaitable<bool> ws_open_greeted(Ws& ws, std::uint16_t port) {
  websocket::response_type res;
  if (auto ec = co_await ws_connect(ws, port, "Bearer good", res); ec) {
    co_return false;
  }
  co_return co_await ws_read(ws) == "welcome";
}

template <typename Stream>
net::awaitable<void> ws_write(Stream& ws, std::string text) {
  auto [ec, n] = co_await ws.async_write(net::buffer(text), tok);
  REQUIRE_FALSE(ec);
}

struct WsFixture {
  std::shared_ptr<WsRecorder> handler = std::make_shared<WsRecorder>();
  std::unique_ptr<HttpServer> server;

  explicit WsFixture(HttpServerOptions o = base_options()) {
    auto s = HttpServer::start(std::move(o), echo, handler);
    if (!s) {
      FAIL(s.error().message);
    }
    server = std::move(*s);
  }
  ~WsFixture() {
    server->stop();
    std::lock_guard lock(handler->mutex);
    CHECK_FALSE(handler->welcome_refused);
    CHECK_FALSE(handler->send_after_close_accepted);
  }
};

TEST_CASE("WebSocket: open, messages both ways, close", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    websocket::response_type res;
    auto r1 = co_await ws_connect(ws, f.server->port(), "Bearer good", res);
    REQUIRE_FALSE(r1);
    CHECK(res.result_int() == 101);
    {
      std::lock_guard lock(f.handler->mutex);
      REQUIRE(f.handler->opens.size() == 1);
      const auto& req = f.handler->opens[0];
      CHECK(req.method == "GET");
      CHECK(req.target == "/ws");
      CHECK(req.header("upgrade") == "websocket");
      CHECK(req.header("x-agent") == "a1");
      CHECK_FALSE(req.header("sec-websocket-key").empty());
      CHECK(req.remote_address == "127.0.0.1");
    }
    CHECK(f.handler->connection()->id() == "agent-a1");
    CHECK(f.handler->connection()->remote_address() == "127.0.0.1");
    auto r2 = co_await ws_read(ws);
    CHECK(r2 == "welcome");
    co_await ws_write(ws, "hi");
    auto r3 = co_await ws_read(ws);
    CHECK(r3 == "agent-a1 echo:hi");
    co_await ws_write(ws, "again");
    auto r4 = co_await ws_read(ws);
    CHECK(r4 == "agent-a1 echo:again");

    auto [ec] = co_await ws.async_close(websocket::close_code::normal, tok);
    CHECK_FALSE(ec);
    auto r5 = co_await eventually([&] { return f.handler->close_count() == 1; });
    CHECK(r5);
  });
  std::lock_guard lock(f.handler->mutex);
  CHECK(f.handler->messages == std::vector<std::string>{"hi", "again"});
}

TEST_CASE("WebSocket: on_open can refuse the upgrade", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    websocket::response_type res;
    auto ec = co_await ws_connect(ws, f.server->port(), "Bearer bad", res);
    CHECK(ec == websocket::error::upgrade_declined);
    CHECK(res.result_int() == 401);
    CHECK(res.body().find("AuthFailure") != std::string::npos);
    co_await sleep_for(100ms);
  });
  CHECK(f.handler->close_count() == 0);
}

TEST_CASE("WebSocket: an accepted one leaves its source's count and is never closed for room",
          "[server][ws]") {
  auto o = base_options();
  o.max_connections_per_source = 1;
  o.max_connections = 2;
  WsFixture f(o);
  run_client([&]() -> net::awaitable<void> {
    // co_await stays out of Catch's macros (its assertion handler spans the suspension).
    Ws first(co_await net::this_coro::executor);
    const bool first_open = co_await ws_open_greeted(first, f.server->port());
    REQUIRE(first_open);
    // Counted against the source until accepted, then not: a second one from the same source.
    Ws second(co_await net::this_coro::executor);
    const bool second_open = co_await ws_open_greeted(second, f.server->port());
    REQUIRE(second_open);
    // Full, and both proved who they are: a third is closed at once, the two stay.
    Ws third(co_await net::this_coro::executor);
    websocket::response_type res;
    const auto third_ec = co_await ws_connect(third, f.server->port(), "Bearer good", res);
    CHECK(third_ec);
    co_await ws_write(first, "still");
    const auto first_echo = co_await ws_read(first);
    CHECK(first_echo == "agent-a1 echo:still");
    co_await ws_write(second, "here");
    const auto second_echo = co_await ws_read(second);
    CHECK(second_echo == "agent-a1 echo:here");
  });
}

TEST_CASE("WebSocket: an upgrade on another path reaches the HTTP handler", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    websocket::response_type res;
    auto ec = co_await ws_connect(ws, f.server->port(), "Bearer good", res, "/nope");
    CHECK(ec == websocket::error::upgrade_declined);
    CHECK(res.result_int() == 404);
  });
  CHECK(f.handler->connection() == nullptr);
}

TEST_CASE("WebSocket: send() from another thread", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    const bool greeted = co_await ws_open_greeted(ws, f.server->port());
    REQUIRE(greeted);
    auto conn = f.handler->connection();
    std::thread pusher([conn] {
      for (int i = 0; i < 100; ++i) {
        conn->send("push " + std::to_string(i));
      }
    });
    for (int i = 0; i < 100; ++i) {
      auto got = co_await ws_read(ws);
      if (got != "push " + std::to_string(i)) {
        CHECK(got == "push " + std::to_string(i));
        break;
      }
    }
    pusher.join();
  });
}

TEST_CASE("WebSocket: the server closes on request and on a throwing handler", "[server][ws]") {
  WsFixture f;
  for (std::string trigger : {"close-me", "throw"}) {
    run_client([&]() -> net::awaitable<void> {
      Ws ws(co_await net::this_coro::executor);
      const bool greeted = co_await ws_open_greeted(ws, f.server->port());
      REQUIRE(greeted);
      co_await ws_write(ws, trigger);
      if (trigger == "close-me") {
        auto bye = co_await ws_read(ws);
        CHECK(bye == "bye");
      }
      beast::flat_buffer buffer;
      auto [ec, n] = co_await ws.async_read(buffer, tok);
      CHECK(ec == websocket::error::closed);
      CHECK(ws.reason().code == (trigger == "throw" ? websocket::close_code::internal_error
                                                    : websocket::close_code::normal));
    });
  }
  run_client([&]() -> net::awaitable<void> {
    auto r10 = co_await eventually([&] { return f.handler->close_count() == 2; });
    CHECK(r10);
  });
  CHECK_FALSE(f.handler->connection()->send("after close"));
}

TEST_CASE("WebSocket: a client that disconnects abruptly is reported closed", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    const bool greeted = co_await ws_open_greeted(ws, f.server->port());
    REQUIRE(greeted);
    beast::get_lowest_layer(ws).socket().close();
    auto r13 = co_await eventually([&] { return f.handler->close_count() == 1; }, 3000ms);
    CHECK(r13);
  });
}

TEST_CASE("WebSocket: pings keep an idle peer, a silent peer is dropped", "[server][ws]") {
  auto o = base_options();
  o.ws_idle_timeout = 2s;
  WsFixture f(o);
  SECTION("a peer that answers pings stays connected past the idle timeout") {
    run_client([&]() -> net::awaitable<void> {
      Ws ws(co_await net::this_coro::executor);
      websocket::response_type res;
      auto r14 = co_await ws_connect(ws, f.server->port(), "Bearer good", res);
      REQUIRE_FALSE(r14);
      int pings = 0;
      ws.control_callback([&](websocket::frame_type kind, std::string_view) {
        if (kind == websocket::frame_type::ping) {
          ++pings;
        }
      });
      auto r15 = co_await ws_read(ws);
      CHECK(r15 == "welcome");
      auto conn = f.handler->connection();
      // A pending read answers pings; the message arrives well after the idle timeout.
      std::thread late([conn] {
        std::this_thread::sleep_for(3500ms);
        conn->send("late");
      });
      auto t0 = Clock::now();
      auto got = co_await ws_read(ws);
      late.join();
      CHECK(got == "late");
      CHECK(Clock::now() - t0 >= 3s);
      CHECK(pings >= 1);
      CHECK(f.handler->close_count() == 0);
    });
  }
  SECTION("a peer that never reads, so never answers, is dropped") {
    run_client([&]() -> net::awaitable<void> {
      Ws ws(co_await net::this_coro::executor);
      websocket::response_type res;
      auto r16 = co_await ws_connect(ws, f.server->port(), "Bearer good", res);
      REQUIRE_FALSE(r16);
      auto t0 = Clock::now();
      auto r17 = co_await eventually([&] { return f.handler->close_count() == 1; }, 5000ms);
      CHECK(r17);
      CHECK(Clock::now() - t0 >= 1500ms);
    });
  }
}

TEST_CASE("WebSocket: a peer that does not read cannot grow the send queue", "[server][ws]") {
  auto o = base_options();
  o.max_ws_queue_bytes = 256 * 1024;
  o.ws_idle_timeout = 2s;
  o.header_timeout = 2s;
  WsFixture f(o);
  run_client([&]() -> net::awaitable<void> {
    Ws ws(co_await net::this_coro::executor);
    const bool greeted = co_await ws_open_greeted(ws, f.server->port());
    REQUIRE(greeted);
    auto conn = f.handler->connection();
    bool refused = false;
    std::thread flood([&] {
      const std::string chunk(64 * 1024, 'x');
      auto deadline = Clock::now() + 10s;
      while (Clock::now() < deadline) {
        if (!conn->send(chunk)) {
          refused = true;
          return;
        }
      }
    });
    flood.join();
    CHECK(refused);
    auto r20 = co_await eventually([&] { return f.handler->close_count() == 1; }, 8000ms);
    CHECK(r20);
  });
}

TEST_CASE("WebSocket over TLS", "[server][ws][tls]") {
  auto o = base_options();
  o.tls_cert_file = test_cert().cert.string();
  o.tls_key_file = test_cert().key.string();
  WsFixture f(o);
  run_client([&]() -> net::awaitable<void> {
    auto ctx = client_tls(true);
    websocket::stream<ssl::stream<beast::tcp_stream>> ws(co_await net::this_coro::executor, ctx);
    auto [cec] =
        co_await beast::get_lowest_layer(ws).async_connect(loopback(f.server->port()), tok);
    REQUIRE_FALSE(cec);
    auto [tec] = co_await ws.next_layer().async_handshake(ssl::stream_base::client, tok);
    REQUIRE_FALSE(tec);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer good");
      req.set("X-Agent", "t");
    }));
    auto [hec] = co_await ws.async_handshake("localhost", "/ws", tok);
    REQUIRE_FALSE(hec);
    auto r21 = co_await ws_read(ws);
    CHECK(r21 == "welcome");
    co_await ws_write(ws, "secure");
    auto r22 = co_await ws_read(ws);
    CHECK(r22 == "agent-t echo:secure");
    {
      std::lock_guard lock(f.handler->mutex);
      CHECK(f.handler->opens.at(0).tls);
    }
    auto [ec] = co_await ws.async_close(websocket::close_code::normal, tok);
    CHECK_FALSE(ec);
    auto r23 = co_await eventually([&] { return f.handler->close_count() == 1; });
    CHECK(r23);
  });
}

TEST_CASE("stop() with open WebSockets returns promptly and reports them closed", "[server][ws]") {
  WsFixture f;
  run_client([&]() -> net::awaitable<void> {
    Ws a(co_await net::this_coro::executor);
    Ws b(co_await net::this_coro::executor);
    websocket::response_type res;
    auto r24 = co_await ws_connect(a, f.server->port(), "Bearer good", res);
    REQUIRE_FALSE(r24);
    auto r25 = co_await ws_connect(b, f.server->port(), "Bearer good", res);
    REQUIRE_FALSE(r25);
    auto r26 = co_await ws_read(a);
    CHECK(r26 == "welcome");
    auto t0 = Clock::now();
    f.server->stop();
    // Under sanitizers, at least sooner than stop_timeout (5 s), which it must not wait for.
    CHECK(Clock::now() - t0 < ferry::test::time_bound(1500ms, 4000ms));
    CHECK(f.handler->close_count() == 2);
    auto r27 = co_await ws_read(a);
    CHECK(r27.starts_with("error"));
  });
}

}  // namespace
}  // namespace ferry::server
