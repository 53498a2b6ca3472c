// The upload of a finished task's complete output (OutputUploads) on the fakes: to its bucket
// on presigned URLs (one PutObject or multipart), to the server's output store in pieces,
// retried until the deadline, resumed from the journal, and never changing the task's result.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "daemon_fakes.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/agent/task_files.hpp"

namespace fs = std::filesystem;
using ferry::TaskStatus;
using ferry::agent::ObjectRequest;
using namespace ferry::test;  // with json and milliseconds
using std::chrono::seconds;

namespace {

constexpr const char* kBucket = "https://out-1250000000.cos.ap-beijing.myqcloud.com";
constexpr const char* kObjectUrl =
    "https://out-1250000000.cos.ap-beijing.myqcloud.com/logs/inv-1/invt-up.log";

// The task as the server lists it, with or without a bucket, and its task.json as the runner
// would have written it.
json bucket_task(const std::string& id, const std::string& bucket, std::int64_t timeout = 60) {
  json t = listed_task(id);
  t["OutputCOSBucketUrl"] = bucket;
  t["OutputCOSKeyPrefix"] = "logs";
  t["Timeout"] = timeout;
  return t;
}

void dispatch_task(Harness& h, StateDir& state, const json& task) {
  const std::string id = task["InvocationTaskId"];
  h.server->describe_reply = json{{"InvocationNormalTaskSet", json::array({task})}};
  h.push(R"({"Type":"kick","Seq":1})");
  REQUIRE(h.runner->tasks.contains(id));
  REQUIRE(ferry::agent::write_task_file(state.task(id), h.runner->tasks[id].task));
}

// Runs a task whose spool holds `size` bytes; its SUCCESS result, not yet given to the agent.
ferry::TaskResult run_with_output(Harness& h, StateDir& state, const json& task, std::size_t size) {
  dispatch_task(h, state, task);
  const std::string id = task["InvocationTaskId"];
  const auto p = state.task(id);
  h.start_task(id);
  {
    std::ofstream out(p.output_file, std::ios::binary);
    std::string chunk(64 * 1024, 'x');
    for (std::size_t n = 0; n < size; n += chunk.size()) {
      out.write(chunk.data(), static_cast<std::streamsize>(std::min(chunk.size(), size - n)));
    }
  }
  auto r =
      result_of(id, TaskStatus::kSuccess, 0, std::string(std::min<std::size_t>(size, 10), 'x'));
  r.output_size = size;
  r.dropped = size > 10 ? size - 10 : 0;
  return r;
}

// The PresignOutputUpload answers of a server that signs whatever it is asked.
json presign_reply(const json& fields) {
  json reply{{"Method", "PUT"}, {"ObjectUrl", kObjectUrl}, {"ExpiresIn", 3600}};
  const std::string op = fields.value("Operation", "");
  if (op == "UploadPart") {
    json urls = json::array();
    for (const auto& n : fields["PartNumbers"]) {
      urls.push_back({{"PartNumber", n}, {"Url", "https://store/part-" + n.dump()}});
    }
    reply["PartUrls"] = urls;
  } else {
    reply["Url"] = "https://store/" + op;
  }
  return reply;
}

void presigning(FakeServer& server) {
  server.responder = [](const std::string& action, const json& fields) {
    return action == "PresignOutputUpload" ? presign_reply(fields) : json::object();
  };
}

void presigning(Harness& h) {
  presigning(*h.server);
}

std::vector<std::string> presigned_operations(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& c : h.server->of("PresignOutputUpload")) {
    out.push_back(c.fields["Operation"]);
  }
  return out;
}

}  // namespace

TEST_CASE("uploads: a small output goes to the bucket in one PUT before the finish") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  presigning(h);
  const auto result = run_with_output(h, state, bucket_task("invt-up", kBucket), 1024);
  h.finish_task("invt-up", result);
  h.settle();

  CHECK(presigned_operations(h) == std::vector<std::string>{"PutObject"});
  REQUIRE(h.objects->sent.size() == 1);
  const ObjectRequest& put = h.objects->sent[0].request;
  CHECK(put.kind == ObjectRequest::Kind::kPut);
  CHECK(put.url == "https://store/PutObject");
  CHECK(put.file == state.task("invt-up").output_file);
  CHECK(put.offset == 0);
  CHECK(put.length == 1024);
  const auto calls = h.server->for_task("invt-up");
  CHECK(actions(calls) ==
        std::vector<std::string>{"ReportTaskStart", "PresignOutputUpload", "ReportTaskFinish"});
  CHECK(calls.back().fields["Result"] == "SUCCESS");
  CHECK(calls.back().fields["OutputUrl"] == kObjectUrl);
  CHECK_FALSE(calls.back().fields.contains("OutputUploadCOSErrorInfo"));
  CHECK_FALSE(fs::exists(state.task("invt-up").dir / "journal.json"));
}

TEST_CASE("uploads: an empty output is still an object") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  presigning(h);
  const auto result = run_with_output(h, state, bucket_task("invt-up", kBucket), 0);
  h.finish_task("invt-up", result);
  h.settle();
  REQUIRE(h.objects->sent.size() == 1);
  CHECK(h.objects->sent[0].request.length == 0);
  CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
}

TEST_CASE("uploads: a large output goes in parts, each journaled, then Complete") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.multipart_threshold = 5 << 20;
  o.part_size = 5 << 20;
  Harness h(o);
  presigning(h);
  const std::size_t size = (12 << 20) + 5;
  const auto result = run_with_output(h, state, bucket_task("invt-up", kBucket), size);
  // Each part is in the journal before the next one goes.
  std::vector<std::size_t> journaled_parts;
  h.objects->answer = [&](const ObjectRequest& r) {
    if (auto j = ferry::agent::read_journal(state.task("invt-up").dir); j && j->upload) {
      journaled_parts.push_back(j->upload->parts.size());
    }
    ferry::agent::ObjectReply reply;
    reply.ok = true;
    reply.upload_id = r.kind == ObjectRequest::Kind::kCreateMultipartUpload ? "up-7" : "";
    reply.etag = r.kind == ObjectRequest::Kind::kPut ? "\"e" + std::to_string(r.offset) + "\"" : "";
    return reply;
  };
  h.finish_task("invt-up", result);
  h.settle();

  CHECK(presigned_operations(h) ==
        std::vector<std::string>{"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"});
  const auto part_presign = h.server->of("PresignOutputUpload").at(1).fields;
  CHECK(part_presign["UploadId"] == "up-7");
  CHECK(part_presign["PartNumbers"] == json::array({1, 2, 3}));
  REQUIRE(h.objects->sent.size() == 5);
  const auto& sent = h.objects->sent;
  CHECK(sent[0].request.kind == ObjectRequest::Kind::kCreateMultipartUpload);
  for (int i = 0; i < 3; ++i) {
    const auto& put = sent[static_cast<std::size_t>(i) + 1].request;
    CHECK(put.kind == ObjectRequest::Kind::kPut);
    CHECK(put.url == "https://store/part-" + std::to_string(i + 1));
    CHECK(put.offset == static_cast<std::uint64_t>(i) * (5 << 20));
    CHECK(put.length == (i < 2 ? std::uint64_t{5 << 20} : std::uint64_t{(2 << 20) + 5}));
  }
  const auto& complete = sent[4].request;
  CHECK(complete.kind == ObjectRequest::Kind::kCompleteMultipartUpload);
  CHECK(complete.parts == std::vector<std::pair<int, std::string>>{
                              {1, "\"e0\""}, {2, "\"e5242880\""}, {3, "\"e10485760\""}});
  CHECK(journaled_parts == std::vector<std::size_t>{0, 0, 1, 2, 3});
  CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
}

TEST_CASE("uploads: a store that fails for a while is retried; one that refuses is reported") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  presigning(h);
  const auto result = run_with_output(h, state, bucket_task("invt-up", kBucket), 100);
  int failures = 0;

  SECTION("retryable failures, then a success") {
    h.objects->answer = [&](const ObjectRequest&) {
      ferry::agent::ObjectReply r;
      r.ok = ++failures > 2;
      r.retryable = true;
      r.error = "transport: Couldn't connect to server";
      r.etag = "\"e\"";
      return r;
    };
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(h.objects->sent.size() == 3);
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
  }
  SECTION("a refusal: the result keeps its status and says why") {
    h.objects->answer = [&](const ObjectRequest&) {
      ferry::agent::ObjectReply r;
      r.error = "HTTP 403 AccessDenied: Access Denied";
      r.error_code = "AccessDenied";
      return r;
    };
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(h.objects->sent.size() == 1);
    const auto finish = h.server->of("ReportTaskFinish").at(0).fields;
    CHECK(finish["Result"] == "SUCCESS");
    CHECK(finish["ExitCode"] == 0);
    CHECK_FALSE(finish.contains("OutputUrl"));
    CHECK(finish["OutputUploadCOSErrorInfo"] == "HTTP 403 AccessDenied: Access Denied");
  }
  SECTION("a signature refused for the clock: the clock is corrected and the upload goes on") {
    h.server->errors_next["PresignOutputUpload"] = {"AuthFailure.SignatureExpire"};
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(h.server->clock_offset.has_value());
    CHECK(h.server->of("PresignOutputUpload").size() == 2);
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
  }
  SECTION("the server will not sign: reported the same way") {
    h.server->responder = nullptr;
    h.server->errors_next["PresignOutputUpload"] = {"FailedOperation.BucketCredentials"};
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(h.objects->sent.empty());
    const std::string why =
        h.server->of("ReportTaskFinish").at(0).fields["OutputUploadCOSErrorInfo"];
    CHECK(why.find("FailedOperation.BucketCredentials") != std::string::npos);
  }
}

TEST_CASE("uploads: a failed multipart upload is aborted; a stuck one ends at the deadline") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.multipart_threshold = 5 << 20;
  o.part_size = 5 << 20;
  o.upload_min_window = milliseconds(2000);
  Harness h(o);
  presigning(h);
  // Timeout 1 s from a start long past: the deadline is the end + upload_min_window.
  const auto result = run_with_output(h, state, bucket_task("invt-up", kBucket, 1), 11 << 20);
  bool refuse = false;
  h.objects->answer = [&](const ObjectRequest& r) {
    ferry::agent::ObjectReply reply;
    reply.ok = r.kind != ObjectRequest::Kind::kPut || r.offset == 0;
    reply.upload_id = "up-9";
    reply.etag = "\"e\"";
    reply.retryable = !refuse;
    reply.error = refuse ? "HTTP 404 NoSuchBucket: gone" : "HTTP 503 SlowDown: slow down";
    return reply;
  };

  SECTION("refused") {
    refuse = true;
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(presigned_operations(h).back() == "AbortMultipartUpload");
    CHECK(h.objects->sent.back().request.kind == ObjectRequest::Kind::kAbortMultipartUpload);
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUploadCOSErrorInfo"] ==
          "HTTP 404 NoSuchBucket: gone");
  }
  SECTION("retried until the deadline") {
    const auto ended = h.clock->now();
    h.finish_task("invt-up", result);
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    const auto took = std::chrono::duration_cast<milliseconds>(h.clock->now() - ended);
    CHECK(took >= milliseconds(1900));
    CHECK(took <= milliseconds(2500));
    CHECK(h.objects->sent.size() > 4);  // retried meanwhile
    CHECK(h.objects->sent.back().request.kind == ObjectRequest::Kind::kAbortMultipartUpload);
    const std::string why =
        h.server->of("ReportTaskFinish").at(0).fields["OutputUploadCOSErrorInfo"];
    CHECK(why.find("within the task's Timeout") != std::string::npos);
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["Result"] == "SUCCESS");
  }
}

TEST_CASE("uploads: an agent restarted mid-upload resumes from the journal") {
  StateDir state;
  const std::string id = "invt-up";
  const auto p = state.task(id);
  ferry::Task task;
  task.invocation_task_id = id;
  task.content = "ZWNobw==";
  task.output_cos_bucket_url = kBucket;
  REQUIRE(ferry::agent::write_task_file(p, task));
  std::ofstream(p.output_file, std::ios::binary) << std::string((11 << 20), 'y');
  ferry::agent::JournalRecord record;
  record.task_id = id;
  record.boot_id = "boot-now";
  record.start_time = "2026-12-04T17:00:00Z";
  record.start_acked = true;
  record.result = result_of(id, TaskStatus::kSuccess, 0, "yyyy");
  record.result->output_size = 11 << 20;
  ferry::agent::OutputUpload upload;
  upload.size = 11 << 20;
  upload.part_size = 5 << 20;
  upload.upload_id = "up-3";
  upload.parts = {{1, "\"p1\""}};
  upload.deadline = "2099-01-01T00:00:00Z";

  SECTION("the parts not yet taken, then Complete") {
    record.upload = upload;
    REQUIRE(ferry::agent::write_journal(p.dir, record, ferry::platform::Durability::kSynced));
    Harness h(Harness::options(state.path()), false, [](FakeServer& s) { presigning(s); });
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(presigned_operations(h) ==
          std::vector<std::string>{"UploadPart", "CompleteMultipartUpload"});
    CHECK(h.server->of("PresignOutputUpload").at(0).fields["PartNumbers"] == json::array({2, 3}));
    REQUIRE(h.objects->sent.size() == 3);
    CHECK(h.objects->sent[0].request.offset == 5 << 20);
    CHECK(h.objects->sent[1].request.offset == 10 << 20);
    CHECK(h.objects->sent[2].request.parts.at(0) == std::pair<int, std::string>{1, "\"p1\""});
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
  }
  SECTION("a Complete the last agent sent and the store took: done, once") {
    upload.parts = {{1, "\"p1\""}, {2, "\"p2\""}, {3, "\"p3\""}};
    upload.completing = true;
    record.upload = upload;
    REQUIRE(ferry::agent::write_journal(p.dir, record, ferry::platform::Durability::kSynced));
    Harness h(Harness::options(state.path()), false, [](FakeServer& s) { presigning(s); });
    h.objects->answer = [](const ObjectRequest&) {
      ferry::agent::ObjectReply r;
      r.error = "HTTP 404 NoSuchUpload: The specified upload does not exist";
      r.error_code = "NoSuchUpload";
      return r;
    };
    REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
    CHECK(h.objects->sent.size() == 1);
    CHECK(h.server->of("ReportTaskFinish").at(0).fields["OutputUrl"] == kObjectUrl);
  }
}

TEST_CASE("uploads: without a bucket, an output larger than the excerpt goes to the server") {
  StateDir state;
  auto o = Harness::options(state.path());
  o.server_output_piece = 1000;
  Harness h(o);
  std::uint64_t held = 0;
  std::vector<std::pair<std::uint64_t, bool>> pieces;
  h.server->responder = [&](const std::string& action, const json& f) {
    if (action != "UploadTaskOutput") {
      return json::object();
    }
    const std::uint64_t offset = f["Offset"];
    const std::string bytes = decoded(f["Output"]);
    pieces.emplace_back(offset, f["Final"].get<bool>());
    if (offset <= held) {
      held = offset + bytes.size();
    }
    return json{{"Stored", held}, {"Complete", f["Final"].get<bool>()}};
  };
  h.server->fail_next["UploadTaskOutput"] = 1;  // the first piece goes twice
  const auto result = run_with_output(h, state, listed_task("invt-srv"), 2500);
  h.finish_task("invt-srv", result);
  REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
  CHECK(pieces ==
        std::vector<std::pair<std::uint64_t, bool>>{{0, false}, {1000, false}, {2000, true}});
  CHECK(h.server->of("UploadTaskOutput").size() == 4);
  const auto finish = h.server->of("ReportTaskFinish").at(0).fields;
  CHECK_FALSE(finish.contains("OutputUrl"));
  CHECK_FALSE(finish.contains("OutputUploadCOSErrorInfo"));
  CHECK(h.objects->sent.empty());

  SECTION("an output that fits in the excerpt is not uploaded") {
    const auto small = run_with_output(h, state, listed_task("invt-small"), 10);
    h.finish_task("invt-small", small);
    h.settle();
    CHECK(h.server->of("UploadTaskOutput").size() == 4);
    CHECK(h.server->of("ReportTaskFinish").size() == 2);
  }
}

TEST_CASE("uploads: a server store that refuses leaves the finish as it was") {
  StateDir state;
  Harness h(Harness::options(state.path()));
  h.server->errors_next["UploadTaskOutput"] = {"LimitExceeded.OutputStore"};
  const auto result = run_with_output(h, state, listed_task("invt-full"), 50'000);
  h.finish_task("invt-full", result);
  REQUIRE(h.run_until([&] { return !h.server->of("ReportTaskFinish").empty(); }));
  CHECK(h.server->of("UploadTaskOutput").size() == 1);
  const auto finish = h.server->of("ReportTaskFinish").at(0).fields;
  CHECK(finish["Result"] == "SUCCESS");
  CHECK_FALSE(finish.contains("OutputUploadCOSErrorInfo"));
}
