// The agent's side of the agent protocol (docs/protocol.md) as a small interface: signed
// actions over HTTP(S) and the push WebSocket. The daemon's logic talks to this seam only, so
// it is tested with a fake; the implementations live in src/net/ (Boost.Beast on Linux, the
// only agent file that includes Beast; WinHTTP on Windows).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ferry/agent/server_url.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/platform/event_loop.hpp"

namespace ferry::agent {

// The outcome of one action. Either `transport_error` is set (no usable HTTP answer: refused,
// reset, timed out, TLS failure, not JSON) or `response` holds the reply's "Response" object.
struct CallResult {
  std::string transport_error;
  long http_status = 0;

  CallResult();
  // The reply's "Response" object: an empty object until one is set.
  [[nodiscard]] const nlohmann::json& response() const;
  void set_response(nlohmann::json response);

  [[nodiscard]] bool ok() const;
  // "" when there is none (success or a transport error).
  [[nodiscard]] std::string error_code() const;
  [[nodiscard]] std::string error_message() const;
  // One line for logs: the code and message, or the transport error; never the body.
  [[nodiscard]] std::string describe() const;

 private:
  std::shared_ptr<const nlohmann::json> response_;
};

// Who the agent is to the server. `instance_id` is empty for RegisterInstance.
struct AgentCredentials {
  std::string instance_id;
  std::shared_ptr<const Ed25519PrivateKey> key;
};

struct PushHandlers {
  std::function<void()> on_open;                       // the upgrade was accepted
  std::function<void(const std::string&)> on_message;  // one text frame
  // Once per connect_push(), after on_open or instead of it. `error_code` is the API code of a
  // refused upgrade (e.g. AuthFailure.InstanceNotFound), else empty.
  std::function<void(const std::string& reason, const std::string& error_code)> on_closed;
};

class ControlPlane {
 public:
  using Done = std::function<void(CallResult)>;

  virtual ~ControlPlane() = default;

  // POST /agent with {"Action": action, ...fields}, signed as the protocol says. `done` runs on
  // the event loop the implementation was made with, never inside call() itself.
  virtual void call(const std::string& action, nlohmann::json fields, Done done) = 0;
  // Opens the push socket (GET /ws signed as Connect). At most one at a time.
  virtual void connect_push(PushHandlers handlers) = 0;
  // Closes the push socket, if any; its on_closed still runs.
  virtual void close_push() = 0;
  // Ends everything: calls still queued complete with a transport error, sockets close.
  virtual void shutdown() = 0;

  // Seconds to add to the local clock when signing (corrected from ServerTime after
  // AuthFailure.SignatureExpire).
  virtual void set_clock_offset(std::int64_t seconds) = 0;
};

struct ControlPlaneOptions {
  ServerUrl url;
  std::string ca_file;  // empty: the system's CAs
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  // A server that stays silent this long on the push socket is taken as gone (the server pings
  // after half its own idle timeout, so this is longer than that).
  std::chrono::seconds push_idle_timeout{90};
  std::size_t max_reply_bytes = 32u << 20;
  std::string user_agent;
};

// The implementation: Boost.Beast (http_control_plane.cpp) or, on Windows, WinHTTP
// (winhttp_control_plane.cpp). Must be used from one thread (the loop's).
std::unique_ptr<ControlPlane> make_http_control_plane(platform::EventLoop& loop,
                                                      ControlPlaneOptions options,
                                                      AgentCredentials credentials);

// The X-Ferry-* headers of one request (docs/protocol.md, Authentication), including
// X-Ferry-Protocol. `action` is the body's Action, or "Connect" for the upgrade.
Expected<std::vector<std::pair<std::string, std::string>>> agent_auth_headers(
    const AgentCredentials& credentials, const std::string& action, const std::string& body,
    std::int64_t unix_time);

}  // namespace ferry::agent
