#include "ferry/cli/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace ferry::cli;

namespace {

using ferry::test::TempDir;

// Private (0700), as the config files with keys in them must be.
constexpr mode_t kPrivate = 0700;

fs::path write(const fs::path& file, const std::string& text, mode_t mode = 0600) {
  fs::create_directories(file.parent_path());
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ::chmod(file.c_str(), mode);
  return file;
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) {
      return std::nullopt;
    }
    return it->second;
  };
}

ConfigValues with_endpoint(const std::string& endpoint) {
  ConfigValues v;
  v.endpoint = endpoint;
  return v;
}

ConfigValues with_pair(const std::string& id, const std::string& key) {
  ConfigValues v;
  v.secret_id = id;
  v.secret_key = key;
  return v;
}

}  // namespace

TEST_CASE("config: each setting from flags, else the environment, else the file", "[cli][config]") {
  // Each place names its values after itself; the environment has no region.
  const auto place = [](const std::string& name, int port) {
    ConfigValues v;
    v.endpoint = "http://127.0.0.1:" + std::to_string(port);
    v.region = "ap-" + name;
    v.secret_id = name + "-id";
    v.secret_key = name + "-key";
    return v;
  };
  const ConfigValues file = place("file", 3);
  ConfigValues env = place("env", 2);
  env.region.reset();
  const ConfigValues flags = place("flag", 1);
  const auto expect = [](const ferry::Expected<ClientConfig>& c, const std::string& host,
                         const std::string& region, const std::string& name) {
    REQUIRE(c);
    CHECK(c->endpoint.host_header == host);
    CHECK(c->region == region);
    CHECK(c->secret_id == name + "-id");
    CHECK(c->secret_key == name + "-key");
  };
  expect(resolve_config({}, {}, file), "127.0.0.1:3", "ap-file", "file");
  expect(resolve_config({}, env, file), "127.0.0.1:2", "ap-file", "env");
  expect(resolve_config(flags, env, file), "127.0.0.1:1", "ap-flag", "flag");
}

TEST_CASE("config: defaults and what is missing", "[cli][config]") {
  auto defaults = resolve_config(with_endpoint("https://ferry.example"), with_pair("i", "k"), {});
  REQUIRE(defaults);
  CHECK(defaults->region == "ap-guangzhou");
  CHECK(defaults->ca_file.empty());
  CHECK_FALSE(defaults->allow_plain_http);

  auto no_endpoint = resolve_config({}, with_pair("i", "k"), {});
  REQUIRE_FALSE(no_endpoint);
  CHECK(no_endpoint.error().message.find("no endpoint") != std::string::npos);
  CHECK(no_endpoint.error().message.find("FERRY_ENDPOINT") != std::string::npos);

  auto no_credentials = resolve_config(with_endpoint("https://ferry.example"), {}, {});
  REQUIRE_FALSE(no_credentials);
  CHECK(no_credentials.error().message.find("no credentials") != std::string::npos);
}

TEST_CASE("config: the credentials come as a pair from one place", "[cli][config]") {
  const TempDir dir("ferry-cli-config", kPrivate);
  const auto creds = write(dir / "credentials.json",
                           R"({"SecretId": "AKIDfromfile", "SecretKey": "keyfromfile"})");
  ConfigValues env;
  env.endpoint = "http://127.0.0.1:9";
  env.credentials_file = creds.string();

  SECTION("a credentials file in the environment beats a pair in the config file") {
    auto c = resolve_config({}, env, with_pair("file-id", "file-key"));
    REQUIRE(c);
    CHECK(c->secret_id == "AKIDfromfile");
    CHECK(c->secret_key == "keyfromfile");
  }
  SECTION("a pair on the command line beats the environment's file") {
    auto c = resolve_config(with_pair("flag-id", "flag-key"), env, {});
    REQUIRE(c);
    CHECK(c->secret_id == "flag-id");
    CHECK(c->secret_key == "flag-key");
  }
  SECTION("in one place, an explicit value beats the file's") {
    env.secret_key = "explicit-key";
    auto c = resolve_config({}, env, {});
    REQUIRE(c);
    CHECK(c->secret_id == "AKIDfromfile");
    CHECK(c->secret_key == "explicit-key");
  }
  SECTION("half a pair is an error naming what is missing, not a mix of places") {
    ConfigValues flags;
    flags.secret_id = "flag-id";
    auto c = resolve_config(flags, env, {});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("--secret-key") != std::string::npos);
  }
  SECTION("a credentials file others can read is refused, as the server refuses it") {
    ::chmod(creds.c_str(), 0644);
    auto c = resolve_config({}, env, {});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("chmod 600") != std::string::npos);
  }
  SECTION("the secret key never shows in an error") {
    write(creds, R"({"SecretId": "", "SecretKey": "keyfromfile"})");
    auto c = resolve_config({}, env, {});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("keyfromfile") == std::string::npos);
  }
}

TEST_CASE("config: plain http to a remote host needs the allow flag from any place",
          "[cli][config]") {
  ConfigValues flags = with_endpoint("http://192.0.2.7:8080");
  auto refused = resolve_config(flags, with_pair("i", "k"), {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("plain http") != std::string::npos);

  ConfigValues file;
  file.allow_plain_http = true;
  CHECK(resolve_config(flags, with_pair("i", "k"), file));
  ConfigValues env = with_pair("i", "k");
  env.allow_plain_http = false;  // the environment says no, above the file's yes
  CHECK_FALSE(resolve_config(flags, env, file));
}

TEST_CASE("config: the environment variables", "[cli][config]") {
  auto v = config_from_env(env_of({{"FERRY_ENDPOINT", "http://127.0.0.1:1"},
                                   {"FERRY_SECRET_ID", "id"},
                                   {"FERRY_SECRET_KEY", "key"},
                                   {"FERRY_CREDENTIALS_FILE", "/c.json"},
                                   {"FERRY_REGION", "ap-x"},
                                   {"FERRY_CA_FILE", "/ca.pem"},
                                   {"FERRY_ALLOW_PLAIN_HTTP", "yes"}}));
  REQUIRE(v);
  CHECK(v->endpoint == "http://127.0.0.1:1");
  CHECK(v->secret_id == "id");
  CHECK(v->secret_key == "key");
  CHECK(v->credentials_file == "/c.json");
  CHECK(v->region == "ap-x");
  CHECK(v->ca_file == "/ca.pem");
  CHECK(v->allow_plain_http == true);

  auto empty = config_from_env(env_of({{"FERRY_ENDPOINT", ""}}));
  REQUIRE(empty);
  CHECK_FALSE(empty->endpoint);

  auto bad = config_from_env(env_of({{"FERRY_ALLOW_PLAIN_HTTP", "maybe"}}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("FERRY_ALLOW_PLAIN_HTTP") != std::string::npos);
}

TEST_CASE("config: which file is read", "[cli][config]") {
  const TempDir dir("ferry-cli-config", kPrivate);
  const auto home = dir / "home";
  const auto xdg = dir / "xdg";

  auto none = choose_config_file(std::nullopt, env_of({{"HOME", home.string()}}));
  CHECK_FALSE(none);  // ~/.config/ferry/config.json does not exist: no file, no error

  write(home / ".config/ferry/config.json", "{}");
  auto from_home = choose_config_file(std::nullopt, env_of({{"HOME", home.string()}}));
  REQUIRE(from_home);
  CHECK(from_home->path == home / ".config/ferry/config.json");

  write(xdg / "ferry/config.json", "{}");
  auto from_xdg = choose_config_file(
      std::nullopt, env_of({{"HOME", home.string()}, {"XDG_CONFIG_HOME", xdg.string()}}));
  REQUIRE(from_xdg);
  CHECK(from_xdg->path == xdg / "ferry/config.json");

  auto from_env = choose_config_file(
      std::nullopt, env_of({{"HOME", home.string()}, {"FERRY_CONFIG", "/etc/ferry.json"}}));
  REQUIRE(from_env);
  CHECK(from_env->path == "/etc/ferry.json");

  auto from_flag =
      choose_config_file(std::string("/x.json"), env_of({{"FERRY_CONFIG", "/etc/ferry.json"}}));
  REQUIRE(from_flag);
  CHECK(from_flag->path == "/x.json");
}

TEST_CASE("config: the file's keys", "[cli][config]") {
  const TempDir dir("ferry-cli-config", kPrivate);
  const auto file = write(dir / "conf/config.json", R"({
    "endpoint": "https://ferry.example:8443",
    "credentials_file": "creds.json",
    "region": "ap-shanghai",
    "ca_file": "/etc/ssl/ferry-ca.pem",
    "allow_plain_http": false
  })",
                          0644);
  auto v = load_config_file(file);
  REQUIRE(v);
  CHECK(v->endpoint == "https://ferry.example:8443");
  // Relative to the config file, not to where ferry runs.
  CHECK(v->credentials_file == (dir / "conf/creds.json").string());
  CHECK(v->region == "ap-shanghai");
  CHECK(v->ca_file == "/etc/ssl/ferry-ca.pem");
  CHECK(v->allow_plain_http == false);

  auto unknown = load_config_file(write(dir / "u.json", R"({"endpont": "x"})"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("endpont: unknown key") != std::string::npos);

  auto wrong_type = load_config_file(write(dir / "t.json", R"({"allow_plain_http": "yes"})"));
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().message.find("allow_plain_http") != std::string::npos);

  auto not_json = load_config_file(write(dir / "n.json", "endpoint = x"));
  REQUIRE_FALSE(not_json);

  auto missing = load_config_file(dir / "absent.json");
  REQUIRE_FALSE(missing);

  // A file holding the secret key must be the owner's alone.
  const auto secret = write(dir / "s.json", R"({"secret_id": "i", "secret_key": "k"})", 0644);
  auto open_secret = load_config_file(secret);
  REQUIRE_FALSE(open_secret);
  CHECK(open_secret.error().message.find("chmod 600") != std::string::npos);
  ::chmod(secret.c_str(), 0600);
  CHECK(load_config_file(secret));
}

TEST_CASE("config: the server's credentials.json", "[cli][config]") {
  const TempDir dir("ferry-cli-config", kPrivate);
  auto ok = read_credentials_file(
      write(dir / "c.json", "{\n  \"SecretId\": \"AKIDx\",\n  \"SecretKey\": \"sk\"\n}\n"));
  REQUIRE(ok);
  CHECK(ok->secret_id == "AKIDx");
  CHECK(ok->secret_key == "sk");
  CHECK_FALSE(read_credentials_file(write(dir / "bad.json", R"({"SecretId": 1})")));
  CHECK_FALSE(read_credentials_file(dir / "absent.json"));
}
