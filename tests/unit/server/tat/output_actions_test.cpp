// DescribeInvocationTaskOutput through its registry, over a real store and a real output store:
// which source answers, paging, and the refusals.
#include "ferry/server/tat/output_actions.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "action_test_support.hpp"
#include "ferry/core/base64.hpp"

using namespace ferry;
using namespace ferry::server;
using namespace ferry::test;
using nlohmann::json;

namespace {

// One task on one instance, an output store, and a download link maker the test controls.
struct OutputFixture : ActionFixture {
  explicit OutputFixture(bool with_store = true) {
    if (with_store) {
      auto opened = OutputStore::open({outputs_dir.path() / "outputs", 1 << 20, 7}, clock);
      REQUIRE(opened);
      outputs = std::move(*opened);
    }
    register_output_actions(
        actions, ctx, {outputs.get(), [this](const InvocationTask& t) { return make_link(t); }});
    add_instance({.id = "rins-aaaaaaa1"});
    auto r = ok("RunCommand", {{"Content", b64("echo hi")}, {"InstanceIds", {"rins-aaaaaaa1"}}});
    task_id = tasks_of(r["InvocationId"].get<std::string>()).at(0).invocation_task_id;
  }

  Expected<DownloadLink> make_link(const InvocationTask& t) {
    linked.push_back(t.invocation_task_id);
    if (link) {
      return *link;
    }
    return link_error;
  }

  // The task ended `status` with this excerpt and these bucket fields.
  void finish(TaskStatus status, const std::string& excerpt, std::uint64_t dropped,
              const std::string& output_url = "", const std::string& upload_error = "",
              const std::string& bucket = "") {
    auto r = store->modify_task(task_id, [&](InvocationTask& t) {
      t.status = status;
      t.output = base64_encode(excerpt);
      t.dropped = dropped;
      t.output_url = output_url;
      t.output_upload_error = upload_error;
      t.document.output_cos_bucket_url = bucket;
      return true;
    });
    REQUIRE(r);
  }

  json describe(json body = json::object()) {
    body["InvocationTaskId"] = task_id;
    auto r = ok("DescribeInvocationTaskOutput", body);
    CHECK(r["InvocationTaskId"] == task_id);
    return r;
  }

  TempDir outputs_dir{"ferry-output-actions"};
  std::unique_ptr<OutputStore> outputs;
  std::string task_id;
  std::optional<DownloadLink> link;
  Error link_error{"", "no bucket credentials for this bucket"};
  std::vector<std::string> linked;
};

std::string unbase64(const json& v) {
  auto d = base64_decode(v.get<std::string>());
  REQUIRE(d);
  return *d;
}

}  // namespace

TEST_CASE("DescribeInvocationTaskOutput: RESULT when the excerpt is the whole output, paged",
          "[actions][outputs]") {
  OutputFixture f;
  f.finish(TaskStatus::kSuccess, "hello\n", 0);
  auto r = f.describe();
  CHECK(r["Source"] == "RESULT");
  CHECK(r["TaskStatus"] == "SUCCESS");
  CHECK(r["Size"] == 6);
  CHECK(r["Offset"] == 0);
  CHECK(unbase64(r["Output"]) == "hello\n");
  CHECK(r["HasMore"] == false);
  CHECK(r["Reason"] == "");
  CHECK(r["OutputUrl"] == "");
  CHECK(r["DownloadUrl"] == "");
  CHECK(r["ExpiresIn"] == 0);

  auto page = f.describe({{"Offset", 2}, {"Limit", 2}});
  CHECK(unbase64(page["Output"]) == "ll");
  CHECK(page["Offset"] == 2);
  CHECK(page["HasMore"] == true);
  auto last = f.describe({{"Offset", 4}, {"Limit", 2}});
  CHECK(unbase64(last["Output"]) == "o\n");
  CHECK(last["HasMore"] == false);
  auto past = f.describe({{"Offset", 100}});
  CHECK(unbase64(past["Output"]).empty());
  CHECK(past["HasMore"] == false);
  CHECK(f.linked.empty());
}

TEST_CASE("DescribeInvocationTaskOutput: SERVER when the output store holds it complete",
          "[actions][outputs]") {
  OutputFixture f;
  std::string whole;
  for (int i = 0; i < 100; ++i) {
    whole += std::to_string(i) + "\n";
  }
  const std::string excerpt = whole.substr(0, 10) + whole.substr(whole.size() - 10);
  f.finish(TaskStatus::kFailed, excerpt, whole.size() - 20);

  SECTION("held complete") {
    REQUIRE(f.outputs->write(f.task_id, 0, whole.substr(0, 100), false));
    // Not complete yet: only the excerpt is known.
    auto partial = f.describe();
    CHECK(partial["Source"] == "EXCERPT");
    REQUIRE(f.outputs->write(f.task_id, 100, whole.substr(100), true));
    auto r = f.describe();
    CHECK(r["Source"] == "SERVER");
    CHECK(r["TaskStatus"] == "FAILED");
    CHECK(r["Size"] == whole.size());
    CHECK(unbase64(r["Output"]) == whole);
    CHECK(r["HasMore"] == false);
    CHECK(r["Reason"] == "");
    // Paged: every byte once.
    std::string read;
    std::int64_t offset = 0;
    for (int i = 0; i < 100; ++i) {
      auto page = f.describe({{"Offset", offset}, {"Limit", 64}});
      CHECK(page["Source"] == "SERVER");
      read += unbase64(page["Output"]);
      offset = static_cast<std::int64_t>(read.size());
      if (page["HasMore"] == false) {
        break;
      }
    }
    CHECK(read == whole);
  }
  SECTION("complete before the finish report: SERVER while the task still runs") {
    REQUIRE(f.store->modify_task(f.task_id, [](InvocationTask& t) {
      t.status = TaskStatus::kRunning;
      t.output.clear();
      return true;
    }));
    REQUIRE(f.outputs->write(f.task_id, 0, whole, true));
    auto r = f.describe();
    CHECK(r["Source"] == "SERVER");
    CHECK(r["TaskStatus"] == "RUNNING");
  }
  SECTION("not held: the excerpt, and why") {
    auto r = f.describe();
    CHECK(r["Source"] == "EXCERPT");
    CHECK(unbase64(r["Output"]) == excerpt);
    CHECK(r["Size"] == whole.size());
    CHECK(r["HasMore"] == false);
    CHECK(r["Reason"] ==
          "the server's output store does not hold it (disabled, over its cap, or past "
          "retention)");
  }
}

TEST_CASE("DescribeInvocationTaskOutput: COS when the output went to the bucket",
          "[actions][outputs]") {
  OutputFixture f;
  const std::string url = "https://bucket-1.cos.ap-guangzhou.myqcloud.com/out/inv/invt.log";
  f.finish(TaskStatus::kSuccess, "head...tail", 1000, url, "", "https://bucket-1.cos.example");
  // Even when the output store holds something for the task.
  REQUIRE(f.outputs->write(f.task_id, 0, "stale", true));

  SECTION("with a download link") {
    f.link = DownloadLink{"https://bucket-1.example/out?X-Amz-Signature=abc", 600};
    auto r = f.describe();
    CHECK(r["Source"] == "COS");
    CHECK(r["OutputUrl"] == url);
    CHECK(r["DownloadUrl"] == f.link->url);
    CHECK(r["ExpiresIn"] == 600);
    CHECK(r["Size"] == 11 + 1000);
    CHECK(r["Output"] == "");
    CHECK(r["HasMore"] == false);
    CHECK(r["Reason"] == "");
    CHECK(f.linked == std::vector<std::string>{f.task_id});
  }
  SECTION("the link cannot be made: the reason says why") {
    auto r = f.describe();
    CHECK(r["Source"] == "COS");
    CHECK(r["DownloadUrl"] == "");
    CHECK(r["ExpiresIn"] == 0);
    CHECK(r["Reason"] == "no bucket credentials for this bucket");
  }
}

TEST_CASE("DescribeInvocationTaskOutput: COS without a link maker leaves DownloadUrl empty",
          "[actions][outputs]") {
  ActionFixture f;
  register_output_actions(f.actions, f.ctx, {});
  f.add_instance({.id = "rins-aaaaaaa1"});
  auto run = f.ok("RunCommand", {{"Content", b64("echo hi")}, {"InstanceIds", {"rins-aaaaaaa1"}}});
  const auto id = f.tasks_of(run["InvocationId"].get<std::string>()).at(0).invocation_task_id;
  REQUIRE(f.store->modify_task(id, [](InvocationTask& t) {
    t.status = TaskStatus::kSuccess;
    t.output_url = "https://bucket.example/x.log";
    return true;
  }));
  auto r = f.ok("DescribeInvocationTaskOutput", {{"InvocationTaskId", id}});
  CHECK(r["Source"] == "COS");
  CHECK(r["DownloadUrl"] == "");
  CHECK(r["ExpiresIn"] == 0);
  CHECK(r["Reason"] == "");
}

TEST_CASE("DescribeInvocationTaskOutput: EXCERPT and its reasons", "[actions][outputs]") {
  OutputFixture f;
  SECTION("not finished: what the agent streamed so far, size unknown") {
    auto pending = f.describe();
    CHECK(pending["Source"] == "EXCERPT");
    CHECK(pending["TaskStatus"] == "PENDING");
    CHECK(pending["Size"] == -1);
    CHECK(pending["Output"] == "");
    CHECK(pending["Reason"] == "the task has not finished");
    f.set_task_status(f.task_id, TaskStatus::kRunning);
    REQUIRE(f.store->put_task_log(f.task_id, 0, "live "));
    REQUIRE(f.store->put_task_log(f.task_id, 1, "bytes"));
    auto running = f.describe();
    CHECK(running["Source"] == "EXCERPT");
    CHECK(unbase64(running["Output"]) == "live bytes");
    CHECK(running["Size"] == -1);
  }
  SECTION("timed out by the server: no report, the live output") {
    f.set_task_status(f.task_id, TaskStatus::kRunning);
    REQUIRE(f.store->put_task_log(f.task_id, 0, "partial"));
    f.set_task_status(f.task_id, TaskStatus::kTaskTimeout);
    auto r = f.describe();
    CHECK(r["Source"] == "EXCERPT");
    CHECK(unbase64(r["Output"]) == "partial");
    CHECK(r["Size"] == -1);
    CHECK(r["Reason"] == "the server timed the task out before its agent reported its output");
  }
  SECTION("the upload to the bucket failed") {
    f.finish(TaskStatus::kSuccess, "excerpt", 500, "", "AccessDenied: the key is not allowed",
             "https://bucket.example");
    auto r = f.describe();
    CHECK(r["Source"] == "EXCERPT");
    CHECK(r["Size"] == 507);
    CHECK(r["Reason"] == "the upload to the bucket failed: AccessDenied: the key is not allowed");
  }
  SECTION("a bucket was named and nothing uploaded") {
    f.finish(TaskStatus::kSuccess, "excerpt", 500, "", "", "https://bucket.example");
    CHECK(f.describe()["Reason"] == "the agent did not upload the output to the bucket");
  }
  SECTION("a bucket was named, but the excerpt is all of it") {
    f.finish(TaskStatus::kSuccess, "all", 0, "", "", "https://bucket.example");
    CHECK(f.describe()["Source"] == "RESULT");
  }
}

TEST_CASE("DescribeInvocationTaskOutput without an output store", "[actions][outputs]") {
  OutputFixture f(false);
  f.finish(TaskStatus::kSuccess, "short", 0);
  CHECK(f.describe()["Source"] == "RESULT");
  f.finish(TaskStatus::kSuccess, "head tail", 10);
  auto r = f.describe();
  CHECK(r["Source"] == "EXCERPT");
  CHECK(r["Reason"].get<std::string>().starts_with("the server's output store does not hold it"));
}

TEST_CASE("DescribeInvocationTaskOutput refusals", "[actions][outputs]") {
  OutputFixture f;
  const auto code = [&](json body) { return f.code("DescribeInvocationTaskOutput", body); };
  CHECK(code(json::object()) == "MissingParameter");
  CHECK(code({{"InvocationTaskId", "task-1"}}) == "InvalidParameterValue.InvalidInvocationTaskId");
  CHECK(code({{"InvocationTaskId", "invt-00000000"}}) == "ResourceNotFound.InvocationTaskNotFound");
  CHECK(code({{"InvocationTaskId", f.task_id}, {"Offset", -1}}) == "InvalidParameterValue.Range");
  CHECK(code({{"InvocationTaskId", f.task_id}, {"Limit", 0}}) == "InvalidParameterValue.Range");
  CHECK(code({{"InvocationTaskId", f.task_id}, {"Limit", 1048577}}) ==
        "InvalidParameterValue.Range");
  CHECK(code({{"InvocationTaskId", f.task_id}, {"Limit", "10"}}) == "InvalidParameter");
  CHECK(code({{"InvocationTaskId", f.task_id}, {"Filters", json::array()}}) == "UnknownParameter");
  CHECK(f.describe({{"Limit", 1048576}})["Source"] == "EXCERPT");
}
