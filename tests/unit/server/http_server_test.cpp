// Plain-HTTP behaviour of HttpServer, driven over raw sockets so that a test can send exactly
// the bytes it needs (half a header, pipelined requests, oversized fields). The errors the
// transport answers itself go through an HttpErrorWriter; the one here shows what it was asked.
#include "ferry/server/http_server.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raw_http_client.hpp"
#include "test_process.hpp"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ferry::test::RawClient;
using ferry::test::RawResponse;

// Records the requests it sees and answers by target.
struct Recorder {
  std::mutex mutex;
  std::vector<HttpRequest> requests;

  HttpHandler handler() {
    return [this](const HttpRequest& req) {
      {
        std::lock_guard lock(mutex);
        requests.push_back(req);
      }
      if (req.target == "/throw") {
        throw std::runtime_error("boom with a secret");
      }
      HttpResponse res;
      res.trusted_peer = req.target == "/trusted";  // as a signed agent request
      res.body = R"({"echo":")" + req.method + " " + req.target + R"("})";
      res.headers.emplace_back("X-Body-Size", std::to_string(req.body.size()));
      return res;
    };
  }
  HttpRequest last() {
    std::lock_guard lock(mutex);
    REQUIRE(!requests.empty());
    return requests.back();
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return requests.size();
  }
};

// Answers an error with what the transport asked for, so that a test sees the kind, the
// message and the head of the request it was refused in.
class EchoErrors final : public HttpErrorWriter {
 public:
  [[nodiscard]] HttpResponse error_response(const HttpError& error,
                                            const HttpRequest* head) const override {
    static constexpr const char* kKinds[] = {"BodyTooLarge", "HeaderTooLarge", "Malformed",
                                             "Internal", "NotFound"};
    HttpResponse r;
    r.status = http_status(error.kind);
    nlohmann::json j{{"Kind", kKinds[static_cast<int>(error.kind)]}, {"Message", error.message}};
    if (head != nullptr) {
      j["Target"] = head->target;
      j["Host"] = head->header("host");
    }
    r.body = j.dump();
    return r;
  }
};

HttpServerOptions test_options() {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 2;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 4096;
  return o;
}

std::unique_ptr<HttpServer> start(
    Recorder& rec, HttpServerOptions o = test_options(),
    std::shared_ptr<const HttpErrorWriter> errors = std::make_shared<EchoErrors>()) {
  auto s = HttpServer::start(std::move(o), rec.handler(), nullptr, std::move(errors));
  if (!s) {
    FAIL(s.error().message);
  }
  return std::move(*s);
}

// What EchoErrors was asked for.
nlohmann::json error_of(const RawResponse& r) {
  return nlohmann::json::parse(r.body);
}

// A server with the test options and a Recorder behind it.
struct Served {
  Recorder rec;
  std::unique_ptr<HttpServer> server = start(rec);
};

TEST_CASE_METHOD(Served, "GET and POST reach the handler with headers and body", "[server][http]") {
  REQUIRE(server->port() != 0);
  CHECK_FALSE(server->tls());
  RawClient c(server->port());

  auto r =
      c.exchange("GET /v1/x?y=1 HTTP/1.1\r\nHost: a\r\nX-Custom: one\r\nX-Custom: two\r\n\r\n");
  CHECK(r->status == 200);
  CHECK(r->headers["content-type"] == "application/json");
  CHECK(r->headers["x-body-size"] == "0");
  CHECK(r->body == R"({"echo":"GET /v1/x?y=1"})");
  auto req = rec.last();
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/x?y=1");
  CHECK(req.header("host") == "a");
  CHECK(req.header("x-custom") == "one, two");
  CHECK(req.header("absent").empty());
  CHECK(req.remote_address == "127.0.0.1");
  CHECK_FALSE(req.tls);

  std::string body = R"({"InstanceIds":["ins-1"]})";
  REQUIRE(
      c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body));
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  req = rec.last();
  CHECK(req.method == "POST");
  CHECK(req.body == body);
  CHECK(req.header("content-type") == "application/json");
}

TEST_CASE_METHOD(Served, "keep-alive and pipelining serve several requests on one connection",
                 "[server][http]") {
  RawClient c(server->port());
  REQUIRE(c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response();
  REQUIRE(c.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->body == R"({"echo":"GET /1"})");
  CHECK(r2->body == R"({"echo":"GET /2"})");

  // Pipelined: both requests in one write, answered in order.
  REQUIRE(c.send(
      "GET /3 HTTP/1.1\r\nHost: a\r\n\r\nPOST /4 HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 3\r\n\r\nabcGET /5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto r3 = c.read_response();
  auto r4 = c.read_response();
  auto r5 = c.read_response();
  REQUIRE(r3);
  REQUIRE(r4);
  REQUIRE(r5);
  CHECK(r3->body == R"({"echo":"GET /3"})");
  CHECK(r4->body == R"({"echo":"POST /4"})");
  CHECK(r4->headers["x-body-size"] == "3");
  CHECK(r5->headers["connection"] == "close");
  CHECK(c.closed_within(2000ms));
  CHECK(rec.count() == 5);
}

TEST_CASE_METHOD(Served, "HTTP/1.0 closes unless keep-alive is asked for", "[server][http]") {
  {
    RawClient c(server->port());
    auto r = c.exchange("GET /a HTTP/1.0\r\n\r\n");
    CHECK(r->status == 200);
    CHECK(c.closed_within(2000ms));
  }
  {
    RawClient c(server->port());
    REQUIRE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    REQUIRE(c.read_response());
    auto r = c.exchange("GET /b HTTP/1.0\r\n\r\n");
    CHECK(r->body == R"({"echo":"GET /b"})");
  }
}

TEST_CASE_METHOD(Served, "HEAD gets the length without the body", "[server][http]") {
  RawClient c(server->port());
  REQUIRE(c.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto head = c.read_response(2000ms, true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->headers["content-length"] ==
        std::to_string(std::string(R"({"echo":"HEAD /h"})").size()));
  // No body went out: the next bytes are the GET response.
  auto get = c.read_response();
  REQUIRE(get);
  CHECK(get->body == R"({"echo":"GET /g"})");
}

TEST_CASE_METHOD(Served,
                 "oversized bodies get 413 from the error writer, which sees the request's head",
                 "[server][http]") {
  SECTION("announced by Content-Length") {
    RawClient c(server->port());
    auto r = c.exchange("POST /api?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n");
    CHECK(r->status == 413);
    CHECK(r->headers["content-type"] == "application/json");
    CHECK(r->headers["connection"] == "close");
    auto e = error_of(*r);
    CHECK(e["Kind"] == "BodyTooLarge");
    CHECK(e["Message"] == "request body larger than 1024 bytes");
    CHECK(e["Target"] == "/api?x=1");
    CHECK(e["Host"] == "a");
    CHECK(c.closed_within(2000ms));
  }
  SECTION("chunked") {
    RawClient c(server->port());
    std::string chunk(800, 'x');
    REQUIRE(c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
    c.send("320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(error_of(*r)["Target"] == "/");
  }
  SECTION("a client that writes its whole body before reading still gets the error") {
    // 8 MiB is more than the loopback socket buffers hold: without the server draining it, the
    // client's writes fail with a reset before it reads anything.
    RawClient c(server->port());
    const std::size_t size = 8u << 20;
    REQUIRE(c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(size) +
                   "\r\n\r\n"));
    auto r = c.exchange(std::string(size, 'x'));
    CHECK(r->status == 413);
    CHECK(error_of(*r)["Kind"] == "BodyTooLarge");
    CHECK(c.closed_within(2000ms));
  }
  SECTION("with Expect: 100-continue the body is refused before it is sent") {
    RawClient c(server->port());
    REQUIRE(
        c.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
               "Content-Length: 5000\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  CHECK(rec.count() == 0);
}

TEST_CASE_METHOD(Served, "Expect: 100-continue within the limit gets 100 then the response",
                 "[server][http]") {
  RawClient c(server->port());
  REQUIRE(
      c.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto cont = c.read_response();
  REQUIRE(cont);
  CHECK(cont->status == 100);
  auto r = c.exchange("abcd");
  CHECK(r->status == 200);
  CHECK(rec.last().body == "abcd");
}

TEST_CASE_METHOD(Served, "oversized headers get 431", "[server][http]") {
  RawClient c(server->port());
  c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 431);
  auto e = error_of(*r);
  CHECK(e["Kind"] == "HeaderTooLarge");
  CHECK(e["Message"] == "request header larger than 4096 bytes");
  CHECK_FALSE(e.contains("Target"));  // no header was read: the writer's default applies
  CHECK(c.closed_within(2000ms));
  CHECK(rec.count() == 0);
}

TEST_CASE_METHOD(Served, "malformed requests get 400", "[server][http]") {
  RawClient c(server->port());
  auto r = c.exchange("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n");
  CHECK(r->status == 400);
  auto e = error_of(*r);
  CHECK(e["Kind"] == "Malformed");
  CHECK(e["Message"] == "malformed request");
  CHECK_FALSE(e.contains("Target"));
  CHECK(c.closed_within(2000ms));

  // A malformed body comes after a good header: the writer sees that header.
  RawClient chunked(server->port());
  r = chunked.exchange("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  CHECK(r->status == 400);
  CHECK(error_of(*r)["Kind"] == "Malformed");
  CHECK(error_of(*r)["Target"] == "/c");
}

TEST_CASE("slow and idle clients are disconnected", "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.header_timeout = 1s;
  o.idle_timeout = 1s;
  o.body_timeout = 1s;
  auto server = start(rec, o);
  SECTION("half a header") {
    RawClient c(server->port());
    auto t0 = Clock::now();
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: a\r\n"));
    CHECK(c.closed_within(4000ms));
    CHECK(Clock::now() - t0 >= 900ms);
  }
  SECTION("connected, silent") {
    RawClient c(server->port());
    CHECK(c.closed_within(4000ms));
  }
  SECTION("half a body") {
    RawClient c(server->port());
    REQUIRE(c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"));
    CHECK(c.closed_within(4000ms));
  }
  SECTION("idle keep-alive") {
    RawClient c(server->port());
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    REQUIRE(c.read_response());
    auto t0 = Clock::now();
    CHECK(c.closed_within(4000ms));
    CHECK(Clock::now() - t0 >= 900ms);
  }
  CHECK(rec.count() <= 1);
}

TEST_CASE_METHOD(Served, "a throwing handler gives 500 InternalError, and the server lives on",
                 "[server][http]") {
  RawClient c(server->port());
  auto r = c.exchange("GET /throw HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r->status == 500);
  auto e = error_of(*r);
  CHECK(e["Kind"] == "Internal");
  CHECK(e["Target"] == "/throw");
  CHECK(r->body.find("secret") == std::string::npos);
  r = c.exchange("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r->status == 200);
}

TEST_CASE("without an error writer, an error is its message as plain text", "[server][http]") {
  Recorder rec;
  auto server = start(rec, test_options(), nullptr);
  RawClient c(server->port());
  auto r = c.exchange("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n");
  CHECK(r->status == 413);
  CHECK(r->headers["content-type"] == "text/plain; charset=utf-8");
  CHECK(r->body == "request body larger than 1024 bytes\n");
}

TEST_CASE("plain HTTP is refused on a non-loopback address unless allowed", "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.listen = "0.0.0.0:0";
  auto refused = HttpServer::start(o, rec.handler());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("refusing plain HTTP") != std::string::npos);

  o.allow_plain_http = true;
  auto allowed = HttpServer::start(o, rec.handler());
  REQUIRE(allowed);
  RawClient c((*allowed)->port());
  auto r = c.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r->status == 200);
}

TEST_CASE("listen addresses are parsed strictly", "[server][http]") {
  Recorder rec;
  for (std::string bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "::1:80",
                          "[::1]80", "example.com:80", ":80"}) {
    auto o = test_options();
    o.listen = bad;
    auto s = HttpServer::start(o, rec.handler());
    INFO(bad);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == "InvalidParameterValue");
  }
  auto o = test_options();
  o.listen = "localhost:0";
  CHECK(HttpServer::start(o, rec.handler()));
  o.listen = "[::1]:0";
  auto v6 = HttpServer::start(o, rec.handler());
  if (!v6) {
    WARN("IPv6 loopback unavailable: " << v6.error().message);
  }
}

// Waits (bounded) until the server counts `n` connections: a closed client is noticed by the
// server a moment later.
bool connections_become(const HttpServer& server, std::size_t n) {
  const auto deadline = Clock::now() + 3s;
  while (server.connection_count() != n) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

// A client has its response a moment before the server's side of the connection is back to
// waiting for the next request, which is when it may be closed for room: a pause covers that
// moment (longer under the sanitizers, where the server's side runs slower).
void let_connections_idle() {
  std::this_thread::sleep_for(ferry::test::time_bound(100ms, 500ms));
}

TEST_CASE("at max_connections a new connection closes the oldest idle one", "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.max_connections = 2;
  auto server = start(rec, o);
  RawClient oldest(server->port());
  REQUIRE(oldest.exchange(kGet));
  RawClient newer(server->port());
  REQUIRE(newer.exchange(kGet));
  let_connections_idle();
  RawClient third(server->port());
  CHECK(third.exchange(kGet));
  CHECK(oldest.closed_within(2000ms));
  CHECK(newer.exchange(kGet));
  CHECK(third.exchange(kGet));
}

TEST_CASE("at max_connections, with every connection in a request, a new one is closed at once",
          "[server][http]") {
  std::atomic<bool> release{false};
  auto o = test_options();
  o.max_connections = 1;
  auto s = HttpServer::start(o, [&](const HttpRequest&) {
    const auto deadline = Clock::now() + 3s;
    while (!release && Clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return HttpResponse{};
  });
  REQUIRE(s);
  RawClient busy((*s)->port());
  REQUIRE(busy.send(kGet));
  std::this_thread::sleep_for(100ms);  // the request reaches the handler
  RawClient refused((*s)->port());
  CHECK(refused.closed_within(2000ms));
  release = true;
  CHECK(busy.read_response(2000ms));
}

TEST_CASE("one source holds at most max_connections_per_source untrusted connections",
          "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.max_connections_per_source = 2;
  auto server = start(rec, o);
  auto a = std::make_unique<RawClient>(server->port());
  REQUIRE(a->exchange(kGet));
  RawClient b(server->port());
  REQUIRE(b.exchange(kGet));
  {
    RawClient over(server->port());
    CHECK(over.closed_within(2000ms));
  }
  CHECK(b.exchange(kGet));  // the ones it holds are untouched
  REQUIRE(connections_become(*server, 2));
  a.reset();  // one goes: the source has room again
  REQUIRE(connections_become(*server, 1));
  RawClient c(server->port());
  CHECK(c.exchange(kGet));
}

TEST_CASE("a connection that proved who it is leaves its source's count", "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.max_connections_per_source = 1;
  auto server = start(rec, o);
  RawClient agent(server->port());
  REQUIRE(agent.exchange("GET /trusted HTTP/1.1\r\nHost: a\r\n\r\n"));
  RawClient client(server->port());  // the source's one untrusted connection
  CHECK(client.exchange(kGet));
  RawClient over(server->port());
  CHECK(over.closed_within(2000ms));
  CHECK(agent.exchange(kGet));
}

TEST_CASE("a connection that proved who it is is never closed for room", "[server][http]") {
  Recorder rec;
  auto o = test_options();
  o.max_connections = 2;
  auto server = start(rec, o);
  RawClient agent(server->port());  // the oldest
  REQUIRE(agent.exchange("GET /trusted HTTP/1.1\r\nHost: a\r\n\r\n"));
  RawClient client(server->port());
  REQUIRE(client.exchange(kGet));
  let_connections_idle();
  RawClient next(server->port());
  CHECK(next.exchange(kGet));
  CHECK(client.closed_within(2000ms));
  CHECK(agent.exchange(kGet));
}

TEST_CASE_METHOD(Served, "stop() with open connections returns promptly", "[server][http]") {
  RawClient idle(server->port());
  REQUIRE(idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  REQUIRE(idle.read_response());
  RawClient half(server->port());
  REQUIRE(half.send("GET / HTTP/1.1\r\n"));
  RawClient silent(server->port());
  std::this_thread::sleep_for(100ms);
  auto t0 = Clock::now();
  server->stop();
  // Under sanitizers, at least sooner than stop_timeout (5 s), which it must not wait for.
  CHECK(Clock::now() - t0 < ferry::test::time_bound(1000ms, 4000ms));
  CHECK(idle.closed_within(1000ms));
  CHECK(half.closed_within(1000ms));
  CHECK(silent.closed_within(1000ms));
  server->stop();  // idempotent
}

TEST_CASE("a handler that blocks does not stall other connections", "[server][http]") {
  std::atomic<bool> release{false};
  auto o = test_options();
  o.io_threads = 2;
  auto s = HttpServer::start(o, [&](const HttpRequest& req) {
    if (req.target == "/slow") {
      auto deadline = Clock::now() + 3s;
      while (!release && Clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
      }
    }
    return HttpResponse{};
  });
  REQUIRE(s);
  RawClient slow((*s)->port());
  REQUIRE(slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  RawClient fast((*s)->port());
  REQUIRE(fast.send("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(fast.read_response(2000ms));
  release = true;
  CHECK(slow.read_response(2000ms));
}

}  // namespace
}  // namespace ferry::server
