// The WinHTTP side of ControlPlane, for Windows, where mingw has no OpenSSL for Beast's TLS: the
// same factory as http_control_plane.cpp, with the same requests, reply mapping, limits and push
// semantics (docs/architecture.md, "The Windows build").
//
// Blocking WinHTTP calls on threads of their own rather than WinHTTP's asynchronous mode: an
// exchange is a handful of calls that read top to bottom on a worker thread (at most
// kMaxConcurrentCalls of them, started while calls are queued and ending when the queue is
// empty), and the push socket has one thread that waits in WinHttpWebSocketReceive. Everything
// the daemon sees is posted to the loop. The asynchronous mode's state machine would buy
// cancelling an exchange in flight by closing its handle, which shutdown() does not need: it
// reports the exchanges in flight at once, as it does the queued ones, and leaves them to end by
// their own timeouts with their results dropped. A request or socket handle is only ever used
// and closed by the thread that opened it (the push socket's also by the loop, under the lock,
// while its thread still holds it), so no thread can use a handle another has closed, whose
// value WinHTTP may already have given to a new one; the session and connection handles live as
// long as the shared state, which every thread holds.

// win32.hpp brings <windows.h> (lean), which winhttp.h needs first.
// clang-format off
#include "windows/win32.hpp"
#include <winhttp.h>
// clang-format on

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "control_plane_shared.hpp"
#include "ferry/agent/control_plane.hpp"

namespace ferry::agent {
namespace {

namespace asio = boost::asio;
using net_shared::kMaxConcurrentCalls;
using net_shared::kMaxPushMessage;
using net_shared::to_call_result;
using platform::win32::narrow;
using platform::win32::widen;

constexpr char kShuttingDown[] = "the agent is shutting down";
// A refused upgrade's body is an error envelope of a few hundred bytes; more is not read.
constexpr std::size_t kMaxRefusalBody = 64 * 1024;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The text of an error from WinHTTP, ending in its code. Its own codes (12001-12188) have their
// texts in winhttp.dll, which wine's lacks: the usual ones are named here, the same everywhere.
std::string winhttp_error_text(DWORD code) {
  const char* known = nullptr;
  switch (code) {
    case ERROR_WINHTTP_TIMEOUT:
    case WSAETIMEDOUT:  // what wine gives for a receive that timed out
      known = "timed out";
      break;
    case ERROR_WINHTTP_NAME_NOT_RESOLVED:
      known = "the server name could not be resolved";
      break;
    case ERROR_WINHTTP_CANNOT_CONNECT:
      known = "could not connect";
      break;
    case ERROR_WINHTTP_CONNECTION_ERROR:
      known = "the connection was reset or closed";
      break;
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
      known = "the server's response could not be read";
      break;
    case ERROR_WINHTTP_OPERATION_CANCELLED:
      known = "cancelled";
      break;
    case ERROR_WINHTTP_SECURE_FAILURE:
      known = "the server's certificate is not valid";
      break;
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
      known = "TLS handshake failed";
      break;
    case ERROR_WINHTTP_SECURE_INVALID_CA:
      known = "the server's certificate is not from a trusted CA";
      break;
    case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
      known = "the server's certificate is for another name";
      break;
    case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
      known = "the server's certificate has expired or is not yet valid";
      break;
    default:
      break;
  }
  if (known != nullptr) {
    return std::string(known) + " (error " + std::to_string(code) + ")";
  }
  if (code < WINHTTP_ERROR_BASE || code > WINHTTP_ERROR_LAST) {
    return platform::win32::error_text(code);
  }
  wchar_t* text = nullptr;
  const DWORD n = ::FormatMessageW(
      FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS,
      ::GetModuleHandleW(L"winhttp.dll"), code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out;
  if (n != 0 && text != nullptr) {
    out = narrow(std::wstring_view(text, n));
    while (!out.empty() &&
           (out.back() == '\n' || out.back() == '\r' || out.back() == '.' || out.back() == ' ')) {
      out.pop_back();
    }
  }
  ::LocalFree(text);
  return (out.empty() ? std::string("WinHTTP error") : out) + " (error " + std::to_string(code) +
         ")";
}

// A WinHTTP handle, closed by the thread that owns it.
class InternetHandle {
 public:
  InternetHandle() = default;
  explicit InternetHandle(HINTERNET h) : h_(h) {}
  InternetHandle(InternetHandle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  InternetHandle& operator=(InternetHandle&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.h_, nullptr));
    }
    return *this;
  }
  InternetHandle(const InternetHandle&) = delete;
  InternetHandle& operator=(const InternetHandle&) = delete;
  ~InternetHandle() { reset(); }

  [[nodiscard]] HINTERNET get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  void reset(HINTERNET h = nullptr) {
    if (h_ != nullptr) {
      ::WinHttpCloseHandle(h_);
    }
    h_ = h;
  }

 private:
  HINTERNET h_ = nullptr;
};

DWORD clamp_ms(std::chrono::milliseconds ms) {
  return static_cast<DWORD>(std::clamp<std::int64_t>(ms.count(), 1, 0x7fffffff));
}

struct QueuedCall {
  std::string action;
  std::string body;
  ControlPlane::Done done;
  // Outstanding work on the loop until the result is posted (or shutdown() reported the call), as
  // an Asio operation in flight would be: a caller that runs the loop until the call's result
  // (registration.cpp, call_and_wait) would otherwise find it out of work and return at once.
  asio::executor_work_guard<asio::any_io_executor> work;
};

// One connect_push(): what its thread and the loop share, under PlaneState::mutex.
struct PushSession {
  PushHandlers handlers;       // used on the loop only
  bool ended = false;          // on_closed has been posted; nothing more is
  HINTERNET socket = nullptr;  // the open WebSocket while its thread holds it
};

struct PlaneState : std::enable_shared_from_this<PlaneState> {
  asio::any_io_executor ex;
  ControlPlaneOptions options;
  AgentCredentials credentials;
  std::wstring host;
  INTERNET_PORT port = 0;
  std::string setup_error;  // set: every call and push fails with it
  InternetHandle session;
  // WinHttpConnect's (a host and port, no connection yet): opened once, shared by the threads.
  InternetHandle connection;

  std::mutex mutex;  // guards the rest
  std::int64_t clock_offset = 0;
  std::deque<QueuedCall> queue;
  // The exchanges on the worker threads, so that shutdown() can report them at once.
  std::vector<std::shared_ptr<QueuedCall>> in_flight;
  std::size_t workers = 0;
  bool stopped = false;
  std::shared_ptr<PushSession> push;  // the current one, until it ends

  PlaneState(asio::any_io_executor e, ControlPlaneOptions o, AgentCredentials c)
      : ex(std::move(e)), options(std::move(o)), credentials(std::move(c)) {
    // A private CA: WinHTTP verifies against the system's store only, wine cannot make a chain
    // engine trust one root alone, and a check by hand would need a way to keep the signed
    // request from going out when it fails. Refused until then, never ignored
    // (docs/architecture.md).
    if (options.url.tls && !options.ca_file.empty()) {
      setup_error = "ca_file (" + options.ca_file +
                    ") is not supported on Windows yet: put the server's CA in the Windows "
                    "certificate store and leave ca_file empty";
      return;
    }
    // An IPv6 address in brackets, as in a URL: so it goes into the Host header (wine writes
    // the name as given, and "::1:8443" is no Host).
    const bool ipv6 = options.url.host.find(':') != std::string::npos;
    host = widen(ipv6 ? "[" + options.url.host + "]" : options.url.host);
    const unsigned long p = std::strtoul(options.url.port.c_str(), nullptr, 10);
    if (p == 0 || p > 65535) {
      setup_error = "server URL: bad port " + options.url.port;
      return;
    }
    port = static_cast<INTERNET_PORT>(p);
    const std::wstring agent = widen(options.user_agent);
    // No proxy (as the Beast implementation has none), no automatic redirects, cookies or
    // authentication: each request is exactly what the protocol says.
    session.reset(::WinHttpOpen(agent.empty() ? nullptr : agent.c_str(),
                                WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                                WINHTTP_NO_PROXY_BYPASS, 0));
    if (!session) {
      setup_error = "WinHttpOpen: " + winhttp_error_text(::GetLastError());
      return;
    }
    // TLS 1.2 and later, as ssl::context's no_tlsv1/no_tlsv1_1 on Linux.
    DWORD protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2;
#ifdef WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3
    protocols |= WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3;
#endif
    if (!::WinHttpSetOption(session.get(), WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols,
                            sizeof protocols)) {
      // Windows before 11 / Server 2022 refuses TLS 1.3 here; 1.2 alone then.
      protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2;
      (void)::WinHttpSetOption(session.get(), WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols,
                               sizeof protocols);
    }
    connection.reset(::WinHttpConnect(session.get(), host.c_str(), port, 0));
    if (!connection) {
      setup_error = "WinHttpConnect: " + winhttp_error_text(::GetLastError());
    }
  }

  std::int64_t signing_time() {
    std::lock_guard lock(mutex);
    return unix_seconds() + clock_offset;
  }

  void post_failure(ControlPlane::Done done, std::string why) {
    asio::post(ex, [done = std::move(done), why = std::move(why)] {
      CallResult r;
      r.transport_error = why;
      done(std::move(r));
    });
  }

  // Starts workers while calls wait and fewer than kMaxConcurrentCalls run. Under mutex.
  void pump_locked() {
    // Workers not in an exchange are about to take a call: one more for each call beyond them.
    while (!stopped && workers < kMaxConcurrentCalls && workers - in_flight.size() < queue.size()) {
      ++workers;
      std::thread([self = shared_from_this()] { self->work(); }).detach();
    }
  }

  // A worker: takes calls until the queue is empty (or shutdown), one exchange at a time.
  void work() {
    std::unique_lock lock(mutex);
    while (!stopped && !queue.empty()) {
      auto call = std::make_shared<QueuedCall>(std::move(queue.front()));
      queue.pop_front();
      in_flight.push_back(call);
      lock.unlock();
      CallResult result = exchange(*call);
      lock.lock();
      std::erase(in_flight, call);
      // After shutdown() the call has been reported already, and the loop may be gone.
      if (!stopped) {
        asio::post(ex, [done = std::move(call->done), result = std::move(result)]() mutable {
          done(std::move(result));
        });
      }
    }
    --workers;
  }

  // A request on `connection` with the protocol's headers; why not, or "".
  // `response_timeout` bounds the wait for the reply's headers, `io_timeout` every other send and
  // receive.
  std::string open_request(InternetHandle& request, const wchar_t* verb, const std::string& path,
                           const std::string& action, const std::string& body,
                           std::chrono::milliseconds response_timeout,
                           std::chrono::milliseconds io_timeout) {
    const std::wstring wpath = widen(path);
    request.reset(::WinHttpOpenRequest(connection.get(), verb, wpath.c_str(), nullptr,
                                       WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
                                       options.url.tls ? WINHTTP_FLAG_SECURE : 0));
    if (!request) {
      return "WinHttpOpenRequest: " + winhttp_error_text(::GetLastError());
    }
    DWORD disabled =
        WINHTTP_DISABLE_COOKIES | WINHTTP_DISABLE_REDIRECTS | WINHTTP_DISABLE_AUTHENTICATION;
    const int connect_ms = static_cast<int>(clamp_ms(options.connect_timeout));
    const int io_ms = static_cast<int>(clamp_ms(io_timeout));
    DWORD response_ms = clamp_ms(response_timeout);
    if (!::WinHttpSetOption(request.get(), WINHTTP_OPTION_DISABLE_FEATURE, &disabled,
                            sizeof disabled) ||
        !::WinHttpSetTimeouts(request.get(), connect_ms, connect_ms, io_ms, io_ms) ||
        !::WinHttpSetOption(request.get(), WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &response_ms,
                            sizeof response_ms)) {
      return "setting up the request: " + winhttp_error_text(::GetLastError());
    }
    auto headers = agent_auth_headers(credentials, action, body, signing_time());
    if (!headers) {
      return "signing: " + headers.error().message;
    }
    std::string lines;
    if (!body.empty()) {
      lines += "Content-Type: application/json\r\n";
    }
    for (const auto& [name, value] : *headers) {
      lines += name + ": " + value + "\r\n";
    }
    const std::wstring wlines = widen(lines);
    if (!::WinHttpAddRequestHeaders(request.get(), wlines.c_str(),
                                    static_cast<DWORD>(wlines.size()),
                                    WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE)) {
      return "adding headers: " + winhttp_error_text(::GetLastError());
    }
    return "";
  }

  // What a failed send or receive is called in messages: connecting, TLS, or the exchange.
  std::string describe_failure(DWORD err, const std::string& doing) const {
    switch (err) {
      case ERROR_WINHTTP_CANNOT_CONNECT:
      case ERROR_WINHTTP_NAME_NOT_RESOLVED:
        return "connecting to " + options.url.host_header + ": " + winhttp_error_text(err);
      case ERROR_WINHTTP_SECURE_FAILURE:
      case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
      case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
      case ERROR_WINHTTP_SECURE_INVALID_CA:
      case ERROR_WINHTTP_SECURE_CERT_REV_FAILED:
      case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
      case ERROR_WINHTTP_SECURE_INVALID_CERT:
      case ERROR_WINHTTP_SECURE_CERT_REVOKED:
      case ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE:
        return "TLS with " + options.url.host_header + ": " + winhttp_error_text(err);
      default:
        return doing + ": " + winhttp_error_text(err);
    }
  }

  static DWORD status_of(HINTERNET request) {
    DWORD status = 0;
    DWORD size = sizeof status;
    if (!::WinHttpQueryHeaders(request, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                               WINHTTP_HEADER_NAME_BY_INDEX, &status, &size,
                               WINHTTP_NO_HEADER_INDEX)) {
      return 0;
    }
    return status;
  }

  // Reads the body into `out`; false with `err` set on a failure, or with `err` 0 when the body
  // is longer than `limit`.
  static bool read_body(HINTERNET request, std::size_t limit, std::string& out, DWORD& err) {
    err = 0;
    char buffer[16 * 1024];
    while (true) {
      DWORD n = 0;
      if (!::WinHttpReadData(request, buffer, sizeof buffer, &n)) {
        err = ::GetLastError();
        return false;
      }
      if (n == 0) {
        return true;
      }
      if (n > limit - out.size()) {
        return false;
      }
      out.append(buffer, n);
    }
  }

  CallResult exchange(const QueuedCall& call) {
    CallResult result;
    // WinHTTP keeps connections alive itself. One the server has closed in the meantime fails
    // with a connection error; that one attempt is repeated (signed anew), as on Linux.
    for (int attempt = 0; attempt < 2; ++attempt) {
      result = CallResult{};
      InternetHandle request;
      std::string error =
          open_request(request, L"POST", options.url.base_path + "/agent", call.action, call.body,
                       options.request_timeout, options.request_timeout);
      if (!error.empty()) {
        result.transport_error = std::move(error);
        return result;
      }
      const bool sent = ::WinHttpSendRequest(
          request.get(), WINHTTP_NO_ADDITIONAL_HEADERS, 0, const_cast<char*>(call.body.data()),
          static_cast<DWORD>(call.body.size()), static_cast<DWORD>(call.body.size()), 0);
      if (!sent || !::WinHttpReceiveResponse(request.get(), nullptr)) {
        const DWORD err = ::GetLastError();
        result.transport_error =
            describe_failure(err, (sent ? "reading the reply to " : "sending ") + call.action);
        if (err == ERROR_WINHTTP_CONNECTION_ERROR && attempt == 0) {
          continue;
        }
        return result;
      }
      const DWORD status = status_of(request.get());
      std::string body;
      DWORD err = 0;
      if (!read_body(request.get(), options.max_reply_bytes, body, err)) {
        result.transport_error =
            "reading the reply to " + call.action + ": " +
            (err != 0 ? winhttp_error_text(err) : std::string("body limit exceeded"));
        return result;
      }
      return to_call_result(status, body);
    }
    return result;
  }

  // Under mutex: the session's end, posted once; false when it had been reported already.
  bool end_push_locked(const std::shared_ptr<PushSession>& p, std::string reason,
                       std::string error_code) {
    if (p->ended) {
      return false;
    }
    p->ended = true;
    if (push == p) {
      push.reset();
    }
    asio::post(ex, [p, reason = std::move(reason), error_code = std::move(error_code)] {
      if (p->handlers.on_closed) {
        p->handlers.on_closed(reason, error_code);
      }
    });
    return true;
  }

  void end_push(const std::shared_ptr<PushSession>& p, std::string reason,
                std::string error_code = "") {
    std::lock_guard lock(mutex);
    end_push_locked(p, std::move(reason), std::move(error_code));
  }

  // Posts `f` to the loop while the session is still on; false once it has ended.
  template <typename F>
  bool post_push(const std::shared_ptr<PushSession>& p, F f) {
    std::lock_guard lock(mutex);
    if (p->ended) {
      return false;
    }
    asio::post(ex, [p, f = std::move(f)]() mutable { f(p->handlers); });
    return true;
  }

  // The push thread: upgrade, then text frames until the socket ends.
  void run_push(const std::shared_ptr<PushSession>& p) {
    InternetHandle request;
    // The connect timeout bounds the wait for the upgrade's answer.
    std::string error = open_request(request, L"GET", options.url.base_path + "/ws", "Connect", "",
                                     options.connect_timeout, options.push_idle_timeout);
    if (error.empty() &&
        !::WinHttpSetOption(request.get(), WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, nullptr, 0)) {
      error = "push upgrade: " + winhttp_error_text(::GetLastError());
    }
    // Liveness. WinHTTP answers the server's pings itself and never shows them, so the socket's
    // silence cannot be timed here as Beast times it. Instead: every receive from the socket
    // waits at most push_idle_timeout (the request's receive timeout, which the socket
    // inherits), so a server silent that long, pings included, ends it; and WinHTTP sends a
    // keep-alive frame every push_idle_timeout / 2 (15 s at least, its minimum), so a server
    // that is gone altogether fails the connection by TCP's retransmission timeout. Wine
    // honours neither (docs/architecture.md); a failure to set the interval is not fatal.
    DWORD keepalive_ms = std::max<DWORD>(15'000, clamp_ms(options.push_idle_timeout) / 2);
    (void)::WinHttpSetOption(request.get(), WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL,
                             &keepalive_ms, sizeof keepalive_ms);
    if (!error.empty()) {
      end_push(p, std::move(error));
      return;
    }
    if (!::WinHttpSendRequest(request.get(), WINHTTP_NO_ADDITIONAL_HEADERS, 0, nullptr, 0, 0, 0) ||
        !::WinHttpReceiveResponse(request.get(), nullptr)) {
      end_push(p, describe_failure(::GetLastError(), "push upgrade"));
      return;
    }
    const DWORD status = status_of(request.get());
    if (status != 101) {
      std::string body;
      DWORD err = 0;
      (void)read_body(request.get(), kMaxRefusalBody, body, err);
      const std::string code = to_call_result(status, body).error_code();
      end_push(p,
               "push upgrade: declined (HTTP " + std::to_string(status) +
                   (code.empty() ? std::string() : ", " + code) + ")",
               code);
      return;
    }
    InternetHandle socket(::WinHttpWebSocketCompleteUpgrade(request.get(), 0));
    if (!socket) {
      end_push(p, "push upgrade: " + winhttp_error_text(::GetLastError()));
      return;
    }
    request.reset();
    {
      std::lock_guard lock(mutex);
      if (p->ended) {  // close_push() or shutdown() while the upgrade was under way
        return;
      }
      p->socket = socket.get();
      asio::post(ex, [p] {
        if (p->handlers.on_open) {
          p->handlers.on_open();
        }
      });
    }
    std::string reason = receive_frames(p, socket.get());
    {
      std::lock_guard lock(mutex);
      p->socket = nullptr;  // from here on the loop leaves it alone
      end_push_locked(p, std::move(reason), "");
    }
  }

  // Text frames to on_message until the socket ends; why it ended.
  std::string receive_frames(const std::shared_ptr<PushSession>& p, HINTERNET socket) {
    std::string message;
    bool binary = false;
    char buffer[16 * 1024];
    while (true) {
      DWORD n = 0;
      WINHTTP_WEB_SOCKET_BUFFER_TYPE type{};
      const DWORD err = ::WinHttpWebSocketReceive(socket, buffer, sizeof buffer, &n, &type);
      if (err != NO_ERROR) {
        return "push socket: " + winhttp_error_text(err);
      }
      if (type == WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE) {
        // Answer the server's close frame; the socket is done either way.
        (void)::WinHttpWebSocketClose(socket, WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS, nullptr, 0);
        return "closed by the server";
      }
      binary = type == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE ||
               type == WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE;
      if (message.size() + n > kMaxPushMessage) {
        (void)::WinHttpWebSocketClose(socket, WINHTTP_WEB_SOCKET_MESSAGE_TOO_BIG_CLOSE_STATUS,
                                      nullptr, 0);
        return "push socket: a message over " + std::to_string(kMaxPushMessage / 1024) + " KiB";
      }
      message.append(buffer, n);
      if (type == WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE ||
          type == WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE) {
        continue;
      }
      if (!binary && !post_push(p, [m = std::move(message)](PushHandlers& h) {
            if (h.on_message) {
              h.on_message(m);
            }
          })) {
        return "";  // ended by the agent: reported already
      }
      message.clear();
    }
  }

  // close_push() and shutdown(): on_closed now; the socket, if open, gets a close frame, and its
  // thread ends when the server answers it (or at the idle timeout).
  void close_push_locked() {
    auto p = push;
    if (!p) {
      return;
    }
    end_push_locked(p, "closed by the agent", "");
    if (p->socket != nullptr) {
      (void)::WinHttpWebSocketShutdown(p->socket, WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS, nullptr,
                                       0);
    }
  }
};

class WinHttpControlPlane final : public ControlPlane {
 public:
  WinHttpControlPlane(asio::any_io_executor ex, ControlPlaneOptions options,
                      AgentCredentials credentials)
      : state_(std::make_shared<PlaneState>(std::move(ex), std::move(options),
                                            std::move(credentials))) {}

  ~WinHttpControlPlane() override { shutdown(); }

  void call(const std::string& action, nlohmann::json fields, Done done) override {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.stopped) {
      s.post_failure(std::move(done), kShuttingDown);
      return;
    }
    if (!s.setup_error.empty()) {
      s.post_failure(std::move(done), s.setup_error);
      return;
    }
    fields["Action"] = action;
    s.queue.push_back(
        QueuedCall{action, fields.dump(), std::move(done), asio::make_work_guard(s.ex)});
    s.pump_locked();
  }

  void connect_push(PushHandlers handlers) override {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    auto p = std::make_shared<PushSession>();
    p->handlers = std::move(handlers);
    if (s.stopped || s.push) {
      p->ended = true;
      asio::post(s.ex, [p] {
        if (p->handlers.on_closed) {
          p->handlers.on_closed("a push socket is already open or the agent is stopping", "");
        }
      });
      return;
    }
    s.push = p;
    if (!s.setup_error.empty()) {
      s.end_push_locked(p, s.setup_error, "");
      return;
    }
    std::thread([self = state_, p] { self->run_push(p); }).detach();
  }

  void close_push() override {
    std::lock_guard lock(state_->mutex);
    state_->close_push_locked();
  }

  void shutdown() override {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.stopped) {
      return;
    }
    s.stopped = true;
    s.close_push_locked();
    for (auto& call : s.in_flight) {
      s.post_failure(std::move(call->done), kShuttingDown);
      call->work.reset();  // its exchange may go on until its timeout; the loop need not wait
    }
    while (!s.queue.empty()) {
      s.post_failure(std::move(s.queue.front().done), kShuttingDown);
      s.queue.pop_front();
    }
  }

  void set_clock_offset(std::int64_t seconds) override {
    std::lock_guard lock(state_->mutex);
    state_->clock_offset = seconds;
  }

 private:
  std::shared_ptr<PlaneState> state_;
};

}  // namespace

std::unique_ptr<ControlPlane> make_http_control_plane(platform::EventLoop& loop,
                                                      ControlPlaneOptions options,
                                                      AgentCredentials credentials) {
  return std::make_unique<WinHttpControlPlane>(loop.get_executor(), std::move(options),
                                               std::move(credentials));
}

}  // namespace ferry::agent
