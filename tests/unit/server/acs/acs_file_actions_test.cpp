// SendFile and DescribeSendFileResults through the action registry: the request's rules, the
// stored delivery, the SDK's model of the listing, and the separation from command invocations.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/server/acs/acs_actions.hpp"
#include "server_fixture.hpp"

namespace ferry::test {
namespace {

using namespace ferry::server;
using FileArgs = std::map<std::string, std::string>;

class SendFileFixture : public ServerFixture {
 public:
  SendFileFixture() {
    register_acs_actions(actions, ctx);
    add_instance({"rins-aaaaaaa1"});
    add_instance({"rins-aaaaaaa2"});
  }

  Expected<nlohmann::json> send(const std::string& action, const FileArgs& args) {
    const AcsActionSpec* spec = actions.find(action);
    REQUIRE(spec != nullptr);
    AcsParams params(AcsParams::Map(args.begin(), args.end()));
    return spec->handler(ApiCall{action, "LTAItest", "cn-hangzhou", "req-1"}, params);
  }

  nlohmann::json sent_ok(const std::string& action, const FileArgs& args) {
    auto r = send(action, args);
    if (!r) {
      FAIL_CHECK(action << " failed: " << r.error().code << ": " << r.error().message);
      return nlohmann::json::object();
    }
    CHECK_FALSE(r->contains("Code"));
    return *r;
  }

  std::string refusal(FileArgs args) {
    args.merge(base_args());
    auto r = send("SendFile", args);
    if (r) {
      FAIL_CHECK("SendFile succeeded: " << r->dump());
      return "";
    }
    return r.error().code + " " + r.error().message;
  }

  static FileArgs base_args() {
    return {{"Name", "app.conf"},
            {"Content", "key=value\n"},
            {"TargetDir", "/etc/app"},
            {"InstanceId.1", "rins-aaaaaaa1"}};
  }

  std::string send_file(FileArgs more = {}) {
    more.merge(base_args());
    return sent_ok("SendFile", more)["InvokeId"];
  }

  AcsActionRegistry actions;
};

TEST_CASE_METHOD(SendFileFixture, "SendFile stores a delivery whose tasks carry the file") {
  const std::string id = send_file({{"FileMode", "0755"},
                                    {"FileOwner", "www-data"},
                                    {"FileGroup", "adm"},
                                    {"Overwrite", "true"},
                                    {"Timeout", "5"},
                                    {"Description", "config"},
                                    {"InstanceId.2", "rins-aaaaaaa2"}});
  const auto tasks = tasks_of(id);
  REQUIRE(tasks.size() == 2);
  const InvocationTask& t = tasks[0];
  CHECK(t.document.content == base64_encode("key=value\n"));
  CHECK(t.document.file.name == "app.conf");
  CHECK(t.document.file.target_dir == "/etc/app");
  CHECK(t.document.file.mode == "0755");
  CHECK(t.document.file.owner == "www-data");
  CHECK(t.document.file.group == "adm");
  CHECK(t.document.file.overwrite);
  CHECK(t.document.timeout == 10);  // raised to Cloud Assistant's minimum

  SECTION("defaults: 0644, root:root, no overwrite, 60 s; Base64 content kept as sent") {
    const std::string other = send_file({{"Content", base64_encode(std::string("\0\1", 2))},
                                         {"ContentType", "Base64"},
                                         {"Name", "bin"}});
    const auto d = tasks_of(other).at(0).document;
    CHECK(d.file.mode == "0644");
    CHECK(d.file.owner == "root");
    CHECK(d.file.group == "root");
    CHECK_FALSE(d.file.overwrite);
    CHECK(d.timeout == 60);
    CHECK(d.content == base64_encode(std::string("\0\1", 2)));
  }
  SECTION("DescribeSendFileResults speaks the SDK's model") {
    set_task_status(tasks[0].invocation_task_id, TaskStatus::kSuccess);
    auto r = sent_ok("DescribeSendFileResults", {{"InvokeId", id}});
    CHECK(r["TotalCount"] == 1);
    CHECK(r["PageNumber"] == 1);
    CHECK(r["NextToken"] == "");
    const auto& inv = r["Invocations"]["Invocation"][0];
    CHECK(inv["InvokeId"] == id);
    CHECK(inv["Name"] == "app.conf");
    CHECK(inv["Description"] == "config");
    CHECK(inv["Content"] == base64_encode("key=value\n"));
    CHECK(inv["ContentType"] == "Base64");
    CHECK(inv["TargetDir"] == "/etc/app");
    CHECK(inv["FileMode"] == "0755");
    CHECK(inv["FileOwner"] == "www-data");
    CHECK(inv["FileGroup"] == "adm");
    CHECK(inv["Overwrite"] == "true");
    CHECK(inv["VmCount"] == 2);
    CHECK(inv["InvocationStatus"] == "Pending");  // one instance still Pending
    CHECK(inv["CreationTime"] == "2024-05-01T00:00:00Z");
    const auto& instances = inv["InvokeInstances"]["InvokeInstance"];
    REQUIRE(instances.size() == 2);
    CHECK(instances[0]["InstanceId"] == "rins-aaaaaaa1");
    CHECK(instances[0]["InvocationStatus"] == "Success");
    CHECK(instances[0]["ErrorCode"] == "");
    CHECK(instances[1]["InvocationStatus"] == "Pending");
    for (const char* key : {"ErrorInfo", "StartTime", "FinishTime", "UpdateTime", "CreationTime"}) {
      CHECK(instances[0].contains(key));
    }
  }
  SECTION("a refused delivery's ErrorCode comes from the agent's reason") {
    set_task_status(tasks[0].invocation_task_id, TaskStatus::kFailed);
    set_task_status(tasks[1].invocation_task_id, TaskStatus::kFailed);
    REQUIRE(store->modify_task(tasks[0].invocation_task_id, [](InvocationTask& x) {
      x.error_info = "FileAlreadyExists: /etc/app/app.conf already exists and Overwrite is false";
      return true;
    }));
    auto r = sent_ok("DescribeSendFileResults", {{"InvokeId", id}});
    const auto& inv = r["Invocations"]["Invocation"][0];
    CHECK(inv["InvocationStatus"] == "Failed");
    CHECK(inv["InvokeInstances"]["InvokeInstance"][0]["ErrorCode"] == "FileAlreadyExists");
    CHECK(inv["InvokeInstances"]["InvokeInstance"][1]["ErrorCode"] == "ExecutionException");
    CHECK(sent_ok("DescribeSendFileResults", {{"InvocationStatus", "Failed"}})["TotalCount"] == 1);
    CHECK(sent_ok("DescribeSendFileResults", {{"InvocationStatus", "Success"}})["TotalCount"] == 0);
  }
}

TEST_CASE_METHOD(SendFileFixture, "deliveries and command invocations are listed apart") {
  const std::string file_id = send_file();
  auto run = sent_ok("RunCommand", {{"Type", "RunShellScript"},
                                    {"CommandContent", "echo hi"},
                                    {"InstanceId.1", "rins-aaaaaaa1"}});
  const std::string run_id = run["InvokeId"];
  auto invocations = sent_ok("DescribeInvocations", {});
  CHECK(invocations["TotalCount"] == 1);
  CHECK(invocations["Invocations"]["Invocation"][0]["InvokeId"] == run_id);
  auto results = sent_ok("DescribeInvocationResults", {{"InstanceId", "rins-aaaaaaa1"}});
  CHECK(results["Invocation"]["TotalCount"] == 1);
  auto files = sent_ok("DescribeSendFileResults", {{"InstanceId", "rins-aaaaaaa1"}});
  CHECK(files["TotalCount"] == 1);
  CHECK(files["Invocations"]["Invocation"][0]["InvokeId"] == file_id);
  CHECK(sent_ok("DescribeSendFileResults", {{"InvokeId", run_id}})["TotalCount"] == 0);

  send_file({{"Name", "other.conf"}});
  CHECK(sent_ok("DescribeSendFileResults", {})["TotalCount"] == 2);
  auto named = sent_ok("DescribeSendFileResults", {{"Name", "other.conf"}});
  CHECK(named["TotalCount"] == 1);
  CHECK(named["Invocations"]["Invocation"][0]["Name"] == "other.conf");
  auto paged = sent_ok("DescribeSendFileResults", {{"MaxResults", "1"}});
  CHECK(paged["Invocations"]["Invocation"].size() == 1);
  CHECK(paged["NextToken"] != "");
}

TEST_CASE_METHOD(SendFileFixture, "DescribeSendFileResults pages what it filters exactly") {
  // Newest first: a3 b2 a2 b1 a1.
  std::vector<std::string> a;
  std::vector<std::string> b;
  for (int i = 1; i <= 3; ++i) {
    if (i > 1) {
      clock.advance_ms(1000);
      b.push_back(send_file({{"Name", "b.conf"}}));
    }
    clock.advance_ms(1000);
    a.push_back(send_file({{"Name", "a.conf"}}));
  }
  const auto ids = [](const nlohmann::json& r) {
    std::vector<std::string> out;
    for (const auto& inv : r["Invocations"]["Invocation"]) {
      out.push_back(inv["InvokeId"]);
    }
    return out;
  };
  auto first = sent_ok("DescribeSendFileResults", {{"Name", "a.conf"}, {"MaxResults", "2"}});
  CHECK(first["TotalCount"] == 3);
  CHECK(ids(first) == std::vector<std::string>{a[2], a[1]});
  CHECK(first["NextToken"] == "2");
  auto second = sent_ok("DescribeSendFileResults",
                        {{"Name", "a.conf"}, {"MaxResults", "2"}, {"NextToken", "2"}});
  CHECK(second["TotalCount"] == 3);
  CHECK(ids(second) == std::vector<std::string>{a[0]});
  CHECK(second["NextToken"] == "");
  auto page2 = sent_ok("DescribeSendFileResults",
                       {{"Name", "a.conf"}, {"PageSize", "2"}, {"PageNumber", "2"}});
  CHECK(page2["PageNumber"] == 2);
  CHECK(ids(page2) == std::vector<std::string>{a[0]});
  auto past = sent_ok("DescribeSendFileResults",
                      {{"Name", "a.conf"}, {"PageSize", "2"}, {"PageNumber", "3"}});
  CHECK(past["TotalCount"] == 3);
  CHECK(ids(past).empty());

  // The status filter pages the same way: a3 and a1 succeed.
  set_task_status(tasks_of(a[2]).at(0).invocation_task_id, TaskStatus::kSuccess);
  set_task_status(tasks_of(a[0]).at(0).invocation_task_id, TaskStatus::kSuccess);
  auto done = sent_ok("DescribeSendFileResults",
                      {{"InvocationStatus", "Success"}, {"PageSize", "1"}, {"PageNumber", "2"}});
  CHECK(done["TotalCount"] == 2);
  CHECK(ids(done) == std::vector<std::string>{a[0]});
  // Unfiltered, the store cuts the page.
  auto plain = sent_ok("DescribeSendFileResults", {{"MaxResults", "2"}, {"NextToken", "3"}});
  CHECK(plain["TotalCount"] == 5);
  CHECK(ids(plain) == std::vector<std::string>{b[0], a[0]});
}

TEST_CASE_METHOD(SendFileFixture, "a delivery is no command invocation to stop or modify") {
  const std::string id = send_file();
  const auto code_of = [&](const std::string& action, const FileArgs& args) {
    auto r = send(action, args);
    if (r) {
      FAIL_CHECK(action << " succeeded: " << r->dump());
      return std::string();
    }
    return r.error().code;
  };
  CHECK(code_of("StopInvocation", {{"InvokeId", id}}) == "InvalidInvokeId.NotFound");
  CHECK(code_of("StopInvocation", {{"InvokeId", id}, {"InstanceId.1", "rins-aaaaaaa1"}}) ==
        "InvalidInvokeId.NotFound");
  CHECK(code_of("ModifyInvocationAttribute", {{"InvokeId", id}, {"Frequency", "rate(5m)"}}) ==
        "InvalidInvokeId.NotFound");
  CHECK(code_of("ModifyInvocationAttribute", {{"InvokeId", id}, {"CommandContent", "echo"}}) ==
        "InvalidInvokeId.NotFound");
  // Untouched: still on its way, nothing cancelled.
  CHECK(tasks_of(id).at(0).status == TaskStatus::kPending);
  CHECK(notifier.cancels().empty());
  // A command invocation is still found and stopped.
  const std::string run_id = sent_ok("RunCommand", {{"Type", "RunShellScript"},
                                                    {"CommandContent", "echo hi"},
                                                    {"InstanceId.1", "rins-aaaaaaa1"}})["InvokeId"];
  sent_ok("StopInvocation", {{"InvokeId", run_id}});
  CHECK(tasks_of(run_id).at(0).status == TaskStatus::kCancelled);
  CHECK(code_of("StopInvocation", {{"InvokeId", "inv-00000000"}}) == "InvalidInvokeId.NotFound");
}

TEST_CASE_METHOD(SendFileFixture, "a delivery's tags: stored, shown and filtered on") {
  const std::string ops = send_file(
      {{"Tag.1.Key", "team"}, {"Tag.1.Value", "ops"}, {"Tag.2.Key", "env"}, {"Tag.2.Value", ""}});
  clock.advance_ms(1000);
  const std::string dev = send_file({{"Tag.1.Key", "team"}, {"Tag.1.Value", "dev"}});
  clock.advance_ms(1000);
  const std::string none = send_file();

  auto shown = sent_ok("DescribeSendFileResults", {{"InvokeId", ops}});
  REQUIRE(shown["Invocations"]["Invocation"].size() == 1);
  CHECK(
      shown["Invocations"]["Invocation"][0]["Tags"] ==
      nlohmann::json::parse(
          R"({"Tag": [{"TagKey": "team", "TagValue": "ops"}, {"TagKey": "env", "TagValue": ""}]})"));
  auto untagged = sent_ok("DescribeSendFileResults", {{"InvokeId", none}});
  CHECK(untagged["Invocations"]["Invocation"][0]["Tags"] ==
        nlohmann::json::parse(R"({"Tag": []})"));

  const auto ids = [&](const FileArgs& filter) {
    auto r = sent_ok("DescribeSendFileResults", filter);
    std::vector<std::string> out;
    for (const auto& inv : r["Invocations"]["Invocation"]) {
      out.push_back(inv["InvokeId"]);
    }
    CHECK(r["TotalCount"] == out.size());
    return out;
  };
  CHECK(ids({}) == std::vector<std::string>{none, dev, ops});
  CHECK(ids({{"Tag.1.Key", "team"}, {"Tag.1.Value", "ops"}}) == std::vector<std::string>{ops});
  CHECK(ids({{"Tag.1.Key", "team"}, {"Tag.1.Value", "dev"}}) == std::vector<std::string>{dev});
  // Every tag must match.
  CHECK(ids({{"Tag.1.Key", "team"}, {"Tag.1.Value", "ops"}, {"Tag.2.Key", "env"}}) ==
        std::vector<std::string>{ops});
  CHECK(ids({{"Tag.1.Key", "team"}, {"Tag.1.Value", "dev"}, {"Tag.2.Key", "env"}}).empty());
  CHECK(ids({{"Tag.1.Key", "team"}, {"Tag.1.Value", "qa"}}).empty());
  // With the filters the store cannot apply, and paged.
  CHECK(ids({{"Tag.1.Key", "team"},
             {"Tag.1.Value", "dev"},
             {"Name", "app.conf"},
             {"InvocationStatus", "Pending"}}) == std::vector<std::string>{dev});
  auto first = sent_ok("DescribeSendFileResults",
                       {{"Tag.1.Key", "team"}, {"Tag.1.Value", "ops"}, {"MaxResults", "1"}});
  CHECK(first["TotalCount"] == 1);
  CHECK(first["NextToken"] == "");
  // Filtering by a bad tag is refused as on SendFile.
  auto bad = send("DescribeSendFileResults", {{"Tag.1.Key", "acs:x"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == "InvalidTagKey.Malformed");
}

TEST_CASE_METHOD(SendFileFixture, "SendFile's ClientToken: one delivery per token and parameters") {
  FileArgs args = base_args();
  args["ClientToken"] = "123e4567-e89b-12d3-a456-426655440000";
  args["Tag.1.Key"] = "team";
  args["Tag.1.Value"] = "ops";
  auto first = sent_ok("SendFile", args);
  auto again = sent_ok("SendFile", args);
  CHECK(again == first);
  CHECK(sent_ok("DescribeSendFileResults", {})["TotalCount"] == 1);
  // Any other parameter, a tag included, is a mismatch.
  for (const auto& [name, value] :
       FileArgs{{"Content", "other"}, {"Tag.1.Value", "dev"}, {"InstanceId.1", "rins-aaaaaaa2"}}) {
    FileArgs other = args;
    other[name] = value;
    auto r = send("SendFile", other);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "IdempotentParameterMismatch");
  }
  CHECK(sent_ok("DescribeSendFileResults", {})["TotalCount"] == 1);
  // A RunCommand with the same token is another request, not the delivery's reply.
  auto run = send("RunCommand", {{"Type", "RunShellScript"},
                                 {"CommandContent", "echo"},
                                 {"InstanceId.1", "rins-aaaaaaa1"},
                                 {"ClientToken", args["ClientToken"]}});
  REQUIRE_FALSE(run);
  CHECK(run.error().code == "IdempotentParameterMismatch");
  // Another token is another delivery; a failed one frees its token.
  args["ClientToken"] = "t-2";
  args["InstanceId.1"] = "rins-00000000";
  auto failed = send("SendFile", args);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == "InvalidInstance.NotFound");
  args["InstanceId.1"] = "rins-aaaaaaa2";
  const std::string second = sent_ok("SendFile", args)["InvokeId"];
  CHECK(second != first["InvokeId"]);
  CHECK(sent_ok("DescribeSendFileResults", {})["TotalCount"] == 2);
}

TEST_CASE_METHOD(SendFileFixture, "SendFile refuses bad input, naming the parameter") {
  CHECK(refusal({{"Name", "a/b"}}).find("InvalidParameter The parameter Name") == 0);
  CHECK(refusal({{"Name", ".."}}).find("Name") != std::string::npos);
  CHECK(refusal({{"Name", std::string(256, 'n')}}).find("Name") != std::string::npos);
  CHECK(refusal({{"TargetDir", "relative"}}).find("TargetDir") != std::string::npos);
  CHECK(refusal({{"FileMode", "rwx"}}).find("FileMode") != std::string::npos);
  CHECK(refusal({{"FileOwner", "no body"}}).find("FileOwner") != std::string::npos);
  CHECK(refusal({{"FileGroup", std::string(65, 'g')}}).find("FileGroup") != std::string::npos);
  CHECK(refusal({{"ContentType", "Hex"}}).find("ContentType") != std::string::npos);
  CHECK(refusal({{"ContentType", "Base64"}, {"Content", "not base64!"}}).find("Content") !=
        std::string::npos);
  CHECK(refusal({{"Content", std::string(24 * 1024 + 1, 'x')}}).find("32 KB") != std::string::npos);
  CHECK(refusal({{"Timeout", "0"}}).find("Timeout") != std::string::npos);
  CHECK(refusal({{"Description", std::string(513, 'd')}}).find("Description") != std::string::npos);
  // Tag.N by RunCommand's rules and codes.
  CHECK(
      refusal({{"Tag.1.Key", "aliyun-x"}, {"Tag.1.Value", "v"}}).find("InvalidTagKey.Malformed") ==
      0);
  CHECK(refusal({{"Tag.1.Value", "v"}}).find("MissingParameter.TagKey") == 0);
  CHECK(refusal({{"Tag.1.Key", "k"}, {"Tag.1.Value", "http://x"}})
            .find("InvalidTagValue.Malformed") == 0);
  CHECK(refusal({{"Tag.1.Key", "k"}, {"Tag.2.Key", "k"}}).find("Duplicate.TagKey") == 0);
  FileArgs many;
  for (int i = 1; i <= 21; ++i) {
    many["Tag." + std::to_string(i) + ".Key"] = "k" + std::to_string(i);
  }
  CHECK(refusal(many).find("NumberExceed.Tags") == 0);
  CHECK(refusal({{"ClientToken", std::string(65, 't')}}).find("InvalidClientToken.Malformed") == 0);
  CHECK(refusal({{"InstanceId.1", "rins-unknown1"}}).find("InvalidInstance.NotFound") == 0);

  FileArgs missing = base_args();
  missing.erase("TargetDir");
  auto r = send("SendFile", missing);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "MissingParameter");
  FileArgs no_target = base_args();
  no_target.erase("InstanceId.1");
  r = send("SendFile", no_target);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "MissingParam.InstanceId");
  CHECK(tasks_of("").empty());
}

}  // namespace
}  // namespace ferry::test
