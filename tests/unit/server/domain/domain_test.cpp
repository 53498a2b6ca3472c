// The domain layer driven directly, in plain C++ types: no HTTP, no envelope, no parameter
// reader. Its errors are Ferry's vocabulary (core/error_codes.hpp) and the store's own codes,
// which a dialect maps.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/agent_registration.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/quotas.hpp"
#include "ferry/server/domain/register_codes.hpp"
#include "ferry/server/domain/send_files.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/task_state.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::InstanceSpec;

namespace {

struct DomainFixture : ferry::test::ServerFixture {
  DomainFixture() {
    settings.command_quota = 3;
    add_instance({.id = "rins-online01"});
    add_instance({.id = "rins-online02"});
    add_instance({.id = "rins-offline1", .online = false});
  }

  // A saved command running `script`, with parameters on.
  std::string saved_command(const std::string& name, const std::string& script) {
    domain::CommandFields f;
    f.command_name = name;
    f.content = base64_encode(script);
    f.enable_parameter = true;
    f.working_directory = "/srv";
    f.timeout = 30;
    auto defaults = domain::resolve_default_parameters(R"({"who":"world"})", std::nullopt, true);
    REQUIRE(defaults);
    f.defaults = *defaults;
    auto id = domain::create_command(ctx, f);
    REQUIRE(id);
    return *id;
  }
};

template <typename T>
std::string code_of(const Expected<T>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().code;
}

std::string code_of(const Status& s) {
  REQUIRE_FALSE(s.has_value());
  return s.error().code;
}

}  // namespace

TEST_CASE_METHOD(DomainFixture, "commands: create, describe, modify, preview, delete",
                 "[domain][commands]") {
  const std::string id = saved_command("greet", "echo hello {{who}}");
  auto c = domain::get_saved_command(ctx, id);
  REQUIRE(c);
  CHECK(c->command_name == "greet");
  CHECK(c->command_type == "SHELL");  // the model's default
  CHECK(c->default_parameters == R"({"who":"world"})");
  CHECK(c->created_ms == clock.now_ms());

  CommandQuery q;
  q.command_names = {"greet"};
  auto page = domain::describe_commands(ctx, q);
  REQUIRE(page);
  REQUIRE(page->total == 1);
  CHECK(page->items[0].command_id == id);

  clock.advance_ms(1000);
  domain::CommandFields changes;
  changes.description = "says hello";
  changes.working_directory = "relative";  // checked against the type the command keeps
  CHECK(code_of(domain::modify_command(ctx, id, changes)) == codes::kInvalidWorkingDirectory);
  changes.working_directory = "/tmp";
  REQUIRE(domain::modify_command(ctx, id, changes));
  c = domain::get_saved_command(ctx, id);
  CHECK(c->description == "says hello");
  CHECK(c->working_directory == "/tmp");
  CHECK(c->content == base64_encode("echo hello {{who}}"));
  CHECK(c->updated_ms == clock.now_ms());

  domain::PreviewRequest preview;
  preview.command_id = id;
  auto replaced = domain::preview_command_content(ctx, preview);
  REQUIRE(replaced);
  CHECK(base64_decode(*replaced).value() == "echo hello world");
  preview.parameters = R"({"who":"you"})";
  CHECK(base64_decode(domain::preview_command_content(ctx, preview).value()).value() ==
        "echo hello you");

  REQUIRE(domain::delete_commands(ctx, {id}));
  CHECK(code_of(domain::get_saved_command(ctx, id)) == codes::kCommandNotFound);
  CHECK(code_of(domain::delete_commands(ctx, {id})) == codes::kCommandNotFound);
}

TEST_CASE_METHOD(DomainFixture, "commands: the rules of the fields, the name and the quota",
                 "[domain][commands]") {
  domain::CommandFields f;
  f.content = base64_encode("true");
  CHECK(code_of(domain::create_command(ctx, f)) == "InvalidParameterValue.InvalidCommandName");
  f.command_name = "ok";
  f.timeout = 0;
  CHECK(code_of(domain::create_command(ctx, f)) == codes::kRange);
  f.timeout.reset();
  f.username = "";  // a new command's "" is the default user
  REQUIRE(domain::create_command(ctx, f));
  // The store keeps names unique, in its own code.
  CHECK(code_of(domain::create_command(ctx, f)) == store_codes::kCommandNameDuplicated);

  CHECK(code_of(domain::resolve_default_parameters("{}", std::vector<DefaultParameterConf>{},
                                                   true)) == "InvalidParameter.ConflictParameter");
  CHECK(code_of(domain::resolve_default_parameters("{}", std::nullopt, false)) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  auto confs = domain::resolve_default_parameters(
      std::nullopt, std::vector<DefaultParameterConf>{{"a", "1", "first"}}, true);
  REQUIRE(confs);
  CHECK((*confs)->json == R"({"a":"1"})");
  CHECK((*confs)->confs.size() == 1);

  f.command_name = "two";
  REQUIRE(domain::create_command(ctx, f));
  f.command_name = "three";
  REQUIRE(domain::create_command(ctx, f));
  f.command_name = "four";
  CHECK(code_of(domain::create_command(ctx, f)) == "ResourceUnavailable.UserHasNoQuotaCode");
  auto usage = domain::quota_usage(ctx, "COMMAND");
  REQUIRE(usage);
  CHECK(usage->used == 3);
  CHECK(usage->total == 3);
}

TEST_CASE_METHOD(DomainFixture, "a saved command invoked by a schedule, then cancelled",
                 "[domain][invocations]") {
  const std::string command_id = saved_command("nightly", "echo {{who}} {{when}}");
  domain::InvokeRequest r;
  r.command_id = command_id;
  r.instance_ids = {"rins-online01", "rins-offline1"};
  r.source = domain::InvocationSource::kSchedule;
  // The script needs {{when}}, which neither the defaults nor the run give.
  CHECK(code_of(domain::invoke_command(ctx, r)) == codes::kLackOfParameterInfo);
  r.parameters = R"({"when":"tonight"})";
  r.overrides.timeout = 99;
  r.overrides.working_directory = "";  // "" keeps the command's
  auto invocation_id = domain::invoke_command(ctx, r);
  REQUIRE(invocation_id);

  auto tasks = tasks_of(*invocation_id);
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[0].instance_id == "rins-offline1");
  CHECK(tasks[0].status == TaskStatus::kDeliverDelayed);  // waits for its agent
  CHECK(tasks[1].status == TaskStatus::kPending);
  for (const auto& t : tasks) {
    CHECK(t.invocation_source == "SCHEDULE");
    CHECK(t.document.timeout == 99);
    CHECK(t.document.working_directory == "/srv");
    CHECK(t.parameters == R"({"when":"tonight","who":"world"})");
  }
  CHECK(notifier.kicks() ==
        std::vector<ferry::test::InstanceTask>{{"rins-online01", tasks[1].invocation_task_id}});

  InvocationQuery q;
  q.invocation_ids = {*invocation_id};
  auto listed = domain::describe_invocations(ctx, q);
  REQUIRE(listed);
  REQUIRE(listed->items.size() == 1);
  CHECK(listed->items[0].invocation.invocation_source == "SCHEDULE");
  CHECK(listed->items[0].invocation.parameters == R"({"when":"tonight"})");
  CHECK(listed->items[0].status == "PENDING");

  // The delivered one is told; the undelivered one is simply cancelled.
  REQUIRE(store->modify_task(tasks[1].invocation_task_id, [](InvocationTask& t) {
    return advance_task(t, TaskStatus::kRunning);
  }));
  REQUIRE(domain::cancel_invocation(ctx, *invocation_id, std::nullopt));
  CHECK(task(tasks[0].invocation_task_id).status == TaskStatus::kCancelled);
  CHECK(task(tasks[1].invocation_task_id).status == TaskStatus::kCancelling);
  CHECK(notifier.cancels() ==
        std::vector<ferry::test::InstanceTask>{{"rins-online01", tasks[1].invocation_task_id}});
  listed = domain::describe_invocations(ctx, q);
  CHECK(listed->items[0].status == "CANCELLING");

  CHECK(code_of(domain::cancel_invocation(ctx, "inv-00000000", std::nullopt)) ==
        "ResourceNotFound.InvocationNotFound");
  CHECK(code_of(domain::cancel_invocation(ctx, "bad", std::nullopt)) ==
        "InvalidParameterValue.InvalidInvocationId");
  CHECK(code_of(domain::cancel_invocation(ctx, *invocation_id,
                                          std::vector<std::string>{"rins-online02"})) ==
        "InvalidParameterValue.InvalidInstanceId");
}

TEST_CASE_METHOD(DomainFixture, "create_invocation takes its source as an argument",
                 "[domain][invocations]") {
  const std::string command_id = saved_command("direct", "echo {{who}}");
  auto c = domain::get_saved_command(ctx, command_id);
  REQUIRE(c);
  for (auto source : {domain::InvocationSource::kUser, domain::InvocationSource::kInvoker,
                      domain::InvocationSource::kSchedule}) {
    domain::InvocationSpec spec;
    spec.instance_ids = {"rins-online02"};
    spec.run.timeout = 5;
    spec.source = source;
    auto id = domain::create_invocation(ctx, *c, spec);
    REQUIRE(id);
    CHECK(tasks_of(*id).at(0).invocation_source == domain::to_string(source));
  }
  domain::InvocationSpec unknown;
  unknown.instance_ids = {"rins-unknown1"};
  CHECK(code_of(domain::create_invocation(ctx, *c, unknown)) == codes::kInstanceNotFound);
}

TEST_CASE_METHOD(DomainFixture, "run_command: a new command per run, saved on request",
                 "[domain][invocations]") {
  domain::RunRequest r;
  r.command.content = base64_encode("uptime");
  r.command.tags = std::vector<Tag>{{"team", "ops"}};
  r.instance_ids = {"rins-online01"};
  CHECK(code_of(domain::run_command(ctx, r)) == codes::kInvalidParameterValue);  // tags: save
  r.save_command = true;
  auto run = domain::run_command(ctx, r);
  REQUIRE(run);
  auto saved = domain::get_saved_command(ctx, run->command_id);
  REQUIRE(saved);
  CHECK(saved->command_name == run->command_id);  // unnamed: findable by its id
  CHECK(saved->tags == std::vector<Tag>{{"team", "ops"}});
  CHECK(tasks_of(run->invocation_id).size() == 1);

  r.save_command = false;
  r.command.tags.reset();
  r.parameters = R"({"x":"1"})";
  CHECK(code_of(domain::run_command(ctx, r)) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  r.parameters.reset();
  r.instance_ids = {"not an id"};
  CHECK(code_of(domain::run_command(ctx, r)) == "InvalidParameterValue.InvalidInstanceId");
}

TEST_CASE_METHOD(DomainFixture, "runs and file deliveries target registered instances only",
                 "[domain][invocations]") {
  CHECK(domain::require_registered_instances(*store, {"rins-online01", "rins-offline1"}));
  CHECK(domain::require_registered_instances(*store, {}));
  const Status missing =
      domain::require_registered_instances(*store, {"rins-online01", "rins-missing1"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == codes::kInstanceNotFound);
  CHECK(missing.error().message.find("rins-missing1") != std::string::npos);

  // RunCommand and SendFile refuse such a target alike, and store nothing.
  domain::RunRequest run;
  run.command.content = base64_encode("uptime");
  run.instance_ids = {"rins-online01", "rins-missing1"};
  CHECK(code_of(domain::run_command(ctx, run)) == codes::kInstanceNotFound);
  domain::SendFileRequest file;
  file.file.name = "app.conf";
  file.file.target_dir = "/etc/app";
  file.content = base64_encode("key=value\n");
  file.instance_ids = {"rins-missing1"};
  CHECK(code_of(domain::send_file(ctx, file)) == codes::kInstanceNotFound);
  CHECK(store->list_invocations({}).value().total == 0);
  file.instance_ids = {"rins-offline1"};
  CHECK(domain::send_file(ctx, file));
}

TEST_CASE_METHOD(DomainFixture, "listings page newest first and show live output",
                 "[domain][invocations]") {
  domain::RunRequest r;
  r.command.content = base64_encode("echo hi");
  r.instance_ids = {"rins-online01"};
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    clock.advance_ms(1000);
    ids.push_back(domain::run_command(ctx, r).value().invocation_id);
  }
  InvocationQuery q;
  q.offset = 1;
  q.limit = 2;
  auto page = domain::describe_invocations(ctx, q);
  REQUIRE(page);
  CHECK(page->total == 5);
  REQUIRE(page->items.size() == 2);
  CHECK(page->items[0].invocation.invocation_id == ids[3]);
  CHECK(page->items[1].invocation.invocation_id == ids[2]);

  const std::string task_id = tasks_of(ids[4]).at(0).invocation_task_id;
  REQUIRE(store->modify_task(
      task_id, [](InvocationTask& t) { return advance_task(t, TaskStatus::kRunning); }));
  REQUIRE(store->put_task_log(task_id, 0, "partial output"));
  TaskQuery tq;
  tq.task_ids = {task_id};
  auto tasks = domain::describe_tasks(ctx, tq);
  REQUIRE(tasks);
  REQUIRE(tasks->items.size() == 1);
  CHECK(tasks->items[0].live_log == "partial output");
  tq.with_output = false;
  CHECK_FALSE(domain::describe_tasks(ctx, tq).value().items[0].live_log.has_value());

  CHECK(code_of(domain::check_invocation_ids({"inv-bad"})) ==
        "InvalidParameterValue.InvalidInvocationId");
  CHECK(code_of(domain::check_task_ids(std::vector<std::string>(101, "invt-aaaaaaaa"))) ==
        codes::kLimitExceeded);
}

TEST_CASE_METHOD(DomainFixture, "register codes, instances and their presence",
                 "[domain][registration]") {
  domain::RegisterCodeFields f;
  f.description = "fleet";
  f.ip_address_range = "10.0.0.0/8";
  auto code = domain::create_register_code(ctx, f);
  REQUIRE(code);
  CHECK(code->value.size() == 32);
  auto codes_page = domain::describe_register_codes(ctx, {code->register_code_id}, 0, 10);
  REQUIRE(codes_page);
  REQUIRE(codes_page->items.size() == 1);
  CHECK(codes_page->items[0].register_limit == 10);  // the model's default
  CHECK(codes_page->items[0].expired_ms == clock.now_ms() + 4 * 3600 * 1000);
  f.register_limit = 0;
  CHECK(code_of(domain::create_register_code(ctx, f)) == codes::kRange);

  domain::Registration reg;
  reg.register_code_id = code->register_code_id;
  reg.register_code_value = code->value;
  reg.public_key = "not a key";
  reg.system_name = "Linux";
  reg.remote_address = "10.1.2.3";
  CHECK(code_of(domain::check_registration(reg)) == codes::kInvalidParameterValue);
  auto key = Ed25519PrivateKey::generate();
  REQUIRE(key);
  reg.public_key = key->public_key_base64();
  reg.hostname = "web-1";
  REQUIRE(domain::check_registration(reg));
  reg.remote_address = "192.168.0.1";
  CHECK(code_of(domain::register_instance(ctx, reg)) == registration_codes::kIpAddressOutOfRange);
  reg.remote_address = "::ffff:10.1.2.3";
  auto registered = domain::register_instance(ctx, reg);
  REQUIRE(registered);
  CHECK(registered->instance_name == "web-1");
  auto again = domain::register_instance(ctx, reg);  // a retry: the same instance
  REQUIRE(again);
  CHECK(again->instance_id == registered->instance_id);
  reg.register_code_value = "wrong";
  auto other_key = Ed25519PrivateKey::generate();
  reg.public_key = other_key->public_key_base64();
  CHECK(code_of(domain::register_instance(ctx, reg)) == registration_codes::kRegisterCodeInvalid);

  REQUIRE(domain::set_register_codes_enabled(ctx, {code->register_code_id}, false));
  CHECK_FALSE(domain::describe_register_codes(ctx, {code->register_code_id}, 0, 10)
                  .value()
                  .items[0]
                  .enabled);

  domain::InstanceListing listing;
  listing.query.limit = 10;
  listing.presence = {"Online"};
  auto online = domain::describe_instances(ctx, listing);
  REQUIRE(online);
  CHECK(online->total == 2);
  for (const auto& v : online->items) {
    CHECK(v.online);
  }
  listing.presence = {"Offline"};
  listing.query.limit = 1;
  auto offline = domain::describe_instances(ctx, listing);
  CHECK(offline.value().total == 2);  // rins-offline1 and the agent registered above
  CHECK(offline.value().items.size() == 1);

  REQUIRE(domain::rename_instance(ctx, "rins-online01", "renamed"));
  CHECK(code_of(domain::rename_instance(ctx, "rins-online01", "")) ==
        codes::kInvalidParameterValue);
  REQUIRE(domain::delete_instance(ctx, "rins-online02"));
  CHECK(presence.disconnected() == std::vector<std::string>{"rins-online02"});
  CHECK_FALSE(presence.is_online("rins-online02"));
}

TEST_CASE_METHOD(DomainFixture, "deleting an instance ends its tasks that had not ended",
                 "[domain][instances]") {
  const auto run_on = [&](const std::vector<std::string>& instances) {
    domain::RunRequest r;
    r.command.content = base64_encode("sleep 100");
    r.instance_ids = instances;
    auto run = domain::run_command(ctx, r);
    REQUIRE(run);
    return run->invocation_id;
  };
  // One task of each kind on rins-online02: pending, running, cancelling, finished; and one on
  // another instance, which must not change.
  const auto pending = tasks_of(run_on({"rins-online02"})).at(0).invocation_task_id;
  const auto running = tasks_of(run_on({"rins-online02"})).at(0).invocation_task_id;
  set_task_status(running, TaskStatus::kRunning);
  const auto cancelling = tasks_of(run_on({"rins-online02"})).at(0).invocation_task_id;
  set_task_status(cancelling, TaskStatus::kCancelling);
  const auto done = tasks_of(run_on({"rins-online02"})).at(0).invocation_task_id;
  set_task_status(done, TaskStatus::kSuccess);
  const auto elsewhere = tasks_of(run_on({"rins-online01"})).at(0).invocation_task_id;

  clock.advance_ms(5000);
  REQUIRE(domain::delete_instance(ctx, "rins-online02"));
  CHECK(task(pending).status == TaskStatus::kDeliverFailed);
  CHECK(task(pending).error_info == "the instance was deleted");
  CHECK(task(pending).end_ms == clock.now_ms());
  CHECK(task(running).status == TaskStatus::kTerminated);
  CHECK(task(cancelling).status == TaskStatus::kTerminated);
  CHECK(task(done).status == TaskStatus::kSuccess);
  CHECK(task(done).error_info.empty());
  CHECK(task(elsewhere).status == TaskStatus::kPending);
}

TEST_CASE("is_utf8 takes well-formed UTF-8 only") {
  for (const char* good : {"", "plain", "caf\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87",
                           "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}) {
    CHECK(domain::is_utf8(good));
  }
  const std::string bad[] = {
      "\x80",                  // a continuation byte alone
      "caf\xc3",               // cut short
      "\xe4\xb8",              // cut short
      "\xc0\xaf",              // overlong '/'
      "\xe0\x80\xaf",          // overlong '/'
      "\xed\xa0\x80",          // a surrogate, U+D800
      "\xf4\x90\x80\x80",      // past U+10FFFF
      "\xf8\x88\x80\x80\x80",  // a five-byte form
      "a\xc3(",                // a lead byte without its continuation
  };
  for (const auto& b : bad) {
    CHECK_FALSE(domain::is_utf8(b));
  }
}
