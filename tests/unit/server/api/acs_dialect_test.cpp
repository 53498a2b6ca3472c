// The Cloud Assistant dialect: what it accepts, both signatures, every refusal in its order, the
// reply and error bodies and their statuses, replays through the real store's nonce table, and a
// 60 KiB request line through the real HTTP server.
#include "ferry/server/acs/acs_dialect.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ferry/core/acs_signature.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/acs/acs_envelope.hpp"
#include "ferry/server/api/api_front.hpp"
#include "ferry/server/http_server.hpp"
#include "raw_http_client.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::FakeClock;
using ferry::test::RawClient;
using nlohmann::json;

namespace {

constexpr const char* kAk = "LTAItest";
constexpr const char* kSecret = "acs-secret";

// Remembers nonces in memory, so that the dialect's tests need no database; the store-backed
// one has its own test below.
class MemoryNonces final : public AcsNonces {
 public:
  Expected<bool> remember(const std::string& access_key_id, const std::string& nonce,
                          int64_t /*expires_ms*/, int64_t /*now_ms*/) override {
    if (fail) {
      return Error{"Failed", "down"};
    }
    return seen.insert(access_key_id + "\n" + nonce).second;
  }
  std::set<std::string> seen;
  bool fail = false;
};

struct Signing {
  std::string ak = kAk;
  std::string secret = kSecret;
  std::string version = kAcsApiVersion;
  std::string action = "Echo";
  std::string host = "127.0.0.1:8080";
  std::string nonce;  // "" -> a fresh one
  int64_t skew_ms = 0;
  std::string body;                 // a form body when not empty
  std::string content_sha256 = "";  // "" -> the body's
};

std::string fresh_nonce() {
  auto n = random_id("n", 24);
  REQUIRE(n.has_value());
  return *n;
}

std::string target_of(const AcsParamList& query) {
  std::string t = "/";
  for (std::size_t i = 0; i < query.size(); ++i) {
    t += (i == 0 ? "?" : "&") + acs_percent_encode(query[i].first) + "=" +
         acs_percent_encode(query[i].second);
  }
  return t;
}

// A request signed with ACS3-HMAC-SHA256 as the current SDK signs it: parameters in the query,
// host and every x-acs-* header signed.
HttpRequest acs3_request(const FakeClock& clock, const AcsParamList& query, const Signing& s = {}) {
  HttpRequest r;
  r.method = "POST";
  r.target = target_of(query);
  r.body = s.body;
  r.headers = {
      {"host", s.host},
      {"x-acs-action", s.action},
      {"x-acs-version", s.version},
      {"x-acs-date", ms_to_rfc3339(clock.now_ms() + s.skew_ms)},
      {"x-acs-signature-nonce", s.nonce.empty() ? fresh_nonce() : s.nonce},
      {"x-acs-content-sha256", s.content_sha256.empty() ? sha256_hex(s.body) : s.content_sha256}};
  if (!s.body.empty()) {
    r.headers["content-type"] = "application/x-www-form-urlencoded";
  }
  AcsParamList lines;
  std::string signed_headers;
  for (const auto& [name, value] : r.headers) {  // a std::map: already sorted
    lines.emplace_back(name, value);
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  const std::string canonical = acs3_canonical_request("POST", "/", acs_canonical_query(query),
                                                       lines, signed_headers, sha256_hex(s.body));
  r.headers["authorization"] =
      "ACS3-HMAC-SHA256 Credential=" + s.ak + ",SignedHeaders=" + signed_headers +
      ",Signature=" + acs3_signature(s.secret, acs3_string_to_sign(canonical));
  return r;
}

// A v1 (HMAC-SHA1) request as pop-core sends it: GET with everything in the query, or POST with
// `in_query` in the query and the rest in a form body.
HttpRequest v1_request(const FakeClock& clock, const std::string& method, AcsParamList params,
                       const Signing& s = {}, std::size_t in_query = 0) {
  params.insert(params.begin(), {{"Action", s.action},
                                 {"Version", s.version},
                                 {"Format", "JSON"},
                                 {"AccessKeyId", s.ak},
                                 {"SignatureMethod", "HMAC-SHA1"},
                                 {"SignatureVersion", "1.0"},
                                 {"SignatureNonce", s.nonce.empty() ? fresh_nonce() : s.nonce},
                                 {"Timestamp", ms_to_rfc3339(clock.now_ms() + s.skew_ms)}});
  params.emplace_back("Signature",
                      acs_v1_signature(s.secret, acs_v1_string_to_sign(method, params)));
  HttpRequest r;
  r.method = method;
  r.headers = {{"host", s.host}, {"x-acs-action", s.action}, {"x-acs-version", s.version}};
  if (method == "GET") {
    r.target = target_of(params);
    return r;
  }
  const AcsParamList query(params.begin(), params.begin() + static_cast<long>(in_query));
  r.target = target_of(query);
  r.headers["content-type"] = "application/x-www-form-urlencoded";
  for (std::size_t i = in_query; i < params.size(); ++i) {
    r.body += (r.body.empty() ? "" : "&") + acs_percent_encode(params[i].first) + "=" +
              acs_percent_encode(params[i].second);
  }
  return r;
}

struct AcsFixture {
  explicit AcsFixture(AcsOptions o = options()) : acs(std::move(o), clock, actions, nonces) {}

  static AcsOptions options() {
    AcsOptions o;
    o.credentials = {{"AKIDother", "x"}, {kAk, kSecret}};
    o.rate_limit = 0;
    return o;
  }

  FakeClock clock;
  MemoryNonces nonces;
  AcsActionRegistry actions = [] {
    AcsActionRegistry a;
    // Echoes what it read: the call and every parameter it was given.
    a.add("Echo", {[](const ApiCall& call, AcsParams& p) -> Expected<json> {
            json params = json::object();
            for (const auto& [name, value] : p.all()) {
              params[name] = value;
            }
            return json{{"Action", call.action},
                        {"AccessKeyId", call.secret_id},
                        {"Region", call.region},
                        {"RequestIdSeen", call.request_id},
                        {"Params", params}};
          }});
    a.add("Fails", {[](const ApiCall&, AcsParams&) -> Expected<json> {
            return Error{"InvalidCmdId.NotFound", "The specified command ID does not exist."};
          }});
    a.add("Throws", {[](const ApiCall&, AcsParams&) -> Expected<json> {
            throw std::runtime_error("secret detail");
          }});
    a.add("SaysCode", {[](const ApiCall&, AcsParams&) -> Expected<json> {
            return json{{"Code", "200"}, {"Value", 1}};
          }});
    return a;
  }();
  AcsDialect acs;
};

json acs_body_of(const HttpResponse& r) {
  CHECK(r.content_type == "application/json");
  return json::parse(r.body);
}

// The error body: exactly its five fields, the code and its status.
json acs_error_of(const HttpResponse& r, const std::string& code, unsigned status) {
  auto j = acs_body_of(r);
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(j["Code"] == code);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) {
    keys.insert(k);
  }
  CHECK(keys == std::set<std::string>{"Code", "HostId", "Message", "Recommend", "RequestId"});
  CHECK(j["RequestId"].get<std::string>().size() == 36);
  return j;
}

}  // namespace

TEST_CASE("the ACS dialect accepts x-acs-action, an Action parameter or a form body", "[acs]") {
  AcsFixture d;
  HttpRequest head;
  head.target = "/";
  CHECK_FALSE(d.acs.accepts(head));
  head.headers["content-type"] = "application/json";
  head.headers["x-tc-action"] = "RunCommand";
  CHECK_FALSE(d.acs.accepts(head));
  head.headers = {{"x-acs-action", "RunCommand"}};
  CHECK(d.acs.accepts(head));
  head.headers.clear();
  head.target = "/?Format=JSON&Action=RunCommand";
  CHECK(d.acs.accepts(head));
  head.target = "/?Action=RunCommand";
  CHECK(d.acs.accepts(head));
  head.target = "/?NoAction=1";
  CHECK_FALSE(d.acs.accepts(head));
  head.headers["content-type"] = "application/x-www-form-urlencoded; charset=UTF-8";
  CHECK(d.acs.accepts(head));
}

TEST_CASE("the ACS dialect runs correctly signed requests, ACS3 and v1", "[acs]") {
  AcsFixture d;
  const AcsParamList params = {{"RegionId", "cn-test"},
                               {"CommandContent", "echo 'a b' * ~ \xe8\xaf\xb4"},
                               {"InstanceId.1", "i-1"}};
  const auto check_echo = [](const HttpResponse& r) {
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto j = acs_body_of(r);
    CHECK_FALSE(j.contains("Code"));
    CHECK(j["Action"] == "Echo");
    CHECK(j["AccessKeyId"] == kAk);
    CHECK(j["Region"] == "cn-test");
    CHECK(j["RequestId"] == j["RequestIdSeen"]);
    CHECK(j["RequestId"].get<std::string>().size() == 36);
    // The handler sees the action's parameters and none of the signature's.
    CHECK(j["Params"] == json{{"RegionId", "cn-test"},
                              {"CommandContent", "echo 'a b' * ~ \xe8\xaf\xb4"},
                              {"InstanceId.1", "i-1"}});
  };
  SECTION("ACS3, parameters in the query") {
    check_echo(d.acs.handle(acs3_request(d.clock, params)));
  }
  SECTION("ACS3, a form body besides the query") {
    Signing s;
    s.body = "CommandContent=echo%20%27a%20b%27%20%2A%20~%20%E8%AF%B4&InstanceId.1=i-1";
    check_echo(d.acs.handle(acs3_request(d.clock, {{"RegionId", "cn-test"}}, s)));
  }
  SECTION("v1 over GET") {
    check_echo(d.acs.handle(v1_request(d.clock, "GET", params)));
  }
  SECTION("v1 over POST, all in the form") {
    check_echo(d.acs.handle(v1_request(d.clock, "POST", params)));
  }
  SECTION("v1 over POST, query and form merged") {
    check_echo(d.acs.handle(v1_request(d.clock, "POST", params, {}, 5)));
  }
  SECTION("a time at the edge of the window") {
    Signing s;
    s.skew_ms = -kAcsMaxSkewMs + 1000;
    check_echo(d.acs.handle(acs3_request(d.clock, params, s)));
    s.skew_ms = kAcsMaxSkewMs - 1000;
    check_echo(d.acs.handle(v1_request(d.clock, "GET", params, s)));
  }
}

TEST_CASE("the ACS dialect refuses what it must, with Alibaba's codes and statuses", "[acs]") {
  AcsFixture d;
  const AcsParamList params = {{"RegionId", "cn-test"}};
  Signing s;
  SECTION("a wrong secret") {
    s.secret = "wrong";
    acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "SignatureDoesNotMatch", 400);
    acs_error_of(d.acs.handle(v1_request(d.clock, "GET", params, s)), "SignatureDoesNotMatch", 400);
    acs_error_of(d.acs.handle(v1_request(d.clock, "POST", params, s)), "SignatureDoesNotMatch",
                 400);
  }
  SECTION("an unknown AccessKeyId") {
    s.ak = "LTAInobody";
    auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)),
                          "InvalidAccessKeyId.NotFound", 404);
    CHECK(j["Message"] == "Specified access key is not found.");
    acs_error_of(d.acs.handle(v1_request(d.clock, "GET", params, s)), "InvalidAccessKeyId.NotFound",
                 404);
  }
  SECTION("STS credentials: a security token, as a header or a v1 parameter") {
    auto r = acs3_request(d.clock, params);
    r.headers["x-acs-security-token"] = "token";
    acs_error_of(d.acs.handle(r), "TemporaryAccessKey.Error", 403);
    acs_error_of(d.acs.handle(v1_request(d.clock, "GET",
                                         {{"RegionId", "cn-test"}, {"SecurityToken", "token"}})),
                 "TemporaryAccessKey.Error", 403);
  }
  SECTION("a changed parameter, header or body") {
    auto r = acs3_request(d.clock, params);
    r.target += "&Extra=1";
    acs_error_of(d.acs.handle(r), "SignatureDoesNotMatch", 400);
    r = v1_request(d.clock, "GET", params);
    r.target += "&Extra=1";
    acs_error_of(d.acs.handle(r), "SignatureDoesNotMatch", 400);
    s.body = "A=1";
    r = acs3_request(d.clock, params, s);
    r.body = "A=2";
    auto j = acs_error_of(d.acs.handle(r), "SignatureDoesNotMatch", 400);
    CHECK(j["Message"].get<std::string>().find("x-acs-content-sha256") != std::string::npos);
    s.content_sha256 = sha256_hex("other");
    acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "SignatureDoesNotMatch", 400);
  }
  SECTION("an x-acs header left out of SignedHeaders") {
    auto r = acs3_request(d.clock, params);
    r.headers["x-acs-extra"] = "1";
    acs_error_of(d.acs.handle(r), "IncompleteSignature", 400);
    r = acs3_request(d.clock, params);
    r.headers["authorization"] = "ACS3-HMAC-SHA256 Credential=" + std::string(kAk);
    acs_error_of(d.acs.handle(r), "IncompleteSignature", 400);
  }
  SECTION("missing signature parts") {
    auto r = acs3_request(d.clock, params);
    r.headers.erase("authorization");
    auto j = acs_error_of(d.acs.handle(r), "MissingParameter", 400);
    CHECK(j["Message"] ==
          "The input parameter \"Signature\" that is mandatory for processing "
          "this request is not supplied.");
    r = acs3_request(d.clock, params);
    r.headers.erase("x-acs-date");
    acs_error_of(d.acs.handle(r), "MissingParameter", 400);
    r = v1_request(d.clock, "GET", params);
    r.target = r.target.substr(0, r.target.find("&SignatureNonce="));
    r.target += "&Signature=x";
    acs_error_of(d.acs.handle(r), "MissingParameter", 400);
  }
  SECTION("a time more than 15 minutes off, either way") {
    for (int64_t skew : {-kAcsMaxSkewMs - 1000, kAcsMaxSkewMs + 1000}) {
      s.skew_ms = skew;
      auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)),
                            "InvalidTimeStamp.Expired", 400);
      CHECK(j["Message"] == "Specified time stamp or date value is expired.");
      acs_error_of(d.acs.handle(v1_request(d.clock, "GET", params, s)), "InvalidTimeStamp.Expired",
                   400);
    }
    auto r = v1_request(d.clock, "GET", {{"Timestamp", "yesterday"}});
    // Two Timestamp values: refused before the time is even read.
    acs_error_of(d.acs.handle(r), "InvalidParameter", 400);
  }
  SECTION("a replayed nonce, for the same AccessKeyId only") {
    s.nonce = "nonce-1";
    const auto r = acs3_request(d.clock, params, s);
    CHECK(d.acs.handle(r).status == 200);
    auto j = acs_error_of(d.acs.handle(r), "SignatureNonceUsed", 400);
    CHECK(j["Message"] == "Specified signature nonce was used already.");
    acs_error_of(d.acs.handle(v1_request(d.clock, "GET", params, s)), "SignatureNonceUsed", 400);
    // A request that fails its signature does not burn the nonce.
    s.nonce = "nonce-2";
    s.secret = "wrong";
    acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "SignatureDoesNotMatch", 400);
    s.secret = kSecret;
    CHECK(d.acs.handle(acs3_request(d.clock, params, s)).status == 200);
    d.nonces.fail = true;
    acs_error_of(d.acs.handle(acs3_request(d.clock, params)), "InternalError", 500);
  }
  SECTION("another version") {
    s.version = "2020-10-28";
    auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "InvalidVersion", 400);
    CHECK(j["Message"] == "Specified parameter Version is not valid.");
    acs_error_of(d.acs.handle(v1_request(d.clock, "GET", params, s)), "InvalidVersion", 400);
  }
  SECTION("an action nobody serves") {
    s.action = "DescribeInstances";
    acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "InvalidAction.NotFound", 404);
    acs_error_of(d.acs.handle(v1_request(d.clock, "POST", params, s)), "InvalidAction.NotFound",
                 404);
  }
  SECTION("a v1 x-acs-action header that contradicts the signed Action") {
    auto r = v1_request(d.clock, "GET", params);
    r.headers["x-acs-action"] = "Fails";
    acs_error_of(d.acs.handle(r), "InvalidParameter", 400);
  }
  SECTION("a parameter given twice with different values, query and form") {
    auto r = v1_request(d.clock, "POST", params, {}, 8);
    r.target += "&RegionId=cn-other";
    acs_error_of(d.acs.handle(r), "InvalidParameter", 400);
  }
  SECTION("another method") {
    auto r = acs3_request(d.clock, params);
    r.method = "PUT";
    acs_error_of(d.acs.handle(r), "UnsupportedHTTPMethod", 400);
  }
  SECTION("the handler's own errors, a throwing handler, a Code in a reply") {
    s.action = "Fails";
    acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "InvalidCmdId.NotFound", 404);
    s.action = "Throws";
    auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "InternalError", 500);
    CHECK(j["Message"].get<std::string>().find("secret detail") == std::string::npos);
    s.action = "SaysCode";
    auto r = d.acs.handle(acs3_request(d.clock, params, s));
    CHECK(r.status == 200);
    CHECK_FALSE(acs_body_of(r).contains("Code"));
    CHECK(acs_body_of(r)["Value"] == 1);
  }
  SECTION("HostId is the Host header's host") {
    s.host = "ecs.example.test:8443";
    s.secret = "wrong";
    auto j =
        acs_error_of(d.acs.handle(acs3_request(d.clock, params, s)), "SignatureDoesNotMatch", 400);
    CHECK(j["HostId"] == "ecs.example.test");
    CHECK(j["Recommend"].get<std::string>().find("architecture.md") != std::string::npos);
  }
}

TEST_CASE("the ACS dialect serves only the configured regions, when some are", "[acs]") {
  auto o = AcsFixture::options();
  o.regions = {"cn-hangzhou"};
  AcsFixture d(o);
  CHECK(d.acs.handle(acs3_request(d.clock, {{"RegionId", "cn-hangzhou"}})).status == 200);
  CHECK(d.acs.handle(acs3_request(d.clock, {})).status == 200);
  auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, {{"RegionId", "cn-beijing"}})),
                        "InvalidRegionId.NotFound", 404);
  CHECK(j["Message"] == "The RegionId provided does not exist in our records.");
  // Any region when none is configured.
  AcsFixture any;
  CHECK(any.acs.handle(acs3_request(any.clock, {{"RegionId", "cn-beijing"}})).status == 200);
}

TEST_CASE("the ACS dialect throttles per AccessKeyId and action", "[acs]") {
  auto o = AcsFixture::options();
  o.rate_limit = 1;
  o.rate_burst = 2;
  AcsFixture d(o);
  CHECK(d.acs.handle(acs3_request(d.clock, {})).status == 200);
  CHECK(d.acs.handle(acs3_request(d.clock, {})).status == 200);
  auto j = acs_error_of(d.acs.handle(acs3_request(d.clock, {})), "Throttling.User", 400);
  CHECK(j["Message"] == "Request was denied due to user flow control.");
  Signing other;
  other.action = "SaysCode";
  CHECK(d.acs.handle(acs3_request(d.clock, {}, other)).status == 200);
  d.clock.advance_ms(1000);
  CHECK(d.acs.handle(acs3_request(d.clock, {})).status == 200);

  // New limits (SIGHUP) apply at once, the buckets full again; and each request says what it
  // came to, for the metrics.
  d.acs.set_rate_limit(1, 1);
  RequestOutcome first;
  CHECK(d.acs.handle(acs3_request(d.clock, {}), first).status == 200);
  CHECK(first.api == "acs");
  CHECK(first.action == "Echo");
  CHECK(first.result == "Success");
  RequestOutcome second;
  CHECK(d.acs.handle(acs3_request(d.clock, {}), second).status == 400);
  CHECK(second.action == "Echo");
  CHECK(second.result == "Throttling.User");
  Signing unknown;
  unknown.action = "NoSuchActionAnywhere";
  RequestOutcome third;
  (void)d.acs.handle(acs3_request(d.clock, {}, unknown), third);
  CHECK(third.action.empty());  // never a name the caller made up
  CHECK(third.result == "InvalidAction.NotFound");
}

TEST_CASE("ACS error statuses come from one table", "[acs][envelope]") {
  CHECK(acs_http_status("InvalidAccessKeyId.NotFound") == 404);
  CHECK(acs_http_status("InvalidAction.NotFound") == 404);
  CHECK(acs_http_status("SignatureDoesNotMatch") == 400);
  CHECK(acs_http_status("Throttling.User") == 400);
  // Seed 004's table.
  CHECK(acs_http_status("RegionId.ApiNotSupported") == 400);
  CHECK(acs_http_status("InvalidResourceTag.ConflictWithInstanceIds") == 400);
  CHECK(acs_http_status("CmdContent.ExceedLimit") == 403);
  CHECK(acs_http_status("InvalidParameterCharset.Parameters") == 403);
  CHECK(acs_http_status("InvalidTerminationMode.NotFound") == 404);
  CHECK(acs_http_status("InternalError.Dispatch") == 500);
  CHECK(acs_http_status("InternalError") == 500);
  CHECK(acs_http_status("InternalErrorish") == 400);
  CHECK(acs_http_status("Anything.Else") == 400);
}

TEST_CASE("the ACS dialect writes the errors the HTTP layer answers", "[acs][envelope]") {
  struct Case {
    HttpErrorKind kind;
    unsigned status;
    const char* code;
  };
  const Case cases[] = {{HttpErrorKind::kBodyTooLarge, 413, "InvalidParameter.RequestTooLarge"},
                        {HttpErrorKind::kHeaderTooLarge, 431, "InvalidParameter.RequestTooLarge"},
                        {HttpErrorKind::kMalformed, 400, "InvalidParameter"},
                        {HttpErrorKind::kInternal, 500, "InternalError"},
                        {HttpErrorKind::kNotFound, 404, "InvalidAction.NotFound"}};
  AcsFixture d;
  for (const Case& c : cases) {
    INFO(c.code);
    auto j = acs_error_of(d.acs.error_response(HttpError{c.kind, "too big"}), c.code, c.status);
    CHECK(j["Message"] == "too big");
  }
  CHECK(acs_host_id("[::1]:80") == "[::1]");
  CHECK(acs_host_id("a.b") == "a.b");
}

TEST_CASE("ACS nonces live in the store's table, apart from the agents'", "[acs][store]") {
  ferry::test::ServerFixture f;
  StoreAcsNonces nonces(*f.store);
  const int64_t now = f.clock.now_ms();
  CHECK(*nonces.remember("AK1", "n1", now + 1000, now));
  CHECK_FALSE(*nonces.remember("AK1", "n1", now + 1000, now));
  CHECK(*nonces.remember("AK2", "n1", now + 1000, now));
  // An agent's nonce with the same text does not collide.
  CHECK(*f.store->remember_nonce("AK1", "n1", now + 1000, now));
  // Once expired, the nonce may come again.
  CHECK(*nonces.remember("AK1", "n1", now + 5000, now + 2000));
}

TEST_CASE("a 60 KiB request line and a large form body pass the real HTTP server", "[acs][http]") {
  CHECK(HttpServerOptions{}.max_header_bytes == 64 * 1024);
  AcsFixture d;
  d.clock.set_ms(SystemClock().now_ms());  // the time check is against the same clock
  auto api = std::make_shared<ApiFront>();
  struct Forward final : public ferry::server::Dialect {
    explicit Forward(AcsDialect& acs) : acs_(acs) {}
    [[nodiscard]] bool accepts(const HttpRequest& h) const override { return acs_.accepts(h); }
    using Dialect::handle;
    HttpResponse handle(const HttpRequest& r, RequestOutcome& o) override {
      return acs_.handle(r, o);
    }
    [[nodiscard]] HttpResponse error_response(const HttpError& e) const override {
      return acs_.error_response(e);
    }
    AcsDialect& acs_;
  };
  api->add_dialect(std::make_unique<Forward>(d.acs));
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 1;
  auto server = HttpServer::start(
      o, [api](const HttpRequest& r) { return api->handle(r); }, nullptr, api);
  REQUIRE(server);
  const auto send = [&](HttpRequest r) {
    RawClient c((*server)->port());
    std::string raw = r.method + " " + r.target + " HTTP/1.1\r\n";
    r.headers["host"] = "127.0.0.1:" + std::to_string((*server)->port());
    for (const auto& [name, value] : r.headers) {
      raw += name + ": " + value + "\r\n";
    }
    raw += "content-length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    auto response = c.exchange(raw);
    REQUIRE(response);
    return *response;
  };
  // 20000 spaces encode to 60000 bytes of query.
  const std::string content(20000, ' ');
  Signing s;
  s.host = "127.0.0.1:" + std::to_string((*server)->port());
  auto request = acs3_request(d.clock, {{"CommandContent", content}}, s);
  REQUIRE(request.target.size() > 60000);
  auto r = send(request);
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(json::parse(r.body)["Params"]["CommandContent"] == content);
  // The same content twice, in a form body (v1 POST).
  auto post = v1_request(d.clock, "POST", {{"CommandContent", content}, {"Name", content}}, s);
  REQUIRE(post.body.size() > 120000);
  r = send(post);
  CHECK(r.status == 200);
  CHECK(json::parse(r.body)["Params"]["Name"] == content);
  // Past the header limit: the transport's 431, in this dialect's error body.
  auto too_long = acs3_request(d.clock, {{"CommandContent", std::string(23000, ' ')}}, s);
  r = send(too_long);
  CHECK(r.status == 431);
}
