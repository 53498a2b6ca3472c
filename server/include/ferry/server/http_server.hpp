// The HTTP(S) + WebSocket front of ferry-server. Callers see plain structs and three callback
// interfaces; Boost.Beast and Asio stay inside server/http/ so that the API handlers, the agent
// gateway and their tests never pay for them at compile time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::server {

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // origin-form, query string included: "/path?x=1"
  // Names lowercased; repeated fields joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote_address;  // peer IP address, no port
  bool tls = false;

  // The value of header `lowercase_name`, or "" when absent.
  [[nodiscard]] const std::string& header(const std::string& lowercase_name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra fields. Content-Length, Connection and Server are set by the server.
  std::vector<std::pair<std::string, std::string>> headers;
  // The request proved who sent it (a signed agent request): its connection no longer counts
  // against its source's max_connections_per_source and is kept when the server is full.
  bool trusted_peer = false;
};

// Called on an io thread, concurrently for different connections. It may block briefly (a
// SQLite query); a long block holds one io thread. An exception becomes a 500 (kInternal below).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// The errors answered before or instead of a handler: by the transport (body or header too
// large, not HTTP at all, a handler that threw) or by the server's router (no endpoint).
enum class HttpErrorKind {
  kBodyTooLarge,    // 413: the body is over max_body_bytes
  kHeaderTooLarge,  // 431: the request line and header are over max_header_bytes
  kMalformed,       // 400: not a well-formed HTTP request
  kInternal,        // 500: the handler threw or answered an invalid status
  kNotFound,        // 404: nothing is served at the path
};

struct HttpError {
  HttpErrorKind kind = HttpErrorKind::kInternal;
  std::string message;  // shown to the client
};

// The HTTP status of each kind (413, 431, 400, 500, 404).
unsigned http_status(HttpErrorKind kind);

// Writes the response to such an error in the wire of the API the request speaks, so that a
// client reads a refusal the way it reads the API's own errors. Called on io threads,
// concurrently; must not throw. `head` is the request as far as it was read (without its body
// when the error came before or while reading it), or nullptr when not even its header could be
// read (431, a malformed header): then the writer's default wire applies. The response may carry
// another status than http_status(error.kind) where the API's clients need it.
class HttpErrorWriter {
 public:
  virtual ~HttpErrorWriter() = default;
  [[nodiscard]] virtual HttpResponse error_response(const HttpError& error,
                                                    const HttpRequest* head) const = 0;
};

// One accepted WebSocket. Kept alive by the shared_ptr the handler holds; once the socket has
// closed, send() and close() do nothing, so a stale pointer is harmless.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;

  // Queues a text message. Callable from any thread. Returns false when the connection has
  // closed or is closing; when the queued bytes would exceed max_ws_queue_bytes the message is
  // dropped and the connection is closed, since a peer that does not read must not grow
  // memory without bound.
  virtual bool send(std::string text) = 0;
  // Starts a normal close handshake after the queued messages. Callable from any thread.
  virtual void close() = 0;
  [[nodiscard]] virtual const std::string& remote_address() const = 0;

  // A slot for the handler (e.g. the agent id), so that on_message and on_close need no map.
  void set_id(std::string id) {
    std::lock_guard lock(id_mutex_);
    id_ = std::move(id);
  }
  [[nodiscard]] std::string id() const {
    std::lock_guard lock(id_mutex_);
    return id_;
  }

 private:
  mutable std::mutex id_mutex_;
  std::string id_;
};

// Callbacks of one connection run one at a time (on that connection's strand), on io threads.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;

  // Called before the upgrade is accepted. Returning a response refuses the upgrade with it
  // (e.g. 401); returning nullopt accepts, and then on_close follows exactly once.
  // Messages sent from here are delivered after the handshake.
  virtual std::optional<HttpResponse> on_open(const HttpRequest& upgrade_request,
                                              const std::shared_ptr<WebSocketConnection>& conn) = 0;
  // A complete message (text or binary). An exception closes the connection.
  virtual void on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) = 0;
  virtual void on_close(const std::shared_ptr<WebSocketConnection>& conn) = 0;
};

struct HttpServerOptions {
  // host:port; IPv6 as [::1]:port; port 0 picks a free port (see HttpServer::port()).
  std::string listen = "127.0.0.1:8080";
  // Plain HTTP is served on loopback addresses only, unless this is set.
  bool allow_plain_http = false;
  // Both set: HTTPS only (TLS 1.2+). Both empty: plain HTTP.
  std::string tls_cert_file;  // PEM, certificate chain
  std::string tls_key_file;   // PEM, private key
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;  // Cloud Assistant requests carry all in the URL
  std::chrono::seconds header_timeout{10};   // TLS handshake + request line and header
  std::chrono::seconds idle_timeout{60};     // a kept-alive connection waiting for a request
  std::chrono::seconds body_timeout{30};     // reading the body; also writing the response
  // At max_connections, a new connection closes the oldest one that waits for a request and
  // has not proved who it is (trusted_peer, an accepted WebSocket); with none, it is closed at
  // once. A source (an IPv4 address, an IPv6 /64) holds at most max_connections_per_source of
  // the connections that have not proved who they are; more are closed at once.
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_source = 256;
  std::size_t io_threads = 0;  // 0: std::thread::hardware_concurrency()
  std::string websocket_path = "/ws";
  // A ping goes out after half of this without traffic; no answer by the end: closed.
  std::chrono::seconds ws_idle_timeout{60};
  std::size_t max_ws_message_bytes = 1024 * 1024;
  std::size_t max_ws_queue_bytes = 8 * 1024 * 1024;  // per connection, not yet written
  // stop() waits this long for sessions to end before abandoning them.
  std::chrono::milliseconds stop_timeout{5000};
};

class HttpServer {
 public:
  // Binds, listens and starts the io threads. Fails on a bad listen address, a plain-HTTP
  // listen on a non-loopback address without allow_plain_http, unreadable TLS files, or a
  // bind error. `websocket` may be null: then upgrade requests reach `handler` like any other.
  // `errors` may be null: then error bodies are the message as plain text.
  static Expected<std::unique_ptr<HttpServer>> start(
      HttpServerOptions options, HttpHandler handler,
      std::shared_ptr<WebSocketHandler> websocket = nullptr,
      std::shared_ptr<const HttpErrorWriter> errors = nullptr);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // stop()

  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] bool tls() const;
  // Connections open now (WebSockets included).
  [[nodiscard]] std::size_t connection_count() const;

  // Stops accepting, cancels every session (open WebSockets get on_close), waits up to
  // stop_timeout for them and joins the io threads. Idempotent. Must not be called from a
  // handler (it joins the thread it would run on).
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::server
