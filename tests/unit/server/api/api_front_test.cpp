// The dialect seam: one ApiFront on one port routes each request to the dialect it speaks, and
// the HTTP layer's own errors come from that dialect. The second dialect here is a toy made for
// the test (its own "signature", parameters flattened from the query, its own reply and error
// bodies) sharing the TAT dialect's registry, as a real second API would share the domain.
#include "ferry/server/api/api_front.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/tc3.hpp"
#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/tat/tat_dialect.hpp"
#include "raw_http_client.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::FakeClock;
using ferry::test::RawClient;
using nlohmann::json;

namespace {

// X-Toy-Action names the action, X-Toy-Key must be "letmein", parameters are the query's
// name=value pairs (no escaping), replies are flat JSON and errors {"code", "message"} with HTTP
// 400, or 413 as text for an over-size body.
class ToyDialect final : public Dialect {
 public:
  explicit ToyDialect(const ActionRegistry& actions) : actions_(actions) {}

  [[nodiscard]] bool accepts(const HttpRequest& head) const override {
    return !head.header("x-toy-action").empty();
  }

  using Dialect::handle;
  HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome) override {
    outcome.api = "toy";
    const auto fail = [&outcome](unsigned status, const std::string& code,
                                 const std::string& message) {
      outcome.result = code;
      return reply(status, {{"code", code}, {"message", message}});
    };
    if (request.header("x-toy-key") != "letmein") {
      return fail(401, "Toy.Unauthorized", "no key");
    }
    const ActionSpec* spec = actions_.find(request.header("x-toy-action"));
    if (spec == nullptr) {
      return fail(400, "Toy.NoSuchAction", "unknown action");
    }
    outcome.action = request.header("x-toy-action");
    Params params(flatten(request.target));
    auto result =
        spec->handler(ApiCall{request.header("x-toy-action"), "toy", "", "toy-1"}, params);
    if (!result) {
      return fail(400, result.error().code, result.error().message);
    }
    (*result)["RequestId"] = "toy-1";
    outcome.result = "Success";
    return reply(200, *result);
  }

  [[nodiscard]] HttpResponse error_response(const HttpError& error) const override {
    HttpResponse r;
    r.status = http_status(error.kind);
    r.content_type = "text/x-toy";
    r.body = "toy refuses: " + error.message;
    return r;
  }

 private:
  static json flatten(const std::string& target) {
    json out = json::object();
    const auto q = target.find('?');
    std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
      query = amp == std::string::npos ? "" : query.substr(amp + 1);
    }
    return out;
  }
  static HttpResponse reply(unsigned status, const json& body) {
    HttpResponse r;
    r.status = status;
    r.body = body.dump();
    return r;
  }

  const ActionRegistry& actions_;
};

// One action both dialects serve.
ActionRegistry echo_registry() {
  ActionRegistry actions;
  actions.add("Echo", {[](const ApiCall&, Params& p) -> Expected<json> {
                const std::string name = p.req_string("Name");
                if (auto s = p.finish(); !s) {
                  return s.error();
                }
                return json{{"Hello", name}};
              }});
  return actions;
}

struct Front {
  Front() {
    TatOptions tat;
    tat.credentials = {{"AKIDtest", "secret"}};
    tat.rate_limit = 0;
    api->add_dialect(std::make_unique<TatDialect>(tat, clock, actions));
    api->add_dialect(std::make_unique<ToyDialect>(actions));
  }

  HttpRequest tat_request(const std::string& body) const {
    Tc3Request req;
    req.host = "127.0.0.1:1";
    req.body = body;
    req.action = "Echo";
    req.version = kTatApiVersion;
    req.timestamp = clock.now_ms() / 1000;
    req.service = "tat";
    HttpRequest http;
    http.method = "POST";
    http.target = "/";
    for (const auto& [name, value] : tc3_sign_headers(req, {"AKIDtest", "secret"}).headers) {
      http.headers[ferry::test::lower(name)] = value;
    }
    http.body = body;
    return http;
  }

  FakeClock clock;
  ActionRegistry actions = echo_registry();
  std::shared_ptr<ApiFront> api = std::make_shared<ApiFront>();
};

}  // namespace

TEST_CASE("ApiFront routes each request to the dialect it speaks", "[api][dialect]") {
  Front f;
  // TAT: signed, JSON body, the {"Response": ...} envelope.
  auto tat = json::parse(f.api->handle(f.tat_request(R"({"Name":"tat"})")).body);
  CHECK(tat["Response"]["Hello"] == "tat");
  CHECK(tat["Response"]["RequestId"].get<std::string>().size() == 36);

  // The toy: its key, parameters from the query, its flat reply; the same action.
  HttpRequest toy;
  toy.method = "GET";
  toy.target = "/?Name=toy";
  toy.headers = {{"x-toy-action", "Echo"}, {"x-toy-key", "letmein"}};
  auto toy_reply = f.api->handle(toy);
  CHECK(toy_reply.status == 200);
  CHECK(json::parse(toy_reply.body) == json{{"Hello", "toy"}, {"RequestId", "toy-1"}});
  // Its errors are its own, the codes Ferry's.
  toy.target = "/?Name=toy&Extra=1";
  auto refused = f.api->handle(toy);
  CHECK(refused.status == 400);
  CHECK(json::parse(refused.body)["code"] == "UnknownParameter");
  toy.headers["x-toy-key"] = "wrong";
  CHECK(f.api->handle(toy).status == 401);

  // A request that speaks neither goes to the first dialect added, which explains itself.
  HttpRequest neither;
  neither.method = "POST";
  neither.target = "/";
  neither.headers = {{"content-type", "application/json"}};
  auto unclaimed = json::parse(f.api->handle(neither).body);
  CHECK(unclaimed["Response"]["Error"]["Code"] == "MissingParameter");
}

TEST_CASE("The HTTP layer's errors come from the dialect the request speaks", "[api][dialect]") {
  Front f;
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 1;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 4096;
  auto api = f.api;
  auto server = HttpServer::start(
      o, [api](const HttpRequest& r) { return api->handle(r); }, nullptr, api);
  REQUIRE(server);

  // A request announcing an over-size body, with `action` (a dialect's header) among its headers.
  const auto oversized = [&](const std::string& action) {
    RawClient c((*server)->port());
    return *c.exchange("POST / HTTP/1.1\r\nHost: a\r\n" + action +
                       "\r\nContent-Length: 5000\r\n\r\n");
  };
  SECTION("an over-size body for the toy: its own 413") {
    auto r = oversized("X-Toy-Action: Echo");
    CHECK(r.status == 413);
    CHECK(r.headers["content-type"] == "text/x-toy");
    CHECK(r.body == "toy refuses: request body larger than 1024 bytes");
  }
  SECTION("an over-size body for TAT: the envelope, with HTTP 200 for the SDKs") {
    auto r = oversized("X-TC-Action: Echo");
    CHECK(r.status == 200);
    CHECK(r.headers["content-type"] == "application/json");
    auto j = json::parse(r.body);
    CHECK(j["Response"]["Error"]["Code"] == "InvalidParameter");
    CHECK(j["Response"]["Error"]["Message"] == "request body larger than 1024 bytes");
    CHECK(j["Response"]["RequestId"].get<std::string>().size() == 36);
  }
  SECTION("an over-size header, before any dialect is known: the default's envelope") {
    RawClient c((*server)->port());
    c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Toy-Action: Echo\r\nX-Big: " + std::string(20000, 'h') +
           "\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(json::parse(r->body)["Response"]["Error"]["Code"] == "InvalidParameter");
  }
}
