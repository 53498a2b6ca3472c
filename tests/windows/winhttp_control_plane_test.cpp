// The WinHTTP ControlPlane (agent/src/net/winhttp_control_plane.cpp) against a small server in
// the test process: plain HTTP and WebSocket on 127.0.0.1 with Boost.Beast, on a thread of its
// own. What the server does is chosen by the request: the body's Action for /agent, the
// X-Ferry-Instance header for /ws. TLS is left to the integration tests (Beast's TLS needs
// OpenSSL, which mingw lacks).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/agent/control_plane.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using ferry::agent::CallResult;
using ferry::agent::ControlPlaneOptions;
using ferry::agent::PushHandlers;

constexpr auto tok = net::as_tuple(net::use_awaitable);

// What the server saw of one /agent request or /ws upgrade.
struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};

class TestServer {
 public:
  explicit TestServer(const char* address = "127.0.0.1")
      : acceptor_(io_, tcp::endpoint(net::ip::make_address(address), 0)) {
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(io_, accept_loop(), net::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  [[nodiscard]] unsigned short port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  // Whether the client's close frame of a push socket arrived.
  bool client_closed() {
    std::lock_guard lock(mutex_);
    return client_closed_;
  }

 private:
  void record(const http::request<http::string_body>& req) {
    Seen s;
    s.method = std::string(req.method_string());
    s.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      s.headers[name] = std::string(field.value());
    }
    s.body = req.body();
    std::lock_guard lock(mutex_);
    seen_.push_back(std::move(s));
  }

  net::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(tok);
      if (ec) {
        co_return;
      }
      net::co_spawn(io_, session(beast::tcp_stream(std::move(socket))), net::detached);
    }
  }

  static std::string envelope_error(const std::string& code) {
    return nlohmann::json{
        {"Response",
         {{"Error", {{"Code", code}, {"Message", "refused by the test"}}}, {"RequestId", "req-2"}}}}
        .dump();
  }

  net::awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, tok);
      if (ec) {
        co_return;
      }
      record(req);
      if (websocket::is_upgrade(req)) {
        co_await push(std::move(stream), std::move(req));
        co_return;
      }
      const auto body = nlohmann::json::parse(req.body(), nullptr, false);
      const std::string action =
          body.is_object() && body.contains("Action") ? body["Action"].get<std::string>() : "";
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      if (action == "Silent") {  // holds the connection, never answers
        net::steady_timer wait(io_, 60s);
        co_await wait.async_wait(tok);
        co_return;
      }
      if (action == "Fail") {
        res.body() = envelope_error("AuthFailure.SignatureExpire");
      } else if (action == "NotJson") {
        res.set(http::field::content_type, "text/html");
        res.body() = "<html>a proxy's page</html>";
      } else if (action == "Unavailable") {
        res.result(http::status::service_unavailable);
        res.body() = "busy";
      } else if (action == "Big") {
        res.body() = nlohmann::json{{"Response", {{"Blob", std::string(8000, 'x')}}}}.dump();
      } else {
        res.body() = nlohmann::json{{"Response", {{"Echo", body}, {"RequestId", "req-1"}}}}.dump();
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, tok);
      if (wec || !res.keep_alive()) {
        co_return;
      }
    }
  }

  // /ws: X-Ferry-Instance picks what happens.
  //   i-refused   401 with an error envelope
  //   i-messages  three messages, then a close frame from the server
  //   i-hold      one message, then waits for the client's close
  //   i-drop      one message, then the TCP connection closes without a close frame
  //   i-pinging   pings every 200 ms (Beast's keep-alive pings), no message
  //   i-large     a 40,000-byte message in 4 KiB frames, then one over the 64 KiB cap
  // "0123456789012..." of `n` bytes: a message whose pieces show where they came from.
  static std::string large_message(std::size_t n) {
    std::string m(n, '0');
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = static_cast<char>('0' + i % 10);
    }
    return m;
  }

  net::awaitable<void> push(beast::tcp_stream stream, http::request<http::string_body> req) {
    const std::string instance(req["X-Ferry-Instance"]);
    if (instance == "i-refused") {
      http::response<http::string_body> res{http::status::unauthorized, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = envelope_error("AuthFailure.InstanceNotFound");
      res.prepare_payload();
      co_await http::async_write(stream, res, tok);
      co_return;
    }
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    if (instance == "i-pinging") {
      timeouts.idle_timeout = 400ms;
      timeouts.keep_alive_pings = true;
    }
    ws.set_option(timeouts);
    auto [aec] = co_await ws.async_accept(req, tok);
    if (aec) {
      co_return;
    }
    ws.text(true);
    if (instance == "i-messages") {
      for (const char* m : {"kick 1", "kick 2", "kick 3"}) {
        co_await ws.async_write(net::buffer(std::string(m)), tok);
      }
      co_await ws.async_close(websocket::close_reason(websocket::close_code::going_away), tok);
    } else if (instance == "i-large") {
      ws.auto_fragment(true);
      ws.write_buffer_bytes(4096);
      co_await ws.async_write(net::buffer(large_message(40'000)), tok);
      co_await ws.async_write(net::buffer(large_message(70'000)), tok);
    } else if (instance == "i-hold" || instance == "i-drop") {
      co_await ws.async_write(net::buffer(std::string("kick")), tok);
    }
    if (instance == "i-drop") {
      beast::get_lowest_layer(ws).close();
      co_return;
    }
    beast::flat_buffer buffer;
    while (true) {
      auto [rec, rn] = co_await ws.async_read(buffer, tok);
      if (rec) {
        if (rec == websocket::error::closed) {
          std::lock_guard lock(mutex_);
          client_closed_ = true;
        }
        co_return;
      }
      buffer.consume(buffer.size());
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  bool client_closed_ = false;
};

// The agent's side: its loop (this thread), key and options.
struct Agent {
  net::io_context loop;
  net::executor_work_guard<net::io_context::executor_type> work{loop.get_executor()};
  std::shared_ptr<const ferry::Ed25519PrivateKey> key;

  Agent() {
    auto k = ferry::Ed25519PrivateKey::generate();
    REQUIRE(k);
    key = std::make_shared<const ferry::Ed25519PrivateKey>(std::move(*k));
  }

  ControlPlaneOptions options(unsigned short port, const std::string& host = "127.0.0.1") {
    ControlPlaneOptions o;
    auto url = ferry::agent::parse_server_url(
        "http://" + host + ":" + std::to_string(port) + "/base", true);
    REQUIRE(url);
    o.url = *url;
    o.user_agent = "ferry-agent/test";
    o.request_timeout = 5s;
    o.connect_timeout = 2s;
    return o;
  }

  std::unique_ptr<ferry::agent::ControlPlane> plane(ControlPlaneOptions o,
                                                    std::string instance = "i-1") {
    return ferry::agent::make_http_control_plane(loop, std::move(o), {std::move(instance), key});
  }

  // Runs the loop until `done` holds or `limit` passes; whether it held.
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      loop.run_one_for(20ms);
    }
    return true;
  }

  // One call, run to its end.
  CallResult call(ferry::agent::ControlPlane& cp, const std::string& action,
                  nlohmann::json fields = nlohmann::json::object()) {
    std::optional<CallResult> result;
    cp.call(action, std::move(fields), [&](CallResult r) { result = std::move(r); });
    REQUIRE(run_until([&] { return result.has_value(); }, 10s));
    return std::move(*result);
  }
};

struct PushLog {
  bool opened = false;
  std::vector<std::string> messages;
  int closed = 0;
  std::string reason;
  std::string error_code;

  PushHandlers handlers() {
    PushHandlers h;
    h.on_open = [this] { opened = true; };
    h.on_message = [this](const std::string& m) { messages.push_back(m); };
    h.on_closed = [this](const std::string& r, const std::string& code) {
      ++closed;
      reason = r;
      error_code = code;
    };
    return h;
  }
};

}  // namespace

TEST_CASE("WinHTTP control plane: a call is signed and its reply mapped", "[winhttp]") {
  TestServer server;
  Agent agent;
  auto cp = agent.plane(agent.options(server.port()));

  bool in_call = true;
  bool ran_inside = false;
  std::optional<CallResult> result;
  cp->call("DescribeTasks", {{"Limit", 5}}, [&](CallResult r) {
    ran_inside = in_call;
    result = std::move(r);
  });
  in_call = false;
  REQUIRE(agent.run_until([&] { return result.has_value(); }));
  CHECK_FALSE(ran_inside);
  INFO(result->describe());
  REQUIRE(result->ok());
  CHECK(result->http_status == 200);
  CHECK(result->response()["RequestId"] == "req-1");
  CHECK(result->response()["Echo"]["Limit"] == 5);

  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  const auto& req = seen[0];
  CHECK(req.method == "POST");
  CHECK(req.target == "/base/agent");
  CHECK(req.headers.at("content-type") == "application/json");
  CHECK(req.headers.at("user-agent") == "ferry-agent/test");
  CHECK(req.headers.at("x-ferry-protocol") == "1");
  CHECK(req.headers.at("x-ferry-instance") == "i-1");
  const auto body = nlohmann::json::parse(req.body);
  CHECK(body == nlohmann::json{{"Action", "DescribeTasks"}, {"Limit", 5}});
  // The signature verifies with the agent's public key over the body as sent.
  const std::int64_t ts = std::stoll(req.headers.at("x-ferry-timestamp"));
  CHECK(std::abs(ts - std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) < 60);
  auto signed_string = ferry::agent_signing_string("DescribeTasks", ferry::sha256_hex(req.body), ts,
                                                   req.headers.at("x-ferry-nonce"), "i-1");
  REQUIRE(signed_string);
  CHECK(ferry::ed25519_verify(agent.key->public_key_base64(), *signed_string,
                              req.headers.at("x-ferry-signature")));
  // ... and not over another body.
  auto other = ferry::agent_signing_string("DescribeTasks", ferry::sha256_hex(req.body + " "), ts,
                                           req.headers.at("x-ferry-nonce"), "i-1");
  REQUIRE(other);
  CHECK_FALSE(ferry::ed25519_verify(agent.key->public_key_base64(), *other,
                                    req.headers.at("x-ferry-signature")));

  SECTION("the clock offset moves the timestamp") {
    cp->set_clock_offset(-100'000);
    REQUIRE(agent.call(*cp, "Ping").ok());
    const auto later = server.seen();
    REQUIRE(later.size() == 2);
    CHECK(std::stoll(later[1].headers.at("x-ferry-timestamp")) < ts - 90'000);
  }
}

TEST_CASE("WinHTTP control plane: an IPv6 address", "[winhttp]") {
  TestServer server("::1");
  Agent agent;
  auto cp = agent.plane(agent.options(server.port(), "[::1]"));
  auto r = agent.call(*cp, "Ping");
  INFO(r.describe());
  CHECK(r.ok());
  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].headers.at("host") == "[::1]:" + std::to_string(server.port()));
}

TEST_CASE("WinHTTP control plane: ca_file is refused, not ignored", "[winhttp]") {
  Agent agent;
  ControlPlaneOptions o;
  auto url = ferry::agent::parse_server_url("https://localhost:1", false);
  REQUIRE(url);
  o.url = *url;
  o.ca_file = "C:\\ferry\\ca.pem";
  auto cp = agent.plane(o);
  auto r = agent.call(*cp, "Ping");
  CHECK(r.transport_error.rfind("ca_file (C:\\ferry\\ca.pem) is not supported on Windows", 0) == 0);
  PushLog log;
  cp->connect_push(log.handlers());
  REQUIRE(agent.run_until([&] { return log.closed == 1; }));
  CHECK_FALSE(log.opened);
  CHECK(log.reason == r.transport_error);
}

TEST_CASE("WinHTTP control plane: replies map as on Linux", "[winhttp]") {
  TestServer server;
  Agent agent;
  auto o = agent.options(server.port());
  o.max_reply_bytes = 4096;
  auto cp = agent.plane(o);

  auto fail = agent.call(*cp, "Fail");
  CHECK(fail.transport_error.empty());
  CHECK_FALSE(fail.ok());
  CHECK(fail.error_code() == "AuthFailure.SignatureExpire");

  auto not_json = agent.call(*cp, "NotJson");
  CHECK(not_json.transport_error == "HTTP 200 without a protocol reply");

  auto unavailable = agent.call(*cp, "Unavailable");
  CHECK(unavailable.http_status == 503);
  CHECK(unavailable.transport_error == "HTTP 503 without a protocol reply");

  auto big = agent.call(*cp, "Big");
  CHECK(big.transport_error == "reading the reply to Big: body limit exceeded");

  // The connection stays usable after all of them.
  CHECK(agent.call(*cp, "Ping").ok());
}

TEST_CASE("WinHTTP control plane: timeouts, refused connections, shutdown", "[winhttp]") {
  TestServer server;
  Agent agent;

  SECTION("a server that never answers") {
    auto o = agent.options(server.port());
    o.request_timeout = 300ms;
    auto cp = agent.plane(o);
    const auto start = std::chrono::steady_clock::now();
    auto r = agent.call(*cp, "Silent");
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    INFO(r.transport_error);
    CHECK(r.transport_error.rfind("reading the reply to Silent: timed out (error ", 0) == 0);
    CHECK_FALSE(r.ok());
  }

  SECTION("nothing listening") {
    net::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto port = closed.local_endpoint().port();
    closed.close();
    auto cp = agent.plane(agent.options(port));
    auto r = agent.call(*cp, "Ping");
    INFO(r.transport_error);
    CHECK(r.transport_error ==
          "connecting to 127.0.0.1:" + std::to_string(port) + ": could not connect (error 12029)");
  }

  SECTION("shutdown completes the calls in flight and queued at once") {
    auto cp = agent.plane(agent.options(server.port()));
    std::vector<CallResult> results;
    for (int i = 0; i < 5; ++i) {
      cp->call("Silent", nlohmann::json::object(),
               [&](CallResult r) { results.push_back(std::move(r)); });
    }
    // Both workers inside their exchange: the server has both requests.
    REQUIRE(agent.run_until([&] { return server.seen().size() == 2; }));
    cp->shutdown();
    CHECK(results.empty());  // never inside shutdown() either
    REQUIRE(agent.run_until([&] { return results.size() == 5; }, 2s));
    for (const auto& r : results) {
      CHECK(r.transport_error == "the agent is shutting down");
    }
    bool after = false;
    cp->call("Ping", nlohmann::json::object(),
             [&](CallResult r) { after = r.transport_error == "the agent is shutting down"; });
    REQUIRE(agent.run_until([&] { return after; }, 2s));
    CHECK(server.seen().size() == 2);  // at most two at a time, and nothing after
  }
}

TEST_CASE("WinHTTP control plane: the push socket", "[winhttp]") {
  TestServer server;
  Agent agent;
  PushLog log;

  SECTION("messages, then the server closes") {
    auto cp = agent.plane(agent.options(server.port()), "i-messages");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.closed > 0; }));
    CHECK(log.opened);
    CHECK(log.messages == std::vector<std::string>{"kick 1", "kick 2", "kick 3"});
    CHECK(log.reason == "closed by the server");
    CHECK(log.error_code.empty());
    const auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/base/ws");
    auto signed_string = ferry::agent_signing_string(
        "Connect", ferry::sha256_hex(""), std::stoll(seen[0].headers.at("x-ferry-timestamp")),
        seen[0].headers.at("x-ferry-nonce"), "i-messages");
    REQUIRE(signed_string);
    CHECK(ferry::ed25519_verify(agent.key->public_key_base64(), *signed_string,
                                seen[0].headers.at("x-ferry-signature")));
    // on_closed once; a new socket may follow.
    agent.loop.run_for(100ms);
    CHECK(log.closed == 1);
    PushLog again;
    cp->connect_push(again.handlers());
    REQUIRE(agent.run_until([&] { return again.closed > 0; }));
    CHECK(again.messages.size() == 3);
  }

  SECTION("a refused upgrade gives its error code") {
    auto cp = agent.plane(agent.options(server.port()), "i-refused");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.closed > 0; }));
    CHECK_FALSE(log.opened);
    CHECK(log.error_code == "AuthFailure.InstanceNotFound");
    INFO(log.reason);
    CHECK(log.reason.find("HTTP 401") != std::string::npos);
  }

  SECTION("close_push closes the socket, on_closed once") {
    auto cp = agent.plane(agent.options(server.port()), "i-hold");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.messages.size() == 1; }));
    CHECK(log.opened);
    PushLog second;
    cp->connect_push(second.handlers());  // one at a time
    REQUIRE(agent.run_until([&] { return second.closed == 1; }));
    CHECK_FALSE(second.opened);
    cp->close_push();
    CHECK(log.closed == 0);  // posted, not called inside
    REQUIRE(agent.run_until([&] { return log.closed == 1; }));
    CHECK(log.reason == "closed by the agent");
    REQUIRE(agent.run_until([&] { return server.client_closed(); }, 3s));
    agent.loop.run_for(100ms);
    CHECK(log.closed == 1);
  }

  SECTION("a message in frames is joined; one over 64 KiB ends the socket") {
    auto cp = agent.plane(agent.options(server.port()), "i-large");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.closed > 0; }));
    REQUIRE(log.messages.size() == 1);
    CHECK(log.messages[0].size() == 40'000);
    CHECK(log.messages[0].substr(39'990) == "0123456789");
    CHECK(log.reason == "push socket: a message over 64 KiB");
  }

  SECTION("close_push before the upgrade is answered") {
    auto cp = agent.plane(agent.options(server.port()), "i-hold");
    cp->connect_push(log.handlers());
    cp->close_push();
    REQUIRE(agent.run_until([&] { return log.closed == 1; }));
    CHECK(log.reason == "closed by the agent");
    agent.loop.run_for(300ms);  // the upgrade may still be answered: nothing more comes
    CHECK(log.closed == 1);
    CHECK_FALSE(log.opened);
    CHECK(log.messages.empty());
  }

  SECTION("a connection dropped without a close frame") {
    auto cp = agent.plane(agent.options(server.port()), "i-drop");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.closed > 0; }));
    CHECK(log.opened);
    CHECK(log.messages == std::vector<std::string>{"kick"});
    INFO(log.reason);
    CHECK(log.reason.rfind("push socket: ", 0) == 0);
    CHECK(log.error_code.empty());
  }

  SECTION("pings keep a socket without messages open") {
    auto o = agent.options(server.port());
    o.push_idle_timeout = 1s;
    auto cp = agent.plane(o, "i-pinging");
    cp->connect_push(log.handlers());
    REQUIRE(agent.run_until([&] { return log.opened; }));
    agent.loop.run_for(2500ms);
    CHECK(log.closed == 0);
    cp->shutdown();
    REQUIRE(agent.run_until([&] { return log.closed == 1; }));
    CHECK(log.reason == "closed by the agent");
  }
}
