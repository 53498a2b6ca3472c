// The Alibaba Cloud Assistant dialect (ECS API 2014-05-26, RPC style): parameters in the query
// and/or a form body, signed with ACS3-HMAC-SHA256 (Authorization header) or signature v1
// (HMAC-SHA1, the Signature parameter). It checks the version, the signature, the time and the
// nonce, the region and the rate limit, runs the action from its registry and writes the reply
// or the error in Alibaba's bodies (acs_envelope.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/acs/acs_action_registry.hpp"
#include "ferry/server/acs/acs_params.hpp"
#include "ferry/server/api/api_credential.hpp"
#include "ferry/server/api/dialect.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/tat/rate_limiter.hpp"

namespace ferry::server {

class Store;

inline constexpr const char* kAcsApiVersion = "2014-05-26";
// Alibaba Cloud refuses a request whose time is more than 15 minutes off, either way; a nonce
// is remembered as long as its request could still be accepted.
inline constexpr int64_t kAcsMaxSkewMs = 15 * 60 * 1000;

struct AcsOptions {
  // The same pairs as the TAT API: a SecretId is an AccessKeyId, its SecretKey the secret.
  std::vector<ApiCredential> credentials;
  std::vector<std::string> regions;  // RegionIds served; empty: any
  double rate_limit = 20;            // requests per second per AccessKeyId and action; 0: off
  double rate_burst = 30;
};

// Replay protection: the nonces already used, per AccessKeyId. A seam so that tests can count
// or fail; StoreAcsNonces shares them between servers on one database.
class AcsNonces {
 public:
  virtual ~AcsNonces() = default;
  // True the first time (access_key_id, nonce) is seen before `expires_ms`.
  virtual Expected<bool> remember(const std::string& access_key_id, const std::string& nonce,
                                  int64_t expires_ms, int64_t now_ms) = 0;
};

// In the store's nonce table, under "acs-api:" + AccessKeyId, which no instance id can be.
class StoreAcsNonces final : public AcsNonces {
 public:
  explicit StoreAcsNonces(Store& store) : store_(store) {}
  Expected<bool> remember(const std::string& access_key_id, const std::string& nonce,
                          int64_t expires_ms, int64_t now_ms) override;

 private:
  Store& store_;
};

class AcsDialect final : public Dialect {
 public:
  // `actions` and `nonces` must outlive the dialect.
  AcsDialect(AcsOptions options, const Clock& clock, const AcsActionRegistry& actions,
             AcsNonces& nonces);

  // A request with an x-acs-action header, an Action parameter in the query, or a form body.
  [[nodiscard]] bool accepts(const HttpRequest& head) const override;
  using Dialect::handle;
  HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome) override;
  // acs_error_response(HttpError) (acs_envelope.hpp).
  [[nodiscard]] HttpResponse error_response(const HttpError& error) const override;
  // rate_limit and rate_burst from now on (SIGHUP).
  void set_rate_limit(double rate, double burst) { limiter_.set_limits(rate, burst); }

 private:
  struct Verified;
  // ACS3 when the Authorization header says so, else v1 when a Signature parameter is given.
  Expected<Verified> authenticate(const HttpRequest& request, const AcsParamList& query,
                                  const AcsParamList& form, const AcsParams& params) const;
  Expected<Verified> authenticate_acs3(const HttpRequest& request, const AcsParamList& query,
                                       const AcsParams& params) const;
  Expected<Verified> authenticate_v1(const HttpRequest& request, const AcsParamList& query,
                                     const AcsParamList& form, const AcsParams& params) const;
  [[nodiscard]] const ApiCredential* credential(const std::string& access_key_id) const;
  Status check_time(const std::string& field, const std::string& text) const;
  // The nonce, then the region, the action and the rate limit.
  Status admit(const ApiCall& call, const std::string& nonce);

  AcsOptions options_;
  const Clock& clock_;
  const AcsActionRegistry& actions_;
  AcsNonces& nonces_;
  RateLimiter limiter_;
};

}  // namespace ferry::server
