#include "api_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/tc3.hpp"

namespace ferry::test {
namespace {

void global_init() {
  // curl_global_init is not thread-safe; the first client made does it for all.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

ApiResponse to_api_response(HttpReply reply) {
  ApiResponse r;
  r.http_status = reply.status;
  r.transport_error = std::move(reply.transport_error);
  r.raw_body = std::move(reply.body);
  auto j = nlohmann::json::parse(r.raw_body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("Response") && j["Response"].is_object()) {
    r.response = j["Response"];
  }
  return r;
}

// "http://127.0.0.1:8080" -> "127.0.0.1:8080".
std::string host_of(const std::string& endpoint) {
  const auto scheme = endpoint.find("://");
  std::string host = scheme == std::string::npos ? endpoint : endpoint.substr(scheme + 3);
  const auto slash = host.find('/');
  return slash == std::string::npos ? host : host.substr(0, slash);
}

}  // namespace

// --- HttpConnection ---------------------------------------------------------------------

HttpConnection::HttpConnection(long timeout_ms) : timeout_ms_(timeout_ms) {
  global_init();
  handle_ = curl_easy_init();
  if (handle_ == nullptr) {
    throw std::runtime_error("curl_easy_init failed");
  }
}

HttpConnection::~HttpConnection() {
  if (handle_ != nullptr) {
    curl_easy_cleanup(handle_);
  }
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), timeout_ms_(other.timeout_ms_) {}

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) {
      curl_easy_cleanup(handle_);
    }
    handle_ = std::exchange(other.handle_, nullptr);
    timeout_ms_ = other.timeout_ms_;
  }
  return *this;
}

HttpReply HttpConnection::request(const std::string& method, const std::string& url,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& body) {
  CURL* curl = handle_;
  HttpReply reply;
  // Options set anew each time; the handle keeps its connection cache between requests.
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method == "GET" ? nullptr : method.c_str());
  }
  curl_slist* list = nullptr;
  // No "Expect: 100-continue" round trip on larger bodies, and only the headers we sign.
  list = curl_slist_append(list, "Expect:");
  list = curl_slist_append(list, "Accept:");
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    const std::string line = name + ": " + value;
    list = curl_slist_append(list, line.c_str());
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    has_content_type = has_content_type || lower == "content-type";
  }
  if (!has_content_type && method == "POST") {
    list = curl_slist_append(list, "Content-Type:");
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    reply.transport_error = curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// --- ApiResponse --------------------------------------------------------------------------

std::string ApiResponse::error_code() const {
  if (response.contains("Error") && response["Error"].is_object() &&
      response["Error"].contains("Code") && response["Error"]["Code"].is_string()) {
    return response["Error"]["Code"].get<std::string>();
  }
  return "";
}

std::string ApiResponse::error_message() const {
  if (response.contains("Error") && response["Error"].is_object() &&
      response["Error"].contains("Message") && response["Error"]["Message"].is_string()) {
    return response["Error"]["Message"].get<std::string>();
  }
  return "";
}

std::string ApiResponse::request_id() const {
  if (response.contains("RequestId") && response["RequestId"].is_string()) {
    return response["RequestId"].get<std::string>();
  }
  return "";
}

std::string ApiResponse::describe() const {
  if (!transport_error.empty()) {
    return "transport error: " + transport_error;
  }
  return "HTTP " + std::to_string(http_status) + " " + raw_body.substr(0, 2000);
}

// --- ApiClient ----------------------------------------------------------------------------

ApiClient::ApiClient(std::string endpoint, std::string secret_id, std::string secret_key,
                     std::string region)
    : endpoint_(std::move(endpoint)),
      host_(host_of(endpoint_)),
      secret_id_(std::move(secret_id)),
      secret_key_(std::move(secret_key)),
      region_(std::move(region)) {}

ApiResponse ApiClient::call(const std::string& action, const nlohmann::json& body,
                            const ApiSigning& signing) {
  return call_raw(action, body.dump(), signing);
}

ApiResponse ApiClient::call_raw(const std::string& action, const std::string& body,
                                const ApiSigning& signing) {
  return to_api_response(call_unparsed(action, body, signing));
}

HttpReply ApiClient::call_unparsed(const std::string& action, const std::string& body,
                                   const ApiSigning& signing) {
  Tc3Request req;
  req.host = host_;
  req.body = body;
  req.action = action;
  req.version = "2020-10-28";
  req.region = signing.region.value_or(region_);
  req.timestamp = signing.timestamp.value_or(unix_now());
  req.service = "tat";
  const Tc3Credentials creds{signing.secret_id.value_or(secret_id_),
                             signing.secret_key.value_or(secret_key_)};
  auto signed_req = tc3_sign_headers(req, creds);
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto& [name, value] : signed_req.headers) {
    if (signing.omit_authorization && (name == "Authorization" || name == "authorization")) {
      continue;
    }
    headers.emplace_back(name, value);
  }
  return http_.request("POST", endpoint_ + "/", headers, body);
}

HttpReply ApiClient::raw(const std::string& method, const std::string& path,
                         const std::string& body) {
  return http_.request(method, endpoint_ + path, {}, body);
}

// --- AgentClient --------------------------------------------------------------------------

AgentClient::AgentClient(std::string endpoint, std::string instance_id, Ed25519PrivateKey key)
    : endpoint_(std::move(endpoint)), instance_id_(std::move(instance_id)), key_(std::move(key)) {}

ApiResponse AgentClient::call(const std::string& action, nlohmann::json body,
                              const AgentSigning& signing) {
  nlohmann::json full = nlohmann::json::object();
  full["Action"] = action;
  for (auto& [k, v] : body.items()) {
    full[k] = v;
  }
  return send(action, full.dump(), false, signing);
}

ApiResponse AgentClient::register_instance(const std::string& code_id,
                                           const std::string& code_value,
                                           const std::string& system_name,
                                           const std::string& hostname,
                                           const AgentSigning& signing) {
  nlohmann::json body{{"Action", "RegisterInstance"},
                      {"RegisterCodeId", code_id},
                      {"RegisterCodeValue", code_value},
                      {"PublicKey", key_.public_key_base64()},
                      {"SystemName", system_name}};
  if (!hostname.empty()) {
    body["Hostname"] = hostname;
  }
  auto r = send("RegisterInstance", body.dump(), true, signing);
  if (r.ok() && r.response.contains("InstanceId")) {
    instance_id_ = r.response["InstanceId"].get<std::string>();
  }
  return r;
}

ApiResponse AgentClient::send(const std::string& action, const std::string& body, bool registration,
                              const AgentSigning& signing) {
  const std::string instance =
      signing.instance_id.value_or(registration ? std::string() : instance_id_);
  const std::int64_t timestamp = signing.timestamp.value_or(unix_now());
  const std::string nonce = signing.nonce.value_or(new_agent_nonce());
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/json"},
      {"X-Ferry-Instance", instance},
      {"X-Ferry-Timestamp", std::to_string(timestamp)},
      {"X-Ferry-Nonce", nonce},
  };
  if (signing.protocol) {
    headers.emplace_back("X-Ferry-Protocol", *signing.protocol);
  }
  if (!signing.omit_signature) {
    auto text = agent_signing_string(signing.signed_action.value_or(action), sha256_hex(body),
                                     timestamp, nonce, instance);
    if (!text) {
      throw std::runtime_error("agent_signing_string: " + text.error().message);
    }
    const Ed25519PrivateKey& key = signing.key != nullptr ? *signing.key : key_;
    auto sig = key.sign_base64(*text);
    if (!sig) {
      throw std::runtime_error("sign: " + sig.error().message);
    }
    headers.emplace_back("X-Ferry-Signature", *sig);
  }
  return to_api_response(http_.request("POST", endpoint_ + "/agent", headers, body));
}

std::string new_agent_nonce() {
  auto bytes = random_bytes(24);
  if (!bytes) {
    throw std::runtime_error("random_bytes failed");
  }
  std::string b64 = base64_encode(*bytes);
  for (auto& c : b64) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  b64.erase(std::remove(b64.begin(), b64.end(), '='), b64.end());
  return b64;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ferry::test
