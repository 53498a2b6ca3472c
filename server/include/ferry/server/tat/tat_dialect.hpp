// The Tencent Cloud API 3.0 dialect of the TAT API: `POST /` with X-TC-Action, signed with
// TC3-HMAC-SHA256. It checks the envelope (method, content type, version, signature, timestamp,
// region, rate limit), runs the action from its registry with the JSON body as Params and wraps
// the answer or the error as {"Response": {..., "RequestId"}}.
#pragma once

#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/api/api_credential.hpp"
#include "ferry/server/api/dialect.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/tat/rate_limiter.hpp"

namespace ferry::server {

inline constexpr const char* kTatApiVersion = "2020-10-28";

struct TatOptions {
  std::vector<ApiCredential> credentials;
  std::vector<Region> regions;  // X-TC-Region must name one of these; empty: any
  double rate_limit = 20;       // requests per second per SecretId and action; 0: off
  double rate_burst = 30;
};

class TatDialect final : public Dialect {
 public:
  // `actions` must outlive the dialect.
  TatDialect(TatOptions options, const Clock& clock, const ActionRegistry& actions);

  // A request with X-TC-Action.
  [[nodiscard]] bool accepts(const HttpRequest& head) const override;
  using Dialect::handle;
  HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome) override;
  // tat_error_response (tat_envelope.hpp).
  [[nodiscard]] HttpResponse error_response(const HttpError& error) const override;
  // rate_limit and rate_burst from now on (SIGHUP).
  void set_rate_limit(double rate, double burst) { limiter_.set_limits(rate, burst); }

 private:
  Expected<ApiCall> authenticate(const HttpRequest& request, const std::string& request_id) const;
  // The region check, then the rate limit.
  Status admit(const ApiCall& call, const ActionSpec& spec);
  static HttpResponse run(const ActionSpec& spec, const ApiCall& call, Params& params,
                          RequestOutcome& outcome);

  TatOptions options_;
  const Clock& clock_;
  const ActionRegistry& actions_;
  RateLimiter limiter_;
};

}  // namespace ferry::server
