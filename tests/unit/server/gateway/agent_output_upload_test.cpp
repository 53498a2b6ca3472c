// UploadTaskOutput through the gateway, signed as an agent signs it, into a real output store.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/server/outputs/output_store.hpp"
#include "gateway_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::error_code;
using ferry::test::Fixture;
using ferry::test::kRegisterCodeValue;
using ferry::test::TempDir;
using ferry::test::TestAgent;

namespace {

// The gateway fixture with a second gateway that has an output store (or none).
struct UploadFixture : Fixture {
  explicit UploadFixture(std::uint64_t max_bytes = 1 << 20, bool with_store = true)
      : max_bytes_(max_bytes), with_store_(with_store) {}

  // A task of `agent`'s in `status`, with no bucket unless `bucket`.
  std::string add_task(TaskStatus status = TaskStatus::kRunning, const std::string& bucket = "") {
    const std::string id = add_tasks({agent.instance_id}, status)[0];
    auto r = store->modify_task(id, [&](InvocationTask& t) {
      t.document.output_cos_bucket_url = bucket;
      return true;
    });
    REQUIRE(r);
    return id;
  }

  nlohmann::json upload(const TestAgent& who, nlohmann::json body) {
    HttpResponse r = upload_gateway->handle(
        signed_request("UploadTaskOutput", std::move(body), who.key, who.instance_id));
    REQUIRE(r.status == 200);
    return nlohmann::json::parse(r.body).at("Response");
  }
  nlohmann::json piece(const std::string& id, std::int64_t offset, const std::string& bytes,
                       bool final = false) {
    return upload(agent, {{"InvocationTaskId", id},
                          {"Offset", offset},
                          {"Output", base64_encode(bytes)},
                          {"Final", final}});
  }

  std::unique_ptr<OutputStore> open_store() {
    if (!with_store_) {
      return nullptr;
    }
    auto opened = OutputStore::open({outputs_dir.path() / "outputs", max_bytes_, 7}, clock);
    REQUIRE(opened);
    return std::move(*opened);
  }
  std::unique_ptr<AgentGateway> make_gateway() {
    GatewayOptions o;
    o.output_store = outputs.get();
    return std::make_unique<AgentGateway>(ctx, auth, std::move(o));
  }

  std::uint64_t max_bytes_;
  bool with_store_;
  TempDir outputs_dir{"ferry-upload-test"};
  std::unique_ptr<OutputStore> outputs = open_store();
  std::unique_ptr<AgentGateway> upload_gateway = make_gateway();
  std::string code = add_register_code(kRegisterCodeValue);
  TestAgent agent = register_agent(code, kRegisterCodeValue);
  TestAgent other = register_agent(code, kRegisterCodeValue);
};

void check_stored(const nlohmann::json& reply, std::uint64_t stored, bool complete) {
  INFO(reply.dump());
  REQUIRE(error_code(reply).empty());
  CHECK(reply.at("Stored") == stored);
  CHECK(reply.at("Complete") == complete);
}

}  // namespace

TEST_CASE("UploadTaskOutput stores an output in pieces, resumable and idempotent",
          "[gateway][outputs]") {
  UploadFixture f;
  const std::string id = f.add_task();
  check_stored(f.piece(id, 0, "first "), 6, false);
  // A resend after a lost reply.
  check_stored(f.piece(id, 0, "first "), 6, false);
  // Ahead of what is held: nothing written, the agent resumes from Stored.
  check_stored(f.piece(id, 100, "later"), 6, false);
  check_stored(f.piece(id, 6, "second\n", true), 13, true);
  // Complete: acknowledged and ignored.
  check_stored(f.piece(id, 0, "again", true), 13, true);
  auto held = f.outputs->read(id, 0, 100);
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->bytes == "first second\n");

  SECTION("Final defaults to false; Offset is an integer, 3.0 too") {
    const std::string id2 = f.add_task();
    auto r = f.upload(f.agent,
                      {{"InvocationTaskId", id2}, {"Offset", 0.0}, {"Output", base64_encode("x")}});
    check_stored(r, 1, false);
  }
}

TEST_CASE("UploadTaskOutput takes a task in any status", "[gateway][outputs]") {
  UploadFixture f;
  for (TaskStatus s : {TaskStatus::kDelivering, TaskStatus::kRunning, TaskStatus::kCancelling,
                       TaskStatus::kSuccess, TaskStatus::kTaskTimeout}) {
    const std::string id = f.add_task(s);
    INFO(to_string(s));
    check_stored(f.piece(id, 0, "out", true), 3, true);
  }
}

TEST_CASE("UploadTaskOutput refusals", "[gateway][outputs]") {
  UploadFixture f;
  const std::string id = f.add_task();
  const auto code_of = [&](nlohmann::json body) { return error_code(f.upload(f.agent, body)); };

  SECTION("fields") {
    CHECK(code_of({{"Offset", 0}, {"Output", ""}}) == "MissingParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Output", ""}}) == "MissingParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", 0}}) == "MissingParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", -1}, {"Output", ""}}) ==
          "InvalidParameterValue");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", "0"}, {"Output", ""}}) ==
          "InvalidParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", 0}, {"Output", ""}, {"Final", "yes"}}) ==
          "InvalidParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", 0}, {"Output", ""}, {"Index", 0}}) ==
          "UnknownParameter");
    CHECK(code_of({{"InvocationTaskId", id}, {"Offset", 0}, {"Output", "aGVsbG8"}}) ==
          "InvalidParameterValue");
    CHECK(code_of({{"InvocationTaskId", "../etc"}, {"Offset", 0}, {"Output", ""}}) ==
          "InvalidParameterValue");
    CHECK(f.outputs->total_bytes() == 0);
  }
  SECTION("a piece of at most 512 KiB") {
    check_stored(f.piece(id, 0, std::string(512 * 1024, 'a')), 512 * 1024, false);
    auto r = f.piece(id, 512 * 1024, std::string(512 * 1024 + 1, 'b'));
    CHECK(error_code(r) == "InvalidParameterValue.TooLong");
    CHECK(f.outputs->total_bytes() == 512 * 1024);
  }
  SECTION("the task's errors") {
    CHECK(code_of({{"InvocationTaskId", "invt-00000000"}, {"Offset", 0}, {"Output", ""}}) ==
          "ResourceNotFound.InvocationTaskNotFound");
    auto r = f.upload(f.other, {{"InvocationTaskId", id}, {"Offset", 0}, {"Output", "eA=="}});
    CHECK(error_code(r) == "AuthFailure.UnauthorizedOperation");
    CHECK(f.outputs->total_bytes() == 0);
  }
  SECTION("a task with a bucket: its output goes there") {
    const std::string with_bucket = f.add_task(TaskStatus::kRunning, "https://bucket.example.com");
    auto r = f.piece(with_bucket, 0, "x");
    CHECK(error_code(r) == "FailedOperation.OutputBucketNamed");
    CHECK_FALSE(f.outputs->state(with_bucket)->has_value());
  }
  SECTION("a piece over the cap") {
    UploadFixture small(10);
    const std::string t = small.add_task();
    check_stored(small.piece(t, 0, "12345"), 5, false);
    auto r = small.piece(t, 5, "678901");
    CHECK(error_code(r) == "LimitExceeded.OutputStore");
    CHECK(r["Error"]["Message"].get<std::string>().find("does not fit") != std::string::npos);
    // The output is dropped whole: nothing is held, the agent stops uploading it.
    CHECK_FALSE(small.outputs->state(t)->has_value());
  }
  SECTION("a disabled store, and none at all") {
    UploadFixture disabled(0);
    auto r = disabled.piece(disabled.add_task(), 0, "x");
    CHECK(error_code(r) == "LimitExceeded.OutputStore");
    CHECK(r["Error"]["Message"].get<std::string>().find("disabled") != std::string::npos);
    UploadFixture none(1 << 20, false);
    CHECK(error_code(none.piece(none.add_task(), 0, "x")) == "LimitExceeded.OutputStore");
  }
}
