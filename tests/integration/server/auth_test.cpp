// Refusals at the door: agent signatures (docs/protocol.md, "Signing") and the TC3 envelope of
// the public API, each checked by code, each reply carrying a RequestId.
#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "blackbox.hpp"

using namespace ferry::test;

namespace {

void expect_agent_error(const ApiResponse& r, const std::string& code) {
  INFO(r.describe());
  expect_error(r, code);
  CHECK(r.response["ProtocolVersion"] == 1);
  CHECK(r.response["ServerTime"].is_number_integer());
}

}  // namespace

TEST_CASE_METHOD(ScriptedAgentTest, "agent requests with a bad signature are refused",
                 "[server][auth][agent]") {
  auto& c = agent.client();

  SECTION("a good request passes and carries the envelope") {
    auto r = c.call("DescribeTasks");
    must(r);
    CHECK(r.response["ProtocolVersion"] == 1);
    const auto server_time = r.response["ServerTime"].get<int64_t>();
    CHECK(std::abs(server_time - unix_now()) <= 2);
  }
  SECTION("each deviation from a correct signature, refused with its code") {
    const auto other = new_key();
    auto signing = [](auto deviate) {
      AgentSigning s;
      deviate(s);
      return s;
    };
    const std::vector<std::tuple<std::string, AgentSigning, std::string>> cases{
        {"unsigned", signing([](AgentSigning& s) { s.omit_signature = true; }),
         "AuthFailure.InvalidAuthorization"},
        {"signed with another key", signing([&](AgentSigning& s) { s.key = &other; }),
         "AuthFailure.SignatureFailure"},
        {"a signature over another action",
         signing([](AgentSigning& s) { s.signed_action = "Heartbeat"; }),
         "AuthFailure.SignatureFailure"},
        {"a stale timestamp", signing([](AgentSigning& s) { s.timestamp = unix_now() - 400; }),
         "AuthFailure.SignatureExpire"},
        {"a future timestamp", signing([](AgentSigning& s) { s.timestamp = unix_now() + 400; }),
         "AuthFailure.SignatureExpire"},
        {"a malformed nonce", signing([](AgentSigning& s) { s.nonce = "short"; }),
         "AuthFailure.InvalidAuthorization"},
        {"an instance that never registered",
         signing([](AgentSigning& s) { s.instance_id = "rins-zzzzzzzz"; }),
         "AuthFailure.InstanceNotFound"},
        {"no protocol version", signing([](AgentSigning& s) { s.protocol = std::nullopt; }),
         "MissingParameter"},
        {"an unknown protocol version", signing([](AgentSigning& s) { s.protocol = "2"; }),
         "UnsupportedProtocolVersion"},
    };
    for (const auto& [what, deviation, code] : cases) {
      INFO(what);
      expect_agent_error(c.call("DescribeTasks", {}, deviation), code);
    }
  }
  SECTION("a replayed nonce") {
    AgentSigning s;
    s.nonce = new_agent_nonce();
    s.timestamp = unix_now();
    must(c.call("Heartbeat", {{"Version", "1"}}, s));
    expect_agent_error(c.call("Heartbeat", {{"Version", "1"}}, s), "AuthFailure.NonceReused");
    // The same nonce with a new timestamp is still a replay.
    s.timestamp = *s.timestamp + 1;
    expect_agent_error(c.call("Heartbeat", {{"Version", "1"}}, s), "AuthFailure.NonceReused");
  }
  SECTION("a deleted instance") {
    must(api.call("DeleteRegisterInstance", {{"InstanceId", agent.id()}}));
    expect_agent_error(c.call("DescribeTasks"), "AuthFailure.InstanceNotFound");
    expect_agent_error(c.call("Heartbeat", {{"Version", "1"}}), "AuthFailure.InstanceNotFound");
  }
  SECTION("unknown action and unknown field") {
    expect_agent_error(c.call("FetchSecrets"), "InvalidAction");
    expect_agent_error(c.call("DescribeTasks", {{"Bogus", 1}}), "UnknownParameter");
    expect_agent_error(c.call("ReportTaskStart", {{"InvocationTaskId", 5}}), "InvalidParameter");
    expect_agent_error(c.call("ReportTaskStart"), "MissingParameter");
  }
}

TEST_CASE("agent registration checks the code and the proof of possession",
          "[server][auth][agent]") {
  auto& server = shared_server();
  auto api = server.api();
  auto [id, value] = create_register_code(api, {{"RegisterLimit", 1}});

  SECTION("wrong value and unknown id get one answer") {
    AgentClient c(server.endpoint(), "", new_key());
    expect_agent_error(c.register_instance(id, value + "x"), "AuthFailure.RegisterCodeInvalid");
    expect_agent_error(c.register_instance("00000000-0000-4000-8000-000000000000", value),
                       "AuthFailure.RegisterCodeInvalid");
  }
  SECTION("signed with another key than the one registered") {
    AgentClient c(server.endpoint(), "", new_key());
    auto other = new_key();
    AgentSigning s;
    s.key = &other;
    expect_agent_error(c.register_instance(id, value, "Linux", "", s),
                       "AuthFailure.SignatureFailure");
  }
  SECTION("idempotent per key, limited per code") {
    AgentClient c(server.endpoint(), "", new_key());
    auto first = must(c.register_instance(id, value));
    auto again = must(c.register_instance(id, value));
    CHECK(first["InstanceId"] == again["InstanceId"]);
    CHECK(first["InstanceName"].get<std::string>().rfind("bb-", 0) == 0);
    AgentClient second(server.endpoint(), "", new_key());
    expect_agent_error(second.register_instance(id, value),
                       "OperationDenied.RegisterLimitExceeded");
  }
  SECTION("a disabled code") {
    must(api.call("DisableRegisterCodes", {{"RegisterCodeIds", {id}}}));
    AgentClient c(server.endpoint(), "", new_key());
    expect_agent_error(c.register_instance(id, value), "OperationDenied.RegisterCodeDisabled");
  }
  SECTION("an address outside IpAddressRange") {
    auto [rid, rvalue] = create_register_code(api, {{"IpAddressRange", "10.0.0.0/8"}});
    AgentClient c(server.endpoint(), "", new_key());
    expect_agent_error(c.register_instance(rid, rvalue), "OperationDenied.IpAddressOutOfRange");
  }
  SECTION("a malformed system name") {
    AgentClient c(server.endpoint(), "", new_key());
    expect_agent_error(c.register_instance(id, value, "Plan9"), "InvalidParameterValue");
  }
}

TEST_CASE("the API refuses bad signatures and bad envelopes", "[server][auth][api]") {
  auto& server = shared_server();
  auto api = server.api();

  SECTION("a good call") {
    auto r = must(api.call("DescribeRegions", nlohmann::json::object()));
    CHECK(r["RegionSet"].size() == 1);
  }
  SECTION("each deviation from a correct signature, refused with its code") {
    auto signing = [](auto deviate) {
      ApiSigning s;
      deviate(s);
      return s;
    };
    const std::vector<std::tuple<std::string, ApiSigning, std::string>> cases{
        {"signed with the wrong key", signing([](ApiSigning& s) { s.secret_key = "not-the-key"; }),
         "AuthFailure.SignatureFailure"},
        {"an unknown SecretId", signing([](ApiSigning& s) { s.secret_id = "AKIDunknown"; }),
         "AuthFailure.SecretIdNotFound"},
        {"an expired timestamp", signing([](ApiSigning& s) { s.timestamp = unix_now() - 3600; }),
         "AuthFailure.SignatureExpire"},
        {"a future timestamp", signing([](ApiSigning& s) { s.timestamp = unix_now() + 3600; }),
         "AuthFailure.SignatureExpire"},
        {"no Authorization header", signing([](ApiSigning& s) { s.omit_authorization = true; }),
         "AuthFailure.SignatureFailure"},
    };
    for (const auto& [what, deviation, code] : cases) {
      INFO(what);
      expect_error(api.call("DescribeRegions", nlohmann::json::object(), deviation), code);
    }
  }
  SECTION("an unknown action") {
    expect_error(api.call("DescribeEverything", nlohmann::json::object()), "InvalidAction");
  }
  SECTION("RunCommand and ModifyCommand need a region") {
    ApiSigning s;
    s.region = "";
    expect_error(api.call("RunCommand", {{"Content", b64("id")}, {"InstanceIds", {"rins-x"}}}, s),
                 "MissingParameter");
  }
  SECTION("parameters: missing, unknown, of the wrong type, not JSON") {
    expect_error(api.call("RunCommand", {{"InstanceIds", {"rins-zzzzzzzz"}}}), "MissingParameter");
    expect_error(api.call("DescribeRegions", {{"Bogus", true}}), "UnknownParameter");
    expect_error(api.call("DescribeCommands", {{"Limit", "10"}}), "InvalidParameter");
    expect_error(api.call("RunCommand", {{"Content", b64("id")}, {"InstanceIds", "rins-zzzzzzzz"}}),
                 "InvalidParameter");
    expect_error(api.call_raw("DescribeRegions", "{not json"), "InvalidParameter");
    expect_error(api.call_raw("DescribeRegions", "[1,2]"), "InvalidParameter");
  }
  SECTION("other paths and methods") {
    auto get = api.raw("GET", "/");
    CHECK(get.status == 200);
    auto j = nlohmann::json::parse(get.body);
    CHECK(j["Response"]["Error"]["Code"] == "UnsupportedProtocol");
    CHECK(is_uuid(j["Response"]["RequestId"].get<std::string>()));
    auto missing = api.raw("GET", "/nowhere");
    CHECK(missing.status == 404);
    auto m = nlohmann::json::parse(missing.body);
    CHECK(m["Response"]["Error"]["Code"] == "ResourceNotFound");
    CHECK(is_uuid(m["Response"]["RequestId"].get<std::string>()));
  }
}

TEST_CASE("every region is served unless a list of regions is configured", "[server][auth][api]") {
  ApiSigning elsewhere;
  elsewhere.region = "eu-frankfurt";
  SECTION("by default: any region id, DescribeRegions names the request's") {
    // The black-box suites' configuration lists one region; [] is the default, no list.
    ServerProcess server(FERRY_SERVER_BIN, {{"regions", nlohmann::json::array()}});
    auto api = server.api();
    auto r = must(api.call("DescribeRegions", nlohmann::json::object(), elsewhere));
    REQUIRE(r["RegionSet"].size() == 1);
    CHECK(r["RegionSet"][0]["Region"] == "eu-frankfurt");
    CHECK(r["RegionSet"][0]["RegionState"] == "AVAILABLE");
    must(api.call("DescribeCommands", nlohmann::json::object(), elsewhere));
  }
  SECTION("a configured list: the others are UnsupportedRegion, on every action") {
    ServerProcess server(
        FERRY_SERVER_BIN,
        {{"regions",
          {"ap-guangzhou", {{"Region", "ap-shanghai"}, {"RegionName", "East China(Shanghai)"}}}}});
    auto api = server.api();
    expect_error(api.call("DescribeRegions", nlohmann::json::object(), elsewhere),
                 "UnsupportedRegion");
    expect_error(api.call("DescribeCommands", nlohmann::json::object(), elsewhere),
                 "UnsupportedRegion");
    auto r = must(api.call("DescribeRegions", nlohmann::json::object()));
    REQUIRE(r["RegionSet"].size() == 2);
    CHECK(r["RegionSet"][1]["RegionName"] == "East China(Shanghai)");
  }
}

TEST_CASE("the API limits the request rate per action", "[server][auth][api]") {
  ServerProcess server(FERRY_SERVER_BIN, {{"rate_limit", 1}, {"rate_burst", 2}});
  auto api = server.api();
  int limited = 0;
  int passed = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = api.call("DescribeRegions", nlohmann::json::object());
    CHECK(is_uuid(r.request_id()));
    if (r.error_code() == "RequestLimitExceeded") {
      ++limited;
    } else {
      must(r);
      ++passed;
    }
  }
  CHECK(passed >= 2);
  CHECK(limited >= 3);
  // Counted per action: another one still passes.
  must(api.call("DescribeQuotas", {{"ResourceNames", {"COMMAND"}}}));
}

TEST_CASE("the API key pair from --secret-id and --secret-key-file", "[server][auth][api]") {
  TempDir dir("ferry-secret-key-file", 0700);
  const auto key_file = dir / "secret-key";
  write_file(key_file, std::string(kTestSecretKey) + "\n");
  {
    ServerProcess server(FERRY_SERVER_BIN, {{"credentials", nlohmann::json::array()}},
                         {"--secret-id", kTestSecretId, "--secret-key-file", key_file.string()});
    CHECK(server.api().call("DescribeRegions", nlohmann::json::object()).ok());
    CHECK(server.stderr_text().find("visible to every local user") == std::string::npos);
  }
  // A file that cannot be read stops the server at start (exit code 2), naming the file only.
  LaunchOptions o;
  o.argv = {FERRY_SERVER_BIN, "--data-dir",        (dir / "data").string(),
            "--listen",       "127.0.0.1:0",       "--secret-id",
            kTestSecretId,    "--secret-key-file", (dir / "nope").string()};
  o.out_file = dir / "refused.out";
  o.err_file = dir / "refused.err";
  const auto refused = run_process(o, std::chrono::seconds(30));
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("nope: cannot be read (the API SecretKey)") != std::string::npos);
  // --secret-key on the command line works, with a warning.
  ServerProcess flagged(FERRY_SERVER_BIN, {{"credentials", nlohmann::json::array()}},
                        {"--secret-id", kTestSecretId, "--secret-key", kTestSecretKey});
  CHECK(flagged.api().call("DescribeRegions", nlohmann::json::object()).ok());
  CHECK(flagged.stderr_text().find("--secret-key is visible to every local user") !=
        std::string::npos);
}
