// OutputCOSBucketUrl at the API: its syntax (http only to the hosts the server allows) wherever
// a command names it, and at RunCommand, InvokeCommand and an invoker's firing also credentials
// (with a region) the server holds for the bucket now.
#include "ferry/server/cos/output_buckets.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/invokers.hpp"
#include "ferry/server/scheduler/scheduler.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;

namespace {

constexpr const char* kInvalidBucket = "InvalidParameterValue.InvalidOutputCOSBucketUrl";
constexpr const char* kCosBucket = "https://outputs-1250000000.cos.ap-guangzhou.myqcloud.com";
constexpr const char* kSelfHosted = "https://s3.example.internal:9000/outputs";
constexpr const char* kHttpStore = "http://127.0.0.1:9000/outputs";
constexpr const char* kBucketSecret = "bucketSecretKeyThatMustNeverLeak0001";

cos::BucketCredentials bucket_keys(std::string region = "") {
  return cos::BucketCredentials{{"AKIDbuckettest0001", kBucketSecret, ""}, std::move(region)};
}

// An environment of the given variables only.
cos::EnvironmentLookup fake_environment(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

struct BucketFixture : ferry::test::ServerFixture {
  BucketFixture() { add_instance({.id = "rins-bucket01"}); }

  Expected<domain::RunResult> run(const std::string& bucket) {
    domain::RunRequest r;
    r.command.content = base64_encode("echo hi");
    r.command.output_cos_bucket_url = bucket;
    r.command.output_cos_key_prefix = "logs";
    r.instance_ids = {"rins-bucket01"};
    return domain::run_command(ctx, r);
  }

  Expected<std::string> create(const std::string& name, const std::string& bucket) {
    domain::CommandFields f;
    f.command_name = name;
    f.content = base64_encode("echo hi");
    f.output_cos_bucket_url = bucket;
    return domain::create_command(ctx, f);
  }

  Expected<std::string> invoke(const std::string& command_id,
                               std::optional<std::string> bucket = std::nullopt) {
    domain::InvokeRequest r;
    r.command_id = command_id;
    r.overrides.output_cos_bucket_url = std::move(bucket);
    r.instance_ids = {"rins-bucket01"};
    return domain::invoke_command(ctx, r);
  }

  cos::OutputBuckets& buckets() { return settings.output_buckets; }
};

template <typename T>
std::string bucket_outcome(const Expected<T>& r) {
  return r ? std::string("OK") : r.error().code;
}

}  // namespace

TEST_CASE_METHOD(BucketFixture, "RunCommand needs credentials for the bucket it names",
                 "[domain][buckets]") {
  // None at all: refused, naming the bucket, and nothing is stored or kicked.
  auto refused = run(kCosBucket);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == kInvalidBucket);
  CHECK_THAT(refused.error().message,
             Catch::Contains(kCosBucket) && Catch::Contains("no credentials"));
  CHECK(notifier.kicks().empty());
  CHECK(run("").has_value());  // no bucket: nothing to check

  // The "default" entry serves any bucket.
  buckets().credentials["default"] = bucket_keys();
  auto ran = run(kCosBucket);
  REQUIRE(ran);
  auto tasks = tasks_of(ran->invocation_id);
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].document.output_cos_bucket_url == kCosBucket);
  CHECK(tasks[0].document.output_cos_key_prefix == "logs");

  // An entry of its own serves that bucket only.
  buckets().credentials.clear();
  buckets().credentials[kCosBucket] = bucket_keys();
  CHECK(bucket_outcome(run(kCosBucket)) == "OK");
  CHECK(bucket_outcome(run("https://others-1250000000.cos.ap-guangzhou.myqcloud.com")) ==
        kInvalidBucket);

  // A self-hosted bucket's host names no region: its entry must.
  buckets().credentials[kSelfHosted] = bucket_keys();
  auto no_region = run(kSelfHosted);
  REQUIRE_FALSE(no_region);
  CHECK(no_region.error().code == kInvalidBucket);
  CHECK_THAT(no_region.error().message, Catch::Contains("region") && Catch::Contains(kSelfHosted));
  CHECK(no_region.error().message.find(kBucketSecret) == std::string::npos);
  buckets().credentials[kSelfHosted] = bucket_keys("us-east-1");
  CHECK(bucket_outcome(run(kSelfHosted)) == "OK");
}

TEST_CASE_METHOD(BucketFixture, "without an entry the AWS_* environment serves",
                 "[domain][buckets]") {
  buckets().environment = fake_environment({{"AWS_ACCESS_KEY_ID", "AKIDfromenv"}});
  CHECK(bucket_outcome(run(kCosBucket)) == kInvalidBucket);  // a key id without its secret
  buckets().environment = fake_environment(
      {{"AWS_ACCESS_KEY_ID", "AKIDfromenv"}, {"AWS_SECRET_ACCESS_KEY", kBucketSecret}});
  CHECK(bucket_outcome(run(kCosBucket)) == "OK");  // the host names the region
  auto no_region = run(kSelfHosted);
  REQUIRE_FALSE(no_region);
  CHECK_THAT(no_region.error().message, Catch::Contains("AWS_REGION"));
  buckets().environment = fake_environment({{"AWS_ACCESS_KEY_ID", "AKIDfromenv"},
                                            {"AWS_SECRET_ACCESS_KEY", kBucketSecret},
                                            {"AWS_REGION", "eu-central-1"}});
  CHECK(bucket_outcome(run(kSelfHosted)) == "OK");
}

TEST_CASE_METHOD(BucketFixture, "an OutputCOSBucketUrl over http only to the hosts allowed",
                 "[domain][buckets]") {
  buckets().credentials["default"] = bucket_keys("us-east-1");
  auto refused = run(kHttpStore);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == kInvalidBucket);
  CHECK_THAT(refused.error().message, Catch::Contains("https"));
  CHECK(bucket_outcome(create("http-cmd", kHttpStore)) == kInvalidBucket);

  buckets().allow_http_hosts = {"127.0.0.1:9000", "[::1]:9000", "Store.Internal:80"};
  CHECK(bucket_outcome(run(kHttpStore)) == "OK");
  CHECK(bucket_outcome(run("http://[::1]:9000/outputs")) == "OK");
  CHECK(bucket_outcome(run("http://store.internal/outputs")) == "OK");  // port 80, any case
  CHECK(bucket_outcome(run("http://127.0.0.1:9001/outputs")) == kInvalidBucket);
  CHECK(bucket_outcome(run("http://127.0.0.2:9000/outputs")) == kInvalidBucket);
  CHECK(bucket_outcome(create("http-cmd", kHttpStore)) == "OK");
}

TEST_CASE_METHOD(BucketFixture,
                 "commands check the URL's syntax only; InvokeCommand checks the credentials",
                 "[domain][buckets]") {
  // The operator may configure the bucket after the command was made.
  auto cmd = create("later", kCosBucket);
  REQUIRE(cmd);
  CHECK(bucket_outcome(create("bad", "ftp://outputs.example.com")) == kInvalidBucket);
  domain::CommandFields change;
  change.output_cos_bucket_url = kSelfHosted;
  CHECK(domain::modify_command(ctx, *cmd, change).has_value());
  change.output_cos_bucket_url = kHttpStore;
  auto http = domain::modify_command(ctx, *cmd, change);
  REQUIRE_FALSE(http);
  CHECK(http.error().code == kInvalidBucket);

  auto refused = invoke(*cmd);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == kInvalidBucket);
  CHECK_THAT(refused.error().message, Catch::Contains(kSelfHosted));
  // An override is checked the same way.
  CHECK(bucket_outcome(invoke(*cmd, kCosBucket)) == kInvalidBucket);

  buckets().credentials[kCosBucket] = bucket_keys();
  CHECK(bucket_outcome(invoke(*cmd)) == kInvalidBucket);  // its own bucket still has none
  auto overridden = invoke(*cmd, kCosBucket);
  REQUIRE(overridden);
  CHECK(tasks_of(*overridden).at(0).document.output_cos_bucket_url == kCosBucket);
}

TEST_CASE_METHOD(BucketFixture, "a firing whose bucket lost its credentials is recorded FAILED",
                 "[domain][buckets][invokers]") {
  buckets().credentials["default"] = bucket_keys();
  auto cmd = create("nightly", kCosBucket);
  REQUIRE(cmd);
  domain::InvokerFields f;
  f.name = "every ten minutes";
  f.type = "SCHEDULE";
  f.command_id = *cmd;
  f.instance_ids = std::vector<std::string>{"rins-bucket01"};
  domain::ScheduleFields schedule;
  schedule.policy = "RECURRENCE";
  schedule.recurrence = "*/10 * * * *";
  f.schedule = schedule;
  auto invoker = domain::create_invoker(ctx, f);
  REQUIRE(invoker);

  const auto records = [&] {
    InvokerRecordQuery q;
    q.invoker_ids = {*invoker};
    q.limit = 10;
    auto page = domain::describe_invoker_records(ctx, q);
    REQUIRE(page);
    return page->items;
  };
  const auto fire_at = [&](int64_t ms) {
    clock.set_ms(ms);
    auto pass = Scheduler::run_due(ctx);
    REQUIRE(pass);
    CHECK(pass->fired == 1);
  };

  // The operator removed the credentials: the slot is taken, recorded FAILED with the reason.
  buckets().credentials.clear();
  fire_at(ferry::test::kStartMs + 10 * 60'000);
  auto recs = records();
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].result == "FAILED");
  CHECK(recs[0].invocation_id.empty());
  CHECK_THAT(recs[0].reason, Catch::Contains(kCosBucket) && Catch::Contains("no credentials"));
  CHECK(recs[0].reason.find(kBucketSecret) == std::string::npos);

  // Back again: the next slot runs.
  buckets().credentials["default"] = bucket_keys();
  fire_at(ferry::test::kStartMs + 20 * 60'000);
  recs = records();
  REQUIRE(recs.size() == 2);
  CHECK_FALSE(recs[0].invocation_id.empty());
  CHECK(tasks_of(recs[0].invocation_id).size() == 1);
}
