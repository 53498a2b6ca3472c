// The TAT dialect: what it accepts, its envelope and error bodies (also for the errors the HTTP
// layer answers), and a whole signed exchange with an action from the registry.
#include "ferry/server/tat/tat_dialect.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>

#include "ferry/core/tc3.hpp"
#include "ferry/server/api/json_writer.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/tat/tat_envelope.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::FakeClock;
using nlohmann::json;

namespace {

TatOptions test_options() {
  TatOptions options;
  options.credentials = {{"AKIDtest", "secret"}};
  options.regions = {{"ap-test", "Test"}};
  options.rate_limit = 0;
  return options;
}

// A request signed as the official SDKs sign it.
HttpRequest signed_request(const FakeClock& clock, const std::string& action,
                           const std::string& body, const std::string& region = "") {
  Tc3Request req;
  req.host = "127.0.0.1:1";
  req.body = body;
  req.action = action;
  req.version = kTatApiVersion;
  req.region = region;
  req.timestamp = clock.now_ms() / 1000;
  req.service = "tat";
  const auto signed_req = tc3_sign_headers(req, {"AKIDtest", "secret"});
  HttpRequest http;
  http.method = "POST";
  http.target = "/";
  for (const auto& [name, value] : signed_req.headers) {
    std::string lower = name;
    for (auto& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    http.headers[lower] = value;
  }
  http.body = body;
  return http;
}

json response_of(const HttpResponse& r) {
  auto j = json::parse(r.body);
  REQUIRE(j.contains("Response"));
  CHECK(j["Response"]["RequestId"].get<std::string>().size() == 36);
  return j["Response"];
}

}  // namespace

TEST_CASE("request ids are version 4 UUIDs and differ", "[tat][envelope]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_request_id();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("the error envelope has the TAT shape, maps store codes and escapes the message",
          "[tat][envelope]") {
  auto r = tat_error_response(Error{"InvalidParameter", "bad \"x\"\n\xff"}, "req-1", 200);
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto j = json::parse(r.body);
  CHECK(j["Response"]["Error"]["Code"] == "InvalidParameter");
  CHECK(j["Response"]["Error"]["Message"].get<std::string>().starts_with("bad \"x\"\n"));
  CHECK(j["Response"]["RequestId"] == "req-1");

  auto store = json::parse(
      tat_error_response(Error{store_codes::kCommandNotFound, "command x not found"}, "r").body);
  CHECK(store["Response"]["Error"]["Code"] == "ResourceNotFound.CommandNotFound");
  CHECK(store["Response"]["Error"]["Message"] == "command x not found");
}

TEST_CASE("the TAT dialect writes the errors the HTTP layer answers", "[tat][envelope]") {
  struct Case {
    HttpErrorKind kind;
    unsigned status;
    const char* code;
  };
  // An over-size body is answered with 200: the SDKs read error codes only from 200 answers.
  const Case cases[] = {{HttpErrorKind::kBodyTooLarge, 200, "InvalidParameter"},
                        {HttpErrorKind::kHeaderTooLarge, 431, "InvalidParameter"},
                        {HttpErrorKind::kMalformed, 400, "InvalidParameter"},
                        {HttpErrorKind::kInternal, 500, "InternalError"},
                        {HttpErrorKind::kNotFound, 404, "ResourceNotFound"}};
  FakeClock clock;
  ActionRegistry actions;
  TatDialect tat(test_options(), clock, actions);
  for (const Case& c : cases) {
    INFO(c.code << " " << c.status);
    auto r = tat.error_response(HttpError{c.kind, "too big"});
    CHECK(r.status == c.status);
    CHECK(r.content_type == "application/json");
    auto response = response_of(r);
    CHECK(response["Error"]["Code"] == c.code);
    CHECK(response["Error"]["Message"] == "too big");
  }
}

TEST_CASE("the TAT dialect accepts requests with X-TC-Action and checks the envelope", "[tat]") {
  FakeClock clock;
  ActionRegistry actions;
  actions.add("Echo", {[](const ApiCall& call, Params& p) -> Expected<json> {
                         if (auto s = p.finish(); !s) {
                           return s.error();
                         }
                         return json{{"Region", call.region}, {"SecretId", call.secret_id}};
                       },
                       true});
  TatDialect tat(test_options(), clock, actions);

  HttpRequest head;
  CHECK_FALSE(tat.accepts(head));
  head.headers["x-tc-action"] = "Echo";
  CHECK(tat.accepts(head));

  auto ok = response_of(tat.handle(signed_request(clock, "Echo", "{}", "ap-test")));
  CHECK(ok["Region"] == "ap-test");
  CHECK(ok["SecretId"] == "AKIDtest");
  CHECK(response_of(tat.handle(signed_request(clock, "Echo", "{}")))["Error"]["Code"] ==
        "MissingParameter");  // Echo requires a region
  CHECK(response_of(tat.handle(signed_request(
            clock, "Echo", "{}", "ap-elsewhere")))["Error"]["Code"] == "UnsupportedRegion");
  CHECK(response_of(tat.handle(signed_request(clock, "Nope", "{}", "ap-test")))["Error"]["Code"] ==
        "InvalidAction");
  CHECK(response_of(tat.handle(signed_request(clock, "Echo", "[1", "ap-test")))["Error"]["Code"] ==
        "InvalidParameter");
  auto tampered = signed_request(clock, "Echo", "{}", "ap-test");
  tampered.body = R"({"X":1})";
  CHECK(response_of(tat.handle(tampered))["Error"]["Code"] == "AuthFailure.SignatureFailure");
  auto get = signed_request(clock, "Echo", "{}", "ap-test");
  get.method = "GET";
  CHECK(response_of(tat.handle(get))["Error"]["Code"] == "UnsupportedProtocol");
}

TEST_CASE("The TAT dialect answers a serialized action with the bytes of the JSON path",
          "[tat][json_writer]") {
  FakeClock clock;
  clock.set_ms(1'700'000'000'000);
  ActionRegistry api;
  const json fields{{"List", {{{"Name", "x\"\xe4\xb8\xad\n"}, {"N", 7}}}}, {"TotalCount", 1}};
  api.add("AsTree", {[&](const ApiCall&, Params& p) -> Expected<json> {
            if (auto s = p.finish(); !s) {
              return s.error();
            }
            return fields;
          }});
  api.add("AsText", {.serialized = [&](const ApiCall& call, Params& p, std::string& out) -> Status {
            if (auto s = p.finish(); !s) {
              return s.error();
            }
            JsonWriter w(out);
            w.begin_object();
            w.key("List");
            w.begin_array();
            w.begin_object();
            w.field("N", int64_t{7});
            w.field("Name", "x\"\xe4\xb8\xad\n");
            w.end_object();
            w.end_array();
            w.field("RequestId", call.request_id);
            w.field("TotalCount", int64_t{1});
            w.end_object();
            return {};
          }});
  api.add("Fails", {.serialized = [](const ApiCall&, Params&, std::string& out) {
            out += "{\"half";
            return Status(Error{"FailedOperation", "no"});
          }});
  api.add("Throws", {.serialized = [](const ApiCall&, Params&, std::string&) -> Status {
            throw std::runtime_error("boom");
          }});

  TatDialect tat(test_options(), clock, api);
  const auto send = [&](const std::string& action, const std::string& body) {
    return tat.handle(signed_request(clock, action, body));
  };
  // The RequestId differs per request: compare with it set to one value.
  const auto same_id = [](const std::string& body) {
    auto j = json::parse(body);
    REQUIRE(j["Response"].contains("RequestId"));
    const std::string id = j["Response"]["RequestId"];
    std::string out = body;
    out.replace(out.find(id), id.size(), "ID");
    return out;
  };

  const auto tree = send("AsTree", "{}");
  const auto text = send("AsText", "{}");
  CHECK(tree.status == 200);
  CHECK(text.status == 200);
  CHECK(text.content_type == tree.content_type);
  CHECK(same_id(text.body) == same_id(tree.body));

  SECTION("parameter errors and handler errors become the usual envelope") {
    const auto unknown_tree = send("AsTree", R"({"Bogus":1})");
    const auto unknown_text = send("AsText", R"({"Bogus":1})");
    CHECK(same_id(unknown_text.body) == same_id(unknown_tree.body));
    const auto failed = json::parse(send("Fails", "{}").body);
    CHECK(failed["Response"]["Error"]["Code"] == "FailedOperation");
    const auto thrown = json::parse(send("Throws", "{}").body);
    CHECK(thrown["Response"]["Error"]["Code"] == "InternalError");
  }
  SECTION("the registry derives a handler that gives the fields as JSON, RequestId left out") {
    Params params(json::object());
    auto r = api.find("AsText")->handler(ApiCall{"AsText", "AKIDtest", "", "req-1"}, params);
    REQUIRE(r);
    CHECK(*r == fields);
  }
}

TEST_CASE("the TAT dialect says what each request came to; new rate limits apply at once",
          "[tat][metrics]") {
  FakeClock clock;
  ActionRegistry actions;
  actions.add("Echo", {[](const ApiCall&, Params& p) -> Expected<json> {
                         if (auto s = p.finish(); !s) {
                           return s.error();
                         }
                         return json::object();
                       },
                       true});
  TatDialect tat(test_options(), clock, actions);
  const auto outcome_of = [&](const HttpRequest& request) {
    RequestOutcome outcome;
    (void)tat.handle(request, outcome);
    CHECK(outcome.api == "tat");
    return std::make_pair(outcome.action, outcome.result);
  };
  using Pair = std::pair<std::string, std::string>;
  CHECK(outcome_of(signed_request(clock, "Echo", "{}", "ap-test")) == Pair{"Echo", "Success"});
  CHECK(outcome_of(signed_request(clock, "Echo", "{}")) == Pair{"Echo", "MissingParameter"});
  CHECK(outcome_of(signed_request(clock, "Echo", R"({"X":1})", "ap-test")) ==
        Pair{"Echo", "UnknownParameter"});
  // An action the API does not have is never a label: the caller chose its name.
  CHECK(outcome_of(signed_request(clock, "Made-Up-Name", "{}", "ap-test")) ==
        Pair{"", "InvalidAction"});
  auto tampered = signed_request(clock, "Echo", "{}", "ap-test");
  tampered.body = "{ }";
  CHECK(outcome_of(tampered) == Pair{"", "AuthFailure.SignatureFailure"});

  // One request per second with a burst of one: the second at the same instant is refused, and
  // a second later it passes again. Back to no limit: all pass.
  tat.set_rate_limit(1, 1);
  CHECK(outcome_of(signed_request(clock, "Echo", "{}", "ap-test")).second == "Success");
  CHECK(outcome_of(signed_request(clock, "Echo", "{}", "ap-test")).second ==
        "RequestLimitExceeded");
  clock.advance_ms(1000);
  CHECK(outcome_of(signed_request(clock, "Echo", "{}", "ap-test")).second == "Success");
  tat.set_rate_limit(0, 0);
  for (int i = 0; i < 5; ++i) {
    CHECK(outcome_of(signed_request(clock, "Echo", "{}", "ap-test")).second == "Success");
  }
}
