// The Boost.Beast side of ControlPlane: keep-alive HTTP/1.1 (TLS or, to loopback, plain) for the
// actions, and the push WebSocket. Everything runs on the daemon's single thread; coroutines use
// as_tuple so every error is a value. This is the only agent file that includes Beast.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "control_plane_shared.hpp"
#include "ferry/agent/control_plane.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::agent {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

constexpr auto tok = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxConnections = net_shared::kMaxConcurrentCalls;
// The server closes idle keep-alive connections; one unused for longer is not worth a try.
constexpr std::chrono::seconds kMaxIdle{20};
using net_shared::kMaxPushMessage;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

using net_shared::to_call_result;

struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point last_used;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }
};

struct PendingCall {
  std::string action;
  std::string body;
  ControlPlane::Done done;
};

class HttpControlPlane final : public ControlPlane {
 public:
  HttpControlPlane(net::any_io_executor ex, ControlPlaneOptions options,
                   AgentCredentials credentials)
      : state_(std::make_shared<State>(std::move(ex), std::move(options), std::move(credentials))) {
  }

  ~HttpControlPlane() override { shutdown(); }

  void call(const std::string& action, nlohmann::json fields, Done done) override {
    auto& s = *state_;
    if (s.stopped) {
      s.fail_later(std::move(done), "the agent is shutting down");
      return;
    }
    fields["Action"] = action;
    s.queue.push_back(PendingCall{action, fields.dump(), std::move(done)});
    s.pump();
  }

  void connect_push(PushHandlers handlers) override {
    auto& s = *state_;
    if (s.stopped || s.push_active) {
      net::post(s.ex, [h = std::move(handlers)] {
        if (h.on_closed) {
          h.on_closed("a push socket is already open or the agent is stopping", "");
        }
      });
      return;
    }
    s.push_active = true;
    net::co_spawn(s.ex, push_session(state_, std::move(handlers)), net::detached);
  }

  void close_push() override {
    if (state_->cancel_push) {
      state_->cancel_push();
    }
  }

  void shutdown() override {
    auto& s = *state_;
    if (s.stopped) {
      return;
    }
    s.stopped = true;
    if (s.cancel_push) {
      s.cancel_push();
    }
    for (auto& c : s.idle) {
      c->close();
    }
    s.idle.clear();
    for (auto* c : s.busy) {
      c->lowest().cancel();
    }
    while (!s.queue.empty()) {
      s.fail_later(std::move(s.queue.front().done), "the agent is shutting down");
      s.queue.pop_front();
    }
  }

  void set_clock_offset(std::int64_t seconds) override { state_->clock_offset = seconds; }

 private:
  struct State : std::enable_shared_from_this<State> {
    net::any_io_executor ex;
    ControlPlaneOptions options;
    AgentCredentials credentials;
    std::optional<ssl::context> tls_context;
    std::string tls_setup_error;
    std::int64_t clock_offset = 0;
    std::deque<PendingCall> queue;
    std::vector<std::unique_ptr<Connection>> idle;
    std::set<Connection*> busy;
    std::size_t workers = 0;
    bool stopped = false;
    bool push_active = false;
    std::function<void()> cancel_push;

    State(net::any_io_executor e, ControlPlaneOptions o, AgentCredentials c)
        : ex(std::move(e)), options(std::move(o)), credentials(std::move(c)) {
      if (!options.url.tls) {
        return;
      }
      tls_context.emplace(ssl::context::tls_client);
      beast::error_code ec;
      tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1);
      if (options.ca_file.empty()) {
        tls_context->set_default_verify_paths(ec);
      } else {
        tls_context->load_verify_file(options.ca_file, ec);
      }
      if (ec) {
        tls_setup_error = "loading the CA certificates" +
                          (options.ca_file.empty() ? std::string() : " from " + options.ca_file) +
                          ": " + ec.message();
      }
      tls_context->set_verify_mode(ssl::verify_peer);
    }

    void fail_later(Done done, std::string why) {
      net::post(ex, [done = std::move(done), why = std::move(why)] {
        CallResult r;
        r.transport_error = why;
        done(std::move(r));
      });
    }

    void pump() {
      while (!queue.empty() && workers < kMaxConnections && !stopped) {
        ++workers;
        net::co_spawn(ex, worker(shared_from_this()), net::detached);
      }
    }

    std::int64_t signing_time() const { return unix_now() + clock_offset; }
  };

  static net::awaitable<beast::error_code> open_tcp(State& s, beast::tcp_stream& stream) {
    tcp::resolver resolver(s.ex);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(s.options.url.host, s.options.url.port, tok);
    if (rec) {
      co_return rec;
    }
    stream.expires_after(s.options.connect_timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, tok);
    if (!cec) {
      stream.socket().set_option(tcp::no_delay(true));
    }
    co_return cec;
  }

  // Verified TLS over `stream`'s TCP connection: SNI for a name, the certificate checked against
  // the CAs and the host (name or address).
  template <typename TlsStream>
  static net::awaitable<beast::error_code> tls_handshake(State& s, TlsStream& stream) {
    const std::string& host = s.options.url.host;
    if (!is_ip_literal(host) &&  // SSL_set_tlsext_host_name() without its C cast.
        SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str())) != 1) {
      co_return beast::error_code(static_cast<int>(::ERR_get_error()),
                                  net::error::get_ssl_category());
    }
    stream.set_verify_callback(ssl::host_name_verification(host));
    beast::get_lowest_layer(stream).expires_after(s.options.connect_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, tok);
    co_return ec;
  }

  static net::awaitable<std::string> connect(State& s, Connection& c) {
    if (s.options.url.tls) {
      if (!s.tls_setup_error.empty()) {
        co_return s.tls_setup_error;
      }
      c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(s.ex, *s.tls_context);
      if (auto ec = co_await open_tcp(s, beast::get_lowest_layer(*c.tls))) {
        co_return "connecting to " + s.options.url.host_header + ": " + ec.message();
      }
      if (auto ec = co_await tls_handshake(s, *c.tls)) {
        co_return "TLS with " + s.options.url.host_header + ": " + ec.message();
      }
    } else {
      c.plain = std::make_unique<beast::tcp_stream>(s.ex);
      if (auto ec = co_await open_tcp(s, *c.plain)) {
        co_return "connecting to " + s.options.url.host_header + ": " + ec.message();
      }
    }
    co_return "";
  }

  template <typename Stream>
  static net::awaitable<CallResult> exchange_on(State& s, Stream& stream, Connection& c,
                                                const PendingCall& call, bool& reusable,
                                                bool& nothing_received) {
    CallResult result;
    reusable = false;
    nothing_received = true;
    http::request<http::string_body> req{http::verb::post, s.options.url.base_path + "/agent", 11};
    req.set(http::field::host, s.options.url.host_header);
    req.set(http::field::content_type, "application/json");
    if (!s.options.user_agent.empty()) {
      req.set(http::field::user_agent, s.options.user_agent);
    }
    auto headers = agent_auth_headers(s.credentials, call.action, call.body, s.signing_time());
    if (!headers) {
      result.transport_error = "signing: " + headers.error().message;
      co_return result;
    }
    for (auto& [name, value] : *headers) {
      req.set(name, value);
    }
    req.keep_alive(true);
    req.body() = call.body;
    req.prepare_payload();
    c.lowest().expires_after(s.options.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, tok);
    if (wec) {
      result.transport_error = "sending " + call.action + ": " + wec.message();
      co_return result;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(s.options.max_reply_bytes);
    auto [rec, rn] = co_await http::async_read(stream, c.buffer, parser, tok);
    if (rec) {
      nothing_received = rn == 0;
      result.transport_error = "reading the reply to " + call.action + ": " + rec.message();
      co_return result;
    }
    nothing_received = false;
    auto& res = parser.get();
    reusable = res.keep_alive();
    co_return to_call_result(res.result_int(), res.body());
  }

  static net::awaitable<void> worker(std::shared_ptr<State> self) {
    State& s = *self;
    std::unique_ptr<Connection> conn;
    while (!s.queue.empty() && !s.stopped) {
      PendingCall call = std::move(s.queue.front());
      s.queue.pop_front();
      CallResult result;
      // A kept-alive connection the server has closed in the meantime fails before any byte of
      // an answer; that one attempt is repeated on a new connection (signed anew).
      // Whatever goes wrong in here (an exception Asio or Beast throws), the call is answered
      // and this worker goes on: a detached coroutine's exception would be dropped unseen,
      // with the call's answer and the worker's place in the pool.
      try {
        for (int attempt = 0; attempt < 2; ++attempt) {
          bool reused = false;
          if (!conn) {
            while (!s.idle.empty()) {
              auto c = std::move(s.idle.back());
              s.idle.pop_back();
              if (std::chrono::steady_clock::now() - c->last_used < kMaxIdle) {
                conn = std::move(c);
                reused = true;
                break;
              }
              c->close();
            }
          } else {
            reused = true;
          }
          if (!conn) {
            conn = std::make_unique<Connection>();
            s.busy.insert(conn.get());
            std::string error = co_await connect(s, *conn);
            s.busy.erase(conn.get());
            if (!error.empty()) {
              conn.reset();
              result = CallResult{};
              result.transport_error = std::move(error);
              break;
            }
          }
          bool reusable = false;
          bool nothing_received = true;
          s.busy.insert(conn.get());
          if (conn->tls) {
            result = co_await exchange_on(s, *conn->tls, *conn, call, reusable, nothing_received);
          } else {
            result = co_await exchange_on(s, *conn->plain, *conn, call, reusable, nothing_received);
          }
          s.busy.erase(conn.get());
          if (!reusable || s.stopped) {
            conn->close();
            conn.reset();
          } else {
            conn->last_used = std::chrono::steady_clock::now();
          }
          if (result.transport_error.empty() || !reused || !nothing_received || s.stopped) {
            break;
          }
        }
      } catch (const std::exception& e) {
        spdlog::warn("{}: {}", call.action, e.what());
        if (conn) {
          s.busy.erase(conn.get());
          conn->close();
          conn.reset();
        }
        result = CallResult{};
        result.transport_error = std::string("internal error: ") + e.what();
      }
      net::post(s.ex, [done = std::move(call.done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    }
    if (conn && !s.stopped) {
      s.idle.push_back(std::move(conn));
    } else if (conn) {
      conn->close();
    }
    --s.workers;
    s.pump();
  }

  // The error code in a refused upgrade's body (the /agent error envelope), or "".
  static std::string refusal_code(const websocket::response_type& res) {
    auto r = to_call_result(res.result_int(), res.body());
    return r.error_code();
  }

  struct PushEnd {
    std::string reason;
    std::string error_code;
  };

  // The upgrade and the read loop; returns why the socket ended.
  template <typename Ws>
  static net::awaitable<PushEnd> run_push(std::shared_ptr<State> self, Ws& ws, PushHandlers& h) {
    State& s = *self;
    auto headers = agent_auth_headers(s.credentials, "Connect", "", s.signing_time());
    if (!headers) {
      co_return PushEnd{"signing the upgrade: " + headers.error().message, ""};
    }
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = s.options.connect_timeout;
    timeouts.idle_timeout = s.options.push_idle_timeout;
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.read_message_max(kMaxPushMessage);
    ws.set_option(websocket::stream_base::decorator(
        [headers = std::move(*headers), ua = s.options.user_agent](websocket::request_type& req) {
          for (const auto& [name, value] : headers) {
            req.set(name, value);
          }
          if (!ua.empty()) {
            req.set(http::field::user_agent, ua);
          }
        }));
    beast::get_lowest_layer(ws).expires_never();
    websocket::response_type res;
    auto [hec] = co_await ws.async_handshake(res, s.options.url.host_header,
                                             s.options.url.base_path + "/ws", tok);
    if (hec) {
      std::string code = refusal_code(res);
      std::string reason = "push upgrade: " + hec.message();
      if (res.result_int() != 0) {
        reason += " (HTTP " + std::to_string(res.result_int()) +
                  (code.empty() ? std::string() : ", " + code) + ")";
      }
      co_return PushEnd{reason, code};
    }
    if (h.on_open) {
      h.on_open();
    }
    beast::flat_buffer buffer;
    std::string reason;
    while (true) {
      auto [ec, n] = co_await ws.async_read(buffer, tok);
      if (ec) {
        reason = ec == websocket::error::closed ? std::string("closed by the server")
                                                : "push socket: " + ec.message();
        break;
      }
      if (ws.got_text() && h.on_message) {
        h.on_message(beast::buffers_to_string(buffer.data()));
      }
      buffer.consume(buffer.size());
    }
    co_return PushEnd{reason, ""};
  }

  template <typename Ws>
  static net::awaitable<PushEnd> connect_and_run_push(std::shared_ptr<State> self, Ws& ws,
                                                      PushHandlers& h) {
    State& s = *self;
    bool cancelled = false;
    s.cancel_push = [&ws, &cancelled] {
      cancelled = true;
      beast::error_code ec;
      beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(ws).close();
    };
    if (auto ec = co_await open_tcp(s, beast::get_lowest_layer(ws))) {
      co_return PushEnd{"connecting to " + s.options.url.host_header + ": " + ec.message(), ""};
    }
    if constexpr (!std::is_same_v<Ws, websocket::stream<beast::tcp_stream>>) {
      if (auto ec = co_await tls_handshake(s, ws.next_layer())) {
        co_return PushEnd{"TLS with " + s.options.url.host_header + ": " + ec.message(), ""};
      }
    }
    if (cancelled) {
      co_return PushEnd{"closed by the agent", ""};
    }
    co_return co_await run_push(self, ws, h);
  }

  static net::awaitable<void> push_session(std::shared_ptr<State> self, PushHandlers h) {
    State& s = *self;
    PushEnd end;
    if (s.options.url.tls) {
      if (!s.tls_setup_error.empty()) {
        end.reason = s.tls_setup_error;
      } else {
        websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(s.ex, *s.tls_context);
        end = co_await connect_and_run_push(self, ws, h);
        s.cancel_push = nullptr;
      }
    } else {
      websocket::stream<beast::tcp_stream> ws(s.ex);
      end = co_await connect_and_run_push(self, ws, h);
      s.cancel_push = nullptr;
    }
    s.push_active = false;
    if (h.on_closed) {
      h.on_closed(end.reason, end.error_code);
    }
  }

  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<ControlPlane> make_http_control_plane(platform::EventLoop& loop,
                                                      ControlPlaneOptions options,
                                                      AgentCredentials credentials) {
  return std::make_unique<HttpControlPlane>(loop.get_executor(), std::move(options),
                                            std::move(credentials));
}

}  // namespace ferry::agent
