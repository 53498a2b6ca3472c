// Blocking clients of a running ferry-server for black-box tests and benchmarks: the public
// TAT API (POST /, TC3-HMAC-SHA256) and the agent protocol (POST /agent, Ed25519;
// docs/protocol.md). One keep-alive libcurl connection per client object, so a client is used
// by one thread at a time; make one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/ed25519.hpp"

namespace ferry::test {

// One HTTP exchange's outcome. `transport_error` is set (and `status` 0) when no HTTP answer
// came at all (refused, timed out).
struct HttpReply {
  long status = 0;
  std::string body;
  std::string transport_error;
};

// A keep-alive libcurl easy handle with timeouts. Not thread-safe.
class HttpConnection {
 public:
  explicit HttpConnection(long timeout_ms = 10'000);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  HttpConnection(HttpConnection&&) noexcept;
  HttpConnection& operator=(HttpConnection&&) noexcept;

  HttpReply request(const std::string& method, const std::string& url,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body);

 private:
  void* handle_ = nullptr;  // CURL*
  long timeout_ms_;
};

// The "Response" object of a reply, and how it came.
struct ApiResponse {
  long http_status = 0;
  nlohmann::json response = nlohmann::json::object();  // {} when the body was not JSON
  std::string raw_body;
  std::string transport_error;

  [[nodiscard]] bool ok() const { return http_status == 200 && !response.contains("Error"); }
  // "" when the call succeeded.
  [[nodiscard]] std::string error_code() const;
  [[nodiscard]] std::string error_message() const;
  [[nodiscard]] std::string request_id() const;
  // The reply as one line, for failure messages.
  [[nodiscard]] std::string describe() const;
};

// Deviations from a correct TC3 signature, for negative tests.
struct ApiSigning {
  std::optional<std::int64_t> timestamp;  // X-TC-Timestamp (and the credential date)
  std::optional<std::string> secret_id;
  std::optional<std::string> secret_key;  // sign with this key instead
  std::optional<std::string> region;      // X-TC-Region ("" : not sent)
  bool omit_authorization = false;        // send no Authorization header at all
};

class ApiClient {
 public:
  // `endpoint` is "http://127.0.0.1:PORT".
  ApiClient(std::string endpoint, std::string secret_id, std::string secret_key,
            std::string region = "ap-guangzhou");

  ApiResponse call(const std::string& action, const nlohmann::json& body,
                   const ApiSigning& signing = {});
  // The body as given (for malformed JSON).
  ApiResponse call_raw(const std::string& action, const std::string& body,
                       const ApiSigning& signing = {});
  // Signed like call(), the reply left unparsed (benchmarks: the client's JSON parsing would
  // compete with the server for the CPU).
  HttpReply call_unparsed(const std::string& action, const std::string& body,
                          const ApiSigning& signing = {});
  // Any method and path, unsigned (404s, the floor of the benchmark).
  HttpReply raw(const std::string& method, const std::string& path, const std::string& body = "");

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  std::string host_;  // "127.0.0.1:PORT"
  std::string secret_id_;
  std::string secret_key_;
  std::string region_;
  HttpConnection http_;
};

// Deviations from a correct agent signature, for replay and staleness tests.
struct AgentSigning {
  std::optional<std::int64_t> timestamp;
  std::optional<std::string> nonce;
  std::optional<std::string> instance_id;     // X-Ferry-Instance
  const Ed25519PrivateKey* key = nullptr;     // sign with another key
  std::optional<std::string> signed_action;   // sign another action than the body's
  bool omit_signature = false;                // no X-Ferry-Signature
  std::optional<std::string> protocol = "1";  // X-Ferry-Protocol; nullopt: not sent
};

class AgentClient {
 public:
  // `instance_id` may be empty until register_instance() succeeds.
  AgentClient(std::string endpoint, std::string instance_id, Ed25519PrivateKey key);

  // {"Action": action, ...body} signed as the protocol says.
  ApiResponse call(const std::string& action, nlohmann::json body = nlohmann::json::object(),
                   const AgentSigning& signing = {});

  // RegisterInstance signed with this client's key; on success the client takes the id.
  ApiResponse register_instance(const std::string& code_id, const std::string& code_value,
                                const std::string& system_name = "Linux",
                                const std::string& hostname = "", const AgentSigning& signing = {});

  [[nodiscard]] const std::string& instance_id() const { return instance_id_; }
  [[nodiscard]] const Ed25519PrivateKey& key() const { return key_; }
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

 private:
  ApiResponse send(const std::string& action, const std::string& body, bool registration,
                   const AgentSigning& signing);

  std::string endpoint_;
  std::string instance_id_;
  Ed25519PrivateKey key_;
  HttpConnection http_;
};

// A fresh nonce: 24 random bytes, base64url (32 characters).
std::string new_agent_nonce();
// Unix seconds now.
std::int64_t unix_now();

}  // namespace ferry::test
