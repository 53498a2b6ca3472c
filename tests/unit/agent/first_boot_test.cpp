// First boot from a register file, a clone's re-registration and the retries of RegisterInstance,
// on a real state dir with a fake registrar (no server).
#include "ferry/agent/first_boot.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/agent/identity.hpp"
#include "ferry/agent/registration.hpp"
#include "ferry/core/error_codes.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry;
using namespace ferry::agent;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr const char* kSecret = "s3cret-code-value-0123456789";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Registers what it is asked to as rins-fake000N, or answers with `refusal` when it is set.
struct FakeRegistrar {
  struct Call {
    RegistrationRequest request;
    std::string public_key;
  };
  std::vector<Call> calls;
  std::optional<Error> refusal;

  Registrar fn() {
    return [this](const RegistrationRequest& r,
                  const std::shared_ptr<const Ed25519PrivateKey>& key) -> Expected<Identity> {
      calls.push_back({r, key->public_key_base64()});
      if (refusal) {
        return *refusal;
      }
      Identity id;
      id.instance_id = "rins-fake000" + std::to_string(calls.size());
      id.instance_name = r.instance_name.empty() ? "named-by-server" : r.instance_name;
      id.server_url = r.server_url;
      id.ca_file = r.ca_file;
      id.allow_plain_http = r.allow_plain_http;
      id.machine_id = r.machine_id;
      return id;
    };
  }
};

struct FirstBoot {
  test::TempDir dir{"ferry-first-boot"};
  IdentitySetup setup;
  FakeRegistrar registrar;

  FirstBoot() {
    setup.state_dir = dir / "state";
    setup.register_file = dir / "register.json";
    setup.machine_id = "machine-a";
  }

  void write_register_file(const json& j, mode_t mode = 0600) const {
    std::ofstream(setup.register_file) << j.dump();
    REQUIRE(::chmod(setup.register_file.c_str(), mode) == 0);
  }
  static json register_json() {
    return {{"server_url", "https://ferry.example:8443"},
            {"register_code_id", "0b6c5a0e-9f4e-4c55-a7a4-1f1d2f0e9a11"},
            {"register_code", kSecret},
            {"instance_name", "web-image"}};
  }
  Status prepare() { return prepare_identity(setup, registrar.fn()); }
  [[nodiscard]] Identity identity() const {
    auto id = load_identity(setup.state_dir);
    REQUIRE(id);
    return *id;
  }
  [[nodiscard]] std::string public_key() const {
    auto k = load_key(setup.state_dir);
    REQUIRE(k);
    return k->public_key_base64();
  }
  // A registration as `ferry-agent register` leaves it, on `machine`, with a task in the journal.
  void registered_on(const std::string& machine, bool store_code = true) {
    setup.machine_id = machine;
    write_register_file(register_json());
    REQUIRE(prepare());
    REQUIRE(identity().machine_id == machine);
    fs::create_directories(setup.state_dir / "tasks" / "invt-old00001");
    std::ofstream(setup.state_dir / "tasks" / "invt-old00001" / "journal.json") << "{}";
    if (!store_code) {
      fs::remove(register_code_file(setup.state_dir));
    }
  }
};

}  // namespace

TEST_CASE("register file: what is read, and every refusal names the file and the reason",
          "[first-boot]") {
  FirstBoot f;
  f.write_register_file({{"server_url", "http://127.0.0.1:9"},
                         {"register_code_id", "rc-1"},
                         {"register_code", kSecret},
                         {"ca_file", "/etc/ferry/ca.pem"},
                         {"allow_plain_http", true},
                         {"instance_name", "web-1"}});
  auto good = read_register_file(f.setup.register_file);
  REQUIRE(good);
  CHECK(good->server_url == "http://127.0.0.1:9");
  CHECK(good->code.id == "rc-1");
  CHECK(good->code.value == kSecret);
  CHECK(good->ca_file == "/etc/ferry/ca.pem");
  CHECK(good->allow_plain_http);
  CHECK(good->instance_name == "web-1");

  struct Case {
    json file;
    mode_t mode;
    std::string says;
  };
  auto with = [](const char* key, json value) {
    auto j = FirstBoot::register_json();
    j[key] = std::move(value);
    return j;
  };
  auto without = [](const char* key) {
    auto j = FirstBoot::register_json();
    j.erase(key);
    return j;
  };
  for (const Case& c : {
           Case{FirstBoot::register_json(), 0644, "mode must be 0600 or stricter"},
           Case{FirstBoot::register_json(), 0640, "mode must be 0600 or stricter"},
           Case{FirstBoot::register_json(), 0602, "mode must be 0600 or stricter"},
           Case{with("bogus", 1), 0600, "bogus: unknown key"},
           Case{without("register_code"), 0600, "register_code: required"},
           Case{without("server_url"), 0600, "server_url: required"},
           Case{with("register_code", 12), 0600, "register_code: must be a string"},
           Case{with("allow_plain_http", "yes"), 0600, "allow_plain_http: must be true or false"},
           Case{with("server_url", "http://192.0.2.1:8080"), 0600, "plain http"},
           Case{with("server_url", "ftp://x"), 0600, "server_url"},
           Case{with("register_code_id", "a b"), 0600, "register_code_id: not a register code id"},
           Case{with("ca_file", "ca.pem"), 0600, "ca_file: must be an absolute path"},
           Case{with("instance_name", std::string(61, 'n')), 0600, "instance_name: 1 to 60"},
           Case{with("instance_name", ""), 0600, "instance_name: 1 to 60"},
           Case{json::array({1}), 0600, "not a JSON object"},
       }) {
    INFO(c.file.dump() << " mode " << std::oct << c.mode);
    f.write_register_file(c.file, c.mode);
    auto r = read_register_file(f.setup.register_file);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(f.setup.register_file.string()) != std::string::npos);
    CHECK(r.error().message.find(c.says) != std::string::npos);
    CHECK(r.error().message.find(kSecret) == std::string::npos);
  }

  // A symbolic link is not followed, even to a good file.
  f.write_register_file(FirstBoot::register_json());
  const auto link = f.dir / "link.json";
  fs::create_symlink(f.setup.register_file, link);
  auto linked = read_register_file(link);
  REQUIRE_FALSE(linked);
  CHECK(linked.error().message.find("not a regular file") != std::string::npos);

  // Owned by another account (root can make one): refused although 0600.
  if (::geteuid() == 0) {
    REQUIRE(::chown(f.setup.register_file.c_str(), 65534, 65534) == 0);
    auto foreign = read_register_file(f.setup.register_file);
    REQUIRE_FALSE(foreign);
    CHECK(foreign.error().message.find("owned by uid 65534") != std::string::npos);
  } else {
    WARN("not root: the owner check is not exercised");
  }
}

TEST_CASE("first boot: registers from the register file, keeps the code, removes the file",
          "[first-boot]") {
  FirstBoot f;
  f.write_register_file(FirstBoot::register_json());
  REQUIRE(f.prepare());

  REQUIRE(f.registrar.calls.size() == 1);
  const auto& r = f.registrar.calls[0].request;
  CHECK(r.server_url == "https://ferry.example:8443");
  CHECK(r.code.id == "0b6c5a0e-9f4e-4c55-a7a4-1f1d2f0e9a11");
  CHECK(r.code.value == kSecret);
  CHECK(r.instance_name == "web-image");
  CHECK(r.machine_id == "machine-a");

  const auto id = f.identity();
  CHECK(id.instance_id == "rins-fake0001");
  CHECK(id.instance_name == "web-image");
  CHECK(id.machine_id == "machine-a");
  CHECK(f.public_key() == f.registrar.calls[0].public_key);
  CHECK_FALSE(fs::exists(f.setup.register_file));
  auto code = load_register_code(f.setup.state_dir);
  REQUIRE(code);
  REQUIRE(code->has_value());
  CHECK((*code)->id == "0b6c5a0e-9f4e-4c55-a7a4-1f1d2f0e9a11");
  CHECK((*code)->value == kSecret);
  for (const char* file : {"identity.json", "agent.key", "register_code.json"}) {
    INFO(file);
    CHECK(file_mode(f.setup.state_dir / file) == 0600);
  }
  // Only the code file holds the secret; no pending file is left.
  CHECK(slurp(f.setup.state_dir / "identity.json").find(kSecret) == std::string::npos);
  CHECK_FALSE(fs::exists(pending_key_file(f.setup.state_dir, "machine-a")));
  CHECK_FALSE(fs::exists(f.setup.state_dir / "identity.json.new"));

  // The next start finds this machine's identity and registers nothing.
  REQUIRE(f.prepare());
  CHECK(f.registrar.calls.size() == 1);
}

TEST_CASE("first boot: nothing to do without a register file; a bad file stops the agent",
          "[first-boot]") {
  FirstBoot f;
  REQUIRE(f.prepare());
  CHECK(f.registrar.calls.empty());
  CHECK_FALSE(fs::exists(identity_file(f.setup.state_dir)));

  f.write_register_file(FirstBoot::register_json(), 0644);
  auto s = f.prepare();
  REQUIRE_FALSE(s);
  CHECK(prepare_identity_exit_code(s.error()) == 2);
  CHECK(s.error().message.find("0600") != std::string::npos);
  CHECK(f.registrar.calls.empty());
  CHECK(fs::exists(f.setup.register_file));
}

TEST_CASE(
    "first boot: a refusal keeps the file and stops the agent; an unreachable server exits 1"
    " and the next try reuses the key",
    "[first-boot]") {
  FirstBoot f;
  f.write_register_file(FirstBoot::register_json());
  f.registrar.refusal = Error{kServerUnreachable, "RegisterInstance at https://x: timed out"};
  auto s = f.prepare();
  REQUIRE_FALSE(s);
  CHECK(prepare_identity_exit_code(s.error()) == 1);
  CHECK(s.error().message.find("timed out (tried again when the agent starts again)") !=
        std::string::npos);

  f.registrar.refusal =
      Error{"OperationDenied.RegisterCodeExpired", "RegisterInstance: the code expired"};
  s = f.prepare();
  REQUIRE_FALSE(s);
  CHECK(prepare_identity_exit_code(s.error()) == 2);
  CHECK(s.error().message.find("the code expired") != std::string::npos);
  CHECK(s.error().message.find("To fix:") != std::string::npos);
  CHECK(s.error().message.find(kSecret) == std::string::npos);
  CHECK(fs::exists(f.setup.register_file));
  CHECK_FALSE(fs::exists(identity_file(f.setup.state_dir)));

  // A reply that was lost: the same key goes again, so the server answers with one instance.
  f.registrar.refusal.reset();
  REQUIRE(f.prepare());
  REQUIRE(f.registrar.calls.size() == 3);
  CHECK(f.registrar.calls[0].public_key == f.registrar.calls[2].public_key);
  CHECK(f.registrar.calls[1].public_key == f.registrar.calls[2].public_key);
  CHECK(f.public_key() == f.registrar.calls[2].public_key);
}

TEST_CASE(
    "clone: a new machine id registers again with the stored code; the old identity and "
    "journal go aside",
    "[first-boot]") {
  FirstBoot f;
  f.registered_on("machine-a");
  const Identity original = f.identity();
  const std::string original_key = f.public_key();

  f.setup.machine_id = "machine-b";
  SECTION("with the stored code") {
    REQUIRE(f.prepare());
    REQUIRE(f.registrar.calls.size() == 2);
    const auto& r = f.registrar.calls[1].request;
    CHECK(r.code.id == "0b6c5a0e-9f4e-4c55-a7a4-1f1d2f0e9a11");
    CHECK(r.code.value == kSecret);
    CHECK(r.server_url == original.server_url);
    CHECK(r.machine_id == "machine-b");
    CHECK(r.instance_name.empty());  // the server names a clone

    const auto now = f.identity();
    CHECK(now.instance_id == "rins-fake0002");
    CHECK(now.machine_id == "machine-b");
    CHECK(f.public_key() != original_key);
    CHECK(f.public_key() == f.registrar.calls[1].public_key);
    // The original's identity is kept (0600) and its journal is not this instance's.
    const auto kept = f.setup.state_dir / ("identity.json." + original.instance_id);
    CHECK(file_mode(kept) == 0600);
    auto kept_id = read_identity_file(kept);
    REQUIRE(kept_id);
    CHECK(kept_id->instance_id == original.instance_id);
    CHECK(kept_id->machine_id == "machine-a");
    CHECK(fs::exists(f.setup.state_dir / ("tasks." + original.instance_id) / "invt-old00001" /
                     "journal.json"));
    CHECK_FALSE(fs::exists(f.setup.state_dir / "tasks" / "invt-old00001"));
    CHECK_FALSE(fs::exists(pending_key_file(f.setup.state_dir, "machine-b")));

    // Started again on the clone: nothing more to do.
    REQUIRE(f.prepare());
    CHECK(f.registrar.calls.size() == 2);
  }
  SECTION("the configuration's server overrides the saved one") {
    f.setup.server_url = "https://other.example";
    REQUIRE(f.prepare());
    CHECK(f.registrar.calls.back().request.server_url == "https://other.example");
  }
  SECTION("with a register file, which wins over the stored code and is removed") {
    auto j = FirstBoot::register_json();
    j["register_code_id"] = "rc-fresh";
    j["register_code"] = "fresh-value";
    f.write_register_file(j);
    REQUIRE(f.prepare());
    CHECK(f.registrar.calls.back().request.code.id == "rc-fresh");
    CHECK_FALSE(fs::exists(f.setup.register_file));
    auto code = load_register_code(f.setup.state_dir);
    REQUIRE(code);
    CHECK((*code)->id == "rc-fresh");
  }
  SECTION("a code used up: the agent stops, says why, and keeps the original's identity") {
    f.registrar.refusal = Error{"OperationDenied.RegisterLimitExceeded",
                                "RegisterInstance: OperationDenied.RegisterLimitExceeded: used up"};
    auto s = f.prepare();
    REQUIRE_FALSE(s);
    CHECK(prepare_identity_exit_code(s.error()) == 2);
    const auto& m = s.error().message;
    CHECK(m.find("machine id machine-a") != std::string::npos);
    CHECK(m.find("this machine's id is machine-b") != std::string::npos);
    CHECK(m.find("stored register code 0b6c5a0e") != std::string::npos);
    CHECK(m.find("OperationDenied.RegisterLimitExceeded") != std::string::npos);
    CHECK(m.find("To fix:") != std::string::npos);
    CHECK(m.find(kSecret) == std::string::npos);
    CHECK(f.identity().instance_id == original.instance_id);
    CHECK(fs::exists(f.setup.state_dir / "tasks" / "invt-old00001"));

    // The pending key of this machine is used again by the next try.
    f.registrar.refusal.reset();
    REQUIRE(f.prepare());
    CHECK(f.registrar.calls[1].public_key == f.registrar.calls[2].public_key);
  }
}

TEST_CASE("clone: without a stored code the agent stops with the reason and the fix",
          "[first-boot]") {
  FirstBoot f;
  f.registered_on("machine-a", /*store_code=*/false);
  f.setup.machine_id = "machine-b";
  auto s = f.prepare();
  REQUIRE_FALSE(s);
  CHECK(s.error().code == kNoRegisterCode);
  CHECK(prepare_identity_exit_code(s.error()) == 2);
  CHECK(s.error().message.find("no register code is stored") != std::string::npos);
  CHECK(s.error().message.find(f.setup.register_file.string()) != std::string::npos);
  CHECK(f.registrar.calls.size() == 1);
  CHECK(f.identity().machine_id == "machine-a");
}

TEST_CASE(
    "same machine: an identity without a machine id adopts this one; a leftover register "
    "file of the stored code goes, another is left alone",
    "[first-boot]") {
  FirstBoot f;
  f.registered_on("machine-a");
  auto id = f.identity();
  id.machine_id.clear();
  REQUIRE(save_identity(f.setup.state_dir, id));
  f.setup.machine_id = "machine-c";
  REQUIRE(f.prepare());
  CHECK(f.identity().machine_id == "machine-c");
  CHECK(f.identity().instance_id == id.instance_id);
  CHECK(f.registrar.calls.size() == 1);

  // An unknown machine id cannot tell a clone: nothing happens.
  f.setup.machine_id.clear();
  REQUIRE(f.prepare());
  CHECK(f.registrar.calls.size() == 1);
  f.setup.machine_id = "machine-c";

  auto other = FirstBoot::register_json();
  other["register_code_id"] = "rc-other";
  f.write_register_file(other);
  REQUIRE(f.prepare());
  CHECK(fs::exists(f.setup.register_file));
  f.write_register_file(FirstBoot::register_json());
  REQUIRE(f.prepare());
  CHECK_FALSE(fs::exists(f.setup.register_file));
  CHECK(f.registrar.calls.size() == 1);
}

TEST_CASE("a registration interrupted between its steps is finished by the next start",
          "[first-boot]") {
  FirstBoot f;
  f.registered_on("machine-a");
  const auto original = f.identity();
  // As a crash leaves it after the new identity and key were written, before they were put in
  // place.
  Identity next = original;
  next.instance_id = "rins-next0001";
  next.machine_id = "machine-b";
  REQUIRE(write_identity_file(f.setup.state_dir / "identity.json.new", next));
  auto key = registration_key(pending_key_file(f.setup.state_dir, "machine-b"));
  REQUIRE(key);

  f.setup.machine_id = "machine-b";
  REQUIRE(f.prepare());
  CHECK(f.registrar.calls.size() == 1);
  CHECK(f.identity().instance_id == "rins-next0001");
  CHECK(f.public_key() == (*key)->public_key_base64());
  CHECK(fs::exists(f.setup.state_dir / ("identity.json." + original.instance_id)));
  CHECK(fs::exists(f.setup.state_dir / ("tasks." + original.instance_id)));
  CHECK_FALSE(fs::exists(f.setup.state_dir / "identity.json.new"));
}

TEST_CASE("RegisterInstance: the fields sent, retries with growing delays, refusals at once",
          "[first-boot]") {
  RegistrationRequest request;
  request.server_url = "https://ferry.example";
  request.code = RegisterCode{"rc-1", kSecret};
  request.instance_name = "web-1";
  request.machine_id = "machine-a";
  RegisterRetry retry;
  retry.max_attempts = 5;
  retry.first_delay = milliseconds(100);
  retry.max_delay = milliseconds(300);

  std::vector<json> sent;
  std::vector<milliseconds> slept;
  std::vector<CallResult> answers;
  RegisterTransport transport;
  transport.call = [&](const json& fields) {
    sent.push_back(fields);
    CallResult r = answers.front();
    answers.erase(answers.begin());
    return r;
  };
  transport.sleep = [&](milliseconds d) { slept.push_back(d); };
  std::int64_t offset = 0;
  transport.set_clock_offset = [&](std::int64_t s) { offset = s; };
  const auto unreachable = [] {
    CallResult r;
    r.transport_error = "connect: connection refused";
    return r;
  };
  const auto answer = [](json response) {
    CallResult r;
    r.http_status = 200;
    r.set_response(std::move(response));
    return r;
  };

  SECTION("answered after two transport errors") {
    answers = {unreachable(), unreachable(),
               answer({{"InstanceId", "rins-abc12345"}, {"InstanceName", "web-1"}})};
    auto id = send_registration(request, "PUBKEY", retry, transport);
    REQUIRE(id);
    CHECK(id->instance_id == "rins-abc12345");
    CHECK(id->machine_id == "machine-a");
    CHECK(id->server_url == "https://ferry.example");
    REQUIRE(sent.size() == 3);
    CHECK(sent[0]["RegisterCodeId"] == "rc-1");
    CHECK(sent[0]["RegisterCodeValue"] == kSecret);
    CHECK(sent[0]["PublicKey"] == "PUBKEY");
    CHECK(sent[0]["InstanceName"] == "web-1");
    CHECK(sent[0]["MachineId"] == "machine-a");
    REQUIRE(slept.size() == 2);
    CHECK(slept[0] >= milliseconds(50));
    CHECK(slept[0] <= milliseconds(100));
    CHECK(slept[1] >= milliseconds(100));
    CHECK(slept[1] <= milliseconds(200));
  }
  SECTION("never answered: bounded, with the delays capped") {
    answers.assign(5, unreachable());
    auto id = send_registration(request, "PUBKEY", retry, transport);
    REQUIRE_FALSE(id);
    CHECK(id.error().code == kServerUnreachable);
    CHECK(id.error().message.find("connection refused") != std::string::npos);
    CHECK(id.error().message.find(kSecret) == std::string::npos);
    CHECK(sent.size() == 5);
    REQUIRE(slept.size() == 4);
    for (auto d : slept) {
      CHECK(d <= milliseconds(300));
    }
    CHECK(slept[3] >= milliseconds(150));
  }
  SECTION("refused: not sent again") {
    answers = {answer(
        {{"Error", {{"Code", "OperationDenied.RegisterLimitExceeded"}, {"Message", "used up"}}}})};
    auto id = send_registration(request, "PUBKEY", retry, transport);
    REQUIRE_FALSE(id);
    CHECK(id.error().code == "OperationDenied.RegisterLimitExceeded");
    CHECK(id.error().message.find("rc-1") != std::string::npos);
    CHECK(sent.size() == 1);
    CHECK(slept.empty());
  }
  SECTION("a clock off by an hour is corrected once") {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    answers = {answer({{"Error", {{"Code", "AuthFailure.SignatureExpire"}, {"Message", "skew"}}},
                       {"ServerTime", now + 3600}}),
               answer({{"InstanceId", "rins-abc12345"}})};
    auto id = send_registration(request, "PUBKEY", retry, transport);
    REQUIRE(id);
    CHECK(offset >= 3590);
    CHECK(offset <= 3610);
    CHECK(slept.empty());
  }
}
