#include "ferry/server/config.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "config_docs.hpp"
#include "process.hpp"
#include "test_process.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::TempDir;

namespace {

std::string apply_error(const nlohmann::json& j) {
  ServerConfig c;
  auto s = apply_server_config_json(j, c);
  return s ? std::string() : s.error().message;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777u;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

}  // namespace

TEST_CASE("Server configuration from JSON", "[config]") {
  ServerConfig c;
  c.data_dir = "/var/lib/ferry-server";
  REQUIRE(validate_server_config(c).has_value());

  const nlohmann::json j = {
      {"listen", "0.0.0.0:9443"},
      {"data_dir", "/srv/ferry"},
      {"credentials", {{{"SecretId", "AKIDtest"}, {"SecretKey", "secret"}}}},
      {"regions", {"ap-shanghai", {{"Region", "ap-beijing"}, {"RegionName", "Beijing"}}}},
      {"rate_limit", 5},
      {"acs_regions", {"cn-hangzhou", "cn-beijing"}},
      {"deliver_timeout_s", 600},
      {"task_timeout_grace_s", 30},
      {"sweep_interval_ms", 250},
      {"heartbeat_interval_s", 30},
      {"online_window_s", 90},
      {"allow_plain_http", true}};
  REQUIRE(apply_server_config_json(j, c).has_value());
  REQUIRE(validate_server_config(c).has_value());
  CHECK(c.listen == "0.0.0.0:9443");
  REQUIRE(c.credentials.size() == 1);
  CHECK(c.credentials[0].secret_id == "AKIDtest");
  REQUIRE(c.regions.size() == 2);
  CHECK(c.regions[0].region == "ap-shanghai");
  CHECK(c.regions[1].region_name == "Beijing");
  CHECK(sweeper_options(c).deliver_timeout_ms == 600'000);
  CHECK(sweeper_options(c).task_timeout_grace_ms == 30'000);
  CHECK(sweeper_options(c).interval_ms == 250);
  CHECK(push_hub_options(c).online_window_ms == 90'000);
  CHECK(gateway_options(c).heartbeat_interval_s == 30);
  CHECK(tat_options(c).rate_limit == 5);
  CHECK(acs_options(c).rate_limit == 5);
  CHECK(acs_options(c).regions == std::vector<std::string>{"cn-hangzhou", "cn-beijing"});
  REQUIRE(acs_options(c).credentials.size() == 1);
  CHECK(acs_options(c).credentials[0].secret_id == "AKIDtest");
  CHECK(acs_options(ServerConfig{}).regions.empty());  // default: any RegionId
  CHECK(http_server_options(c).allow_plain_http);
}

TEST_CASE("Server configuration errors name the key", "[config]") {
  CHECK_THAT(apply_error({{"listne", "x"}}),
             Catch::Contains("\"listne\"") && Catch::Contains("unknown key"));
  CHECK_THAT(apply_error({{"rate_limit", "fast"}}), Catch::Contains("\"rate_limit\""));
  CHECK_THAT(apply_error({{"allow_plain_http", 1}}), Catch::Contains("\"allow_plain_http\""));
  CHECK_THAT(apply_error({{"sweep_interval_ms", 1.5}}), Catch::Contains("\"sweep_interval_ms\""));
  CHECK_THAT(apply_error({{"io_threads", -1}}), Catch::Contains("\"io_threads\""));
  CHECK_THAT(apply_error({{"credentials", {{{"SecretId", "a"}, {"Secret", "b"}}}}}),
             Catch::Contains("credentials[0].Secret"));
  CHECK_THAT(apply_error({{"regions", {42}}}), Catch::Contains("regions[0]"));
  CHECK_THAT(apply_error({{"regions", {"ap-a", "ap-a"}}}), Catch::Contains("listed twice"));
  CHECK_THAT(apply_error({{"acs_regions", "cn-hangzhou"}}), Catch::Contains("\"acs_regions\""));
  CHECK_THAT(apply_error({{"acs_regions", {""}}}), Catch::Contains("\"acs_regions\""));
  CHECK_THAT(apply_error(nlohmann::json::array()), Catch::Contains("JSON object"));
  // The store's database: a PostgreSQL URL, never with its password in it (not echoed either).
  CHECK_THAT(apply_error({{"database", "mysql://ferry@db/ferry"}}),
             Catch::Contains("\"database\"") && Catch::Contains("postgresql://"));
  const auto with_password = apply_error({{"database", "postgresql://ferry:s3cret@db/ferry"}});
  CHECK_THAT(with_password,
             Catch::Contains("\"database\"") && Catch::Contains("database_password_file"));
  CHECK(with_password.find("s3cret") == std::string::npos);
  CHECK_THAT(apply_error({{"pg_max_connections", 0}}), Catch::Contains("\"pg_max_connections\""));

  ServerConfig c;
  CHECK_THAT(validate_server_config(c).error().message, Catch::Contains("data_dir"));
  c.data_dir = "/x";
  c.sweep_interval_ms = 1;
  CHECK_THAT(validate_server_config(c).error().message, Catch::Contains("sweep_interval_ms"));
  c.sweep_interval_ms = 1000;
  c.tls_cert_file = "cert.pem";
  CHECK_THAT(validate_server_config(c).error().message, Catch::Contains("tls_key_file"));
  c.tls_cert_file.clear();
  c.credentials = {{"AKID-bad!", "k"}};
  CHECK_THAT(validate_server_config(c).error().message, Catch::Contains("credentials[0].SecretId"));
  c.credentials.clear();
  c.log_level = "chatty";
  CHECK_THAT(validate_server_config(c).error().message, Catch::Contains("log_level"));
}

TEST_CASE("The output store's keys, and the body size it needs", "[config][outputs]") {
  ServerConfig c;
  c.data_dir = "/var/lib/ferry-server";
  REQUIRE(validate_server_config(c).has_value());
  auto defaults = output_store_options(c);
  CHECK(defaults.dir == "/var/lib/ferry-server/outputs");
  CHECK(defaults.max_bytes == 1024u * 1024u * 1024u);
  CHECK(defaults.retention_days == 7);

  REQUIRE(apply_server_config_json({{"output_dir", "/srv/outputs"},
                                    {"output_store_max_bytes", 5000000},
                                    {"output_retention_days", 30}},
                                   c)
              .has_value());
  REQUIRE(validate_server_config(c).has_value());
  const auto o = output_store_options(c);
  CHECK(o.dir == "/srv/outputs");
  CHECK(o.max_bytes == 5'000'000);
  CHECK(o.retention_days == 30);

  CHECK_THAT(apply_error({{"output_store_max_bytes", -1}}),
             Catch::Contains("\"output_store_max_bytes\""));
  CHECK_THAT(apply_error({{"output_dir", 7}}), Catch::Contains("\"output_dir\""));
  for (const int64_t days : {0, 3651}) {
    c.output_retention_days = days;
    CHECK_THAT(validate_server_config(c).error().message,
               Catch::Contains("output_retention_days") && Catch::Contains("[1, 3650]"));
  }
  c.output_retention_days = 3650;
  REQUIRE(validate_server_config(c).has_value());

  // Pieces of 512 KiB, base64 in JSON, must fit in a request body while the store is on.
  c.max_body_bytes = 768 * 1024 - 1;
  CHECK_THAT(validate_server_config(c).error().message,
             Catch::Contains("max_body_bytes") && Catch::Contains("output store"));
  c.max_body_bytes = 768 * 1024;
  CHECK(validate_server_config(c).has_value());
  c.max_body_bytes = 64 * 1024;
  c.output_store_max_bytes = 0;
  CHECK(validate_server_config(c).has_value());
}

TEST_CASE("Server configuration files", "[config]") {
  TempDir dir;
  ServerConfig c;
  auto missing = load_server_config_file(dir.path() / "nope.json", c);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("nope.json"));

  write_file(dir.path() / "bad.json", "{\"listen\": ");
  auto bad = load_server_config_file(dir.path() / "bad.json", c);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("not valid JSON"));

  // A number too large for a double is nlohmann's out_of_range, not a parse_error.
  write_file(dir.path() / "huge.json", R"({"rate_limit": 1E400})");
  auto huge = load_server_config_file(dir.path() / "huge.json", c);
  REQUIRE_FALSE(huge.has_value());
  CHECK_THAT(huge.error().message, Catch::Contains("a number out of range"));

  write_file(dir.path() / "typo.json", R"({"data_dir": "/x", "deliver_timeout": 5})");
  auto typo = load_server_config_file(dir.path() / "typo.json", c);
  REQUIRE_FALSE(typo.has_value());
  CHECK_THAT(typo.error().message,
             Catch::Contains("typo.json") && Catch::Contains("\"deliver_timeout\""));

  write_file(dir.path() / "good.json", R"({"data_dir": "/x", "deliver_timeout_s": 5})");
  REQUIRE(load_server_config_file(dir.path() / "good.json", c).has_value());
  CHECK(c.deliver_timeout_s == 5);
}

TEST_CASE("Credentials are made once, mode 0600, and reused", "[config]") {
  TempDir dir;
  const auto data = dir.path() / "data" / "nested";
  REQUIRE(ensure_data_dir(data).has_value());
  CHECK(mode_of(data) == 0700);

  auto made = load_or_create_credentials(data);
  REQUIRE(made.has_value());
  CHECK(made->created);
  CHECK(made->file == data / "credentials.json");
  CHECK(mode_of(made->file) == 0600);
  CHECK(std::regex_match(made->credential.secret_id, std::regex("AKID[A-Za-z0-9]{32}")));
  CHECK(made->credential.secret_key.size() >= 32);

  auto again = load_or_create_credentials(data);
  REQUIRE(again.has_value());
  CHECK_FALSE(again->created);
  CHECK(again->credential.secret_id == made->credential.secret_id);
  CHECK(again->credential.secret_key == made->credential.secret_key);

  REQUIRE(::chmod(made->file.c_str(), 0644) == 0);
  auto exposed = load_or_create_credentials(data);
  REQUIRE_FALSE(exposed.has_value());
  CHECK_THAT(exposed.error().message, Catch::Contains("chmod 600"));
  CHECK(exposed.error().message.find(made->credential.secret_key) == std::string::npos);

  const auto open_dir = dir.path() / "open";
  std::filesystem::create_directory(open_dir);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  CHECK_FALSE(ensure_data_dir(open_dir).has_value());
}

namespace {

constexpr const char* kConfigBucketSecret = "configBucketSecretNeverShown0001";

nlohmann::json bucket_entry(const char* key_id = "AKIDconfig") {
  return {{"AccessKeyId", key_id}, {"SecretAccessKey", kConfigBucketSecret}};
}

// The message of a refused `buckets` value; it must never hold the secret.
std::string buckets_error(const nlohmann::json& buckets) {
  const std::string message = apply_error({{"buckets", buckets}});
  CHECK(message.find(kConfigBucketSecret) == std::string::npos);
  return message;
}

std::string validate_error(const ServerConfig& c) {
  auto s = validate_server_config(c);
  return s ? std::string() : s.error().message;
}

}  // namespace

TEST_CASE("Output bucket keys", "[config][buckets]") {
  ServerConfig c;
  c.data_dir = "/x";
  CHECK(c.buckets.empty());
  CHECK(c.allow_http_bucket_hosts.empty());
  CHECK(c.output_url_ttl_s == 3600);

  nlohmann::json self_hosted = bucket_entry("minio-key");
  self_hosted["Region"] = "us-east-1";
  self_hosted["SessionToken"] = "token-1";
  const nlohmann::json j = {
      {"buckets",
       {// Stored by their normal form: lowercase host, no default port, no trailing '/'.
        {"https://Outputs-1250000000.cos.ap-guangzhou.myqcloud.com:443/", bucket_entry()},
        {"http://127.0.0.1:9000/outputs", self_hosted},
        {"default", bucket_entry("AKIDdefault")}}},
      {"allow_http_bucket_hosts", {"127.0.0.1:9000", "[::1]:9000", "Minio.Internal:80"}},
      {"output_url_ttl_s", 900}};
  REQUIRE(apply_server_config_json(j, c).has_value());
  REQUIRE(validate_server_config(c).has_value());
  REQUIRE(c.buckets.size() == 3);
  const auto& cos_entry = c.buckets.at("https://outputs-1250000000.cos.ap-guangzhou.myqcloud.com");
  CHECK(cos_entry.credentials.access_key_id == "AKIDconfig");
  CHECK(cos_entry.credentials.secret_access_key == kConfigBucketSecret);
  CHECK(cos_entry.region.empty());
  const auto& minio = c.buckets.at("http://127.0.0.1:9000/outputs");
  CHECK(minio.credentials.session_token == "token-1");
  CHECK(minio.region == "us-east-1");
  CHECK(c.buckets.at("default").credentials.access_key_id == "AKIDdefault");

  // What the domain gets, with the environment injected.
  const auto settings = server_settings(c, [](std::string_view name) {
    return name == "AWS_REGION" ? std::optional<std::string>("eu-west-1") : std::nullopt;
  });
  const auto& out = settings.output_buckets;
  CHECK(out.url_ttl_s == 900);
  CHECK(out.allow_http_hosts == c.allow_http_bucket_hosts);
  CHECK(out.credentials.size() == 3);
  REQUIRE(out.environment);
  CHECK(out.environment("AWS_REGION") == std::optional<std::string>("eu-west-1"));
  auto usable = cos::usable_bucket("http://127.0.0.1:9000/outputs", out);
  REQUIRE(usable.has_value());
  CHECK(usable->credentials.credentials.access_key_id == "minio-key");
  CHECK(usable->credentials.region == "us-east-1");
  // The default entry serves the rest, but names no region, and neither does this host.
  auto no_region = cos::usable_bucket("http://minio.internal/outputs", out);
  REQUIRE_FALSE(no_region.has_value());
  CHECK_THAT(no_region.error().message, Catch::Contains("region"));
  CHECK(cos::usable_bucket("https://other-1250000000.cos.ap-guangzhou.myqcloud.com", out)
            ->credentials.credentials.access_key_id == "AKIDdefault");
  CHECK_FALSE(cos::usable_bucket("http://127.0.0.1:9001/outputs", out).has_value());
  CHECK_FALSE(server_settings(c).output_buckets.environment);  // none unless given

  // Empty optional values are not given.
  self_hosted["Region"] = "";
  self_hosted["SessionToken"] = "";
  REQUIRE(apply_server_config_json({{"buckets", {{"default", self_hosted}}}}, c).has_value());
  CHECK(c.buckets.at("default").region.empty());
}

TEST_CASE("Output bucket key errors name the entry, never a secret", "[config][buckets]") {
  const std::string url = "https://outputs-1250000000.cos.ap-guangzhou.myqcloud.com";
  const auto with = [](nlohmann::json entry, const char* key, nlohmann::json value) {
    entry[key] = std::move(value);
    return entry;
  };
  auto without_key_id = bucket_entry();
  without_key_id.erase("AccessKeyId");

  CHECK_THAT(buckets_error(nlohmann::json::array()), Catch::Contains("\"buckets\""));
  CHECK_THAT(buckets_error({{url, "AKID:secret"}}),
             Catch::Contains(url) && Catch::Contains("must be an object"));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "Secret", "x")}}),
             Catch::Contains(url) && Catch::Contains("unknown key \"Secret\""));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "AccessKeyId", 42)}}),
             Catch::Contains(url) && Catch::Contains("AccessKeyId must be a string"));
  CHECK_THAT(buckets_error({{url, without_key_id}}), Catch::Contains("AccessKeyId is required"));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "SecretAccessKey", "")}}),
             Catch::Contains("SecretAccessKey is required"));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "SecretAccessKey",
                                       std::string(kConfigBucketSecret) + " \n")}}),
             Catch::Contains("SecretAccessKey must be"));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "SessionToken", "tok en")}}),
             Catch::Contains("SessionToken must be"));
  CHECK_THAT(buckets_error({{url, with(bucket_entry(), "Region", "us east/1")}}),
             Catch::Contains("Region must be"));
  CHECK_THAT(buckets_error({{"ftp://outputs.example.com", bucket_entry()}}),
             Catch::Contains("ftp://outputs.example.com") && Catch::Contains("bucket URL"));
  CHECK_THAT(buckets_error({{"https://s3.example.internal/a/b", bucket_entry()}}),
             Catch::Contains("path segment"));
  CHECK_THAT(buckets_error({{url, bucket_entry()}, {url + ":443/", bucket_entry()}}),
             Catch::Contains("names the same bucket"));
  CHECK(buckets_error({{url, bucket_entry()}, {"default", bucket_entry()}}).empty());

  CHECK_THAT(apply_error({{"allow_http_bucket_hosts", "127.0.0.1:9000"}}),
             Catch::Contains("\"allow_http_bucket_hosts\""));
  CHECK_THAT(apply_error({{"allow_http_bucket_hosts", {9000}}}),
             Catch::Contains("\"allow_http_bucket_hosts\""));
  CHECK_THAT(apply_error({{"output_url_ttl_s", "1h"}}), Catch::Contains("\"output_url_ttl_s\""));

  ServerConfig c;
  c.data_dir = "/x";
  for (const char* bad :
       {"minio", "minio:", "minio:0", "minio:65536", "minio:port", "[::1]", "::1:9000", "[::1]9000",
        "a/b:80", "bad_host:80", "user@h:80", "[not-v6]:80", "", "h:80/x"}) {
    INFO(bad);
    c.allow_http_bucket_hosts = {"127.0.0.1:9000", bad};
    CHECK_THAT(validate_error(c), Catch::Contains("allow_http_bucket_hosts[1]"));
  }
  c.allow_http_bucket_hosts = {"127.0.0.1:9000", "[::1]:9000", "[2001:db8::1]:65535",
                               "minio.internal:1", "MINIO-2.internal:80"};
  CHECK(validate_error(c).empty());

  for (const int64_t ttl : {int64_t{59}, int64_t{604801}, int64_t{0}}) {
    c.output_url_ttl_s = ttl;
    CHECK_THAT(validate_error(c), Catch::Contains("output_url_ttl_s"));
  }
  for (const int64_t ttl : {int64_t{60}, int64_t{604800}}) {
    c.output_url_ttl_s = ttl;
    CHECK(validate_error(c).empty());
  }
}

TEST_CASE("A config file with bucket secrets that others may read is warned of",
          "[config][buckets]") {
  TempDir dir;
  const auto file = dir.path() / "server.json";
  write_file(file,
             nlohmann::json{{"data_dir", "/x"}, {"buckets", {{"default", bucket_entry()}}}}.dump());
  ServerConfig c;
  REQUIRE(load_server_config_file(file, c).has_value());
  for (const unsigned mode : {0644u, 0640u, 0604u}) {
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    auto warning = config_file_exposure_warning(file, c);
    REQUIRE(warning.has_value());
    CHECK_THAT(*warning, Catch::Contains(file.string()) && Catch::Contains("chmod 600"));
    CHECK(warning->find(kConfigBucketSecret) == std::string::npos);
  }
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK_FALSE(config_file_exposure_warning(file, c).has_value());
  // Readable, but no bucket secrets in it.
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  CHECK_FALSE(config_file_exposure_warning(file, ServerConfig{}).has_value());
}

namespace {

using Variables = std::map<std::string, std::string>;

config::EnvironmentLookup environment_of(Variables vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string environment_error(Variables vars) {
  ServerConfig c;
  auto s = apply_server_environment(environment_of(std::move(vars)), c);
  return s ? std::string() : s.error().message;
}

}  // namespace

TEST_CASE("Every kind of bad value names the file, the key and the reason", "[config]") {
  TempDir dir;
  const auto file = dir.path() / "server.json";
  struct Case {
    const char* text;
    const char* key;
    const char* reason;
  };
  for (const Case& k : {
           Case{R"({"log_levl": "info"})", "\"log_levl\"", "unknown key"},
           Case{R"({"max_connections": "many"})", "\"max_connections\"", "must be an integer"},
           Case{R"({"allow_plain_http": "true"})", "\"allow_plain_http\"", "must be true or false"},
           Case{R"({"max_connections": 0})", "\"max_connections\"", "must be in [1, 1000000]"},
           Case{R"({"max_connections_per_source": 0})", "\"max_connections_per_source\"",
                "must be in [1, 1000000]"},
           Case{R"({"heartbeat_interval_s": 1})", "\"heartbeat_interval_s\"", "[5, 3600]"},
           Case{R"({"rate_limit": -1})", "\"rate_limit\"", "[0, 1000000]"},
           Case{R"({"log_level": "loud"})", "\"log_level\"", "must be one of trace, debug"},
           Case{R"({"log_file": "server.log"})", "\"log_file\"", "absolute path"},
           Case{R"({"log_max_size_mib": 2000})", "\"log_max_size_mib\"", "[1, 1024]"},
           Case{R"({"log_max_files": 0})", "\"log_max_files\"", "[1, 100]"},
           Case{R"({"listen": "localhost"})", "\"listen\"", "HOST:PORT"},
           Case{R"({"listen": "localhost:70000"})", "\"listen\"", "HOST:PORT"},
           Case{R"({"schedule_time_zone": "Mars/Olympus"})", "\"schedule_time_zone\"",
                "IANA time zone"},
           Case{R"({"output_retention_days": 0})", "\"output_retention_days\"", "[1, 3650]"},
           Case{R"({"output_url_ttl_s": 10})", "output_url_ttl_s", "60"},
           Case{R"({"regions": ["ap-a", {"Region": "ap-a"}]})", "regions[1].Region",
                "listed twice"},
       }) {
    INFO(k.text);
    write_file(file, k.text);
    ServerConfig c;
    auto s = load_server_config_file(file, c);
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error().message, Catch::StartsWith(file.string() + ": ") &&
                                      Catch::Contains(k.key) && Catch::Contains(k.reason));
  }
}

TEST_CASE("FERRY_ variables, read by each key's kind", "[config]") {
  ServerConfig c;
  REQUIRE(
      apply_server_environment(
          environment_of({{"FERRY_LISTEN", "0.0.0.0:9000"},
                          {"FERRY_DATA_DIR", "/srv/ferry env"},
                          {"FERRY_LOG_LEVEL", "debug"},
                          {"FERRY_ALLOW_PLAIN_HTTP", "true"},
                          {"FERRY_RATE_LIMIT", "2.5"},
                          {"FERRY_MAX_CONNECTIONS", "50"},
                          {"FERRY_ACCOUNT_ID", "1234567"},
                          {"FERRY_REGIONS", "ap-shanghai, ap-beijing"},
                          {"FERRY_ACS_REGIONS", R"(["cn-hangzhou"])"},
                          {"FERRY_CREDENTIALS", R"([{"SecretId": "AKIDenv", "SecretKey": "k"}])"},
                          {"FERRY_LOG_FILE", "/var/log/ferry/server.log"},
                          {"FERRY_DATABASE", "postgresql://ferry@db.example:5432/ferry"},
                          {"FERRY_SERVER", "not a key: ignored"}}),
          c)
          .has_value());
  CHECK(c.listen == "0.0.0.0:9000");
  CHECK(c.data_dir == "/srv/ferry env");
  CHECK(c.log_level == "debug");
  CHECK(c.allow_plain_http);
  CHECK(c.rate_limit == 2.5);
  CHECK(c.max_connections == 50);
  CHECK(c.account_id == "1234567");  // a string key takes digits as they are
  REQUIRE(c.regions.size() == 2);
  CHECK(c.regions[1].region == "ap-beijing");
  CHECK(c.acs_regions == std::vector<std::string>{"cn-hangzhou"});
  REQUIRE(c.credentials.size() == 1);
  CHECK(c.credentials[0].secret_id == "AKIDenv");
  CHECK(c.log_file == "/var/log/ferry/server.log");
  CHECK(c.database == "postgresql://ferry@db.example:5432/ferry");

  // Each kind of bad value names the variable, the key and the reason.
  CHECK_THAT(environment_error({{"FERRY_LOG_LEVEL", "loud"}}),
             Catch::StartsWith("FERRY_LOG_LEVEL: key \"log_level\": must be one of"));
  CHECK_THAT(environment_error({{"FERRY_ALLOW_PLAIN_HTTP", "yes"}}),
             Catch::StartsWith("FERRY_ALLOW_PLAIN_HTTP: key \"allow_plain_http\": must be true"));
  CHECK_THAT(environment_error({{"FERRY_IO_THREADS", "300"}}),
             Catch::StartsWith("FERRY_IO_THREADS: key \"io_threads\": must be in [0, 256]"));
  CHECK_THAT(environment_error({{"FERRY_SWEEP_INTERVAL_MS", "fast"}}),
             Catch::StartsWith("FERRY_SWEEP_INTERVAL_MS: key \"sweep_interval_ms\": must be an "
                               "integer"));
  CHECK_THAT(environment_error({{"FERRY_CREDENTIALS", "AKID:secret"}}),
             Catch::StartsWith("FERRY_CREDENTIALS (credentials): must be JSON"));
  // A malformed value is never echoed: it may be a secret.
  CHECK(environment_error({{"FERRY_CREDENTIALS", "AKID:secret"}}).find("secret") ==
        std::string::npos);
}

TEST_CASE("Defaults < file < variables; the default file is optional", "[config]") {
  TempDir dir;
  const auto default_file = dir.path() / "ferry-server.json";
  ServerConfigSources sources;
  sources.default_file = default_file;
  sources.environment = environment_of({{"FERRY_DELIVER_TIMEOUT_S", "77"}});

  ServerConfig none;
  REQUIRE(load_server_config(sources, none).has_value());
  CHECK(none.deliver_timeout_s == 77);
  CHECK(none.data_dir.empty());

  write_file(default_file, R"({"data_dir": "/from/default", "deliver_timeout_s": 5})");
  ServerConfig c;
  REQUIRE(load_server_config(sources, c).has_value());
  CHECK(c.data_dir == "/from/default");
  CHECK(c.deliver_timeout_s == 77);  // the variable over the file

  const auto given = dir.path() / "given.json";
  write_file(given, R"({"data_dir": "/from/given"})");
  sources.file = given;
  ServerConfig g;
  REQUIRE(load_server_config(sources, g).has_value());
  CHECK(g.data_dir == "/from/given");

  sources.file = dir.path() / "missing.json";
  ServerConfig m;
  auto missing = load_server_config(sources, m);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("missing.json"));
}

TEST_CASE("docs/configuration.md and config/ferry-server.json list every key", "[config]") {
  const auto keys = server_config_keys();
  const std::set<std::string> known(keys.begin(), keys.end());
  const auto documented = ferry::test::documented_keys(
      ferry::test::read_file(std::string(FERRY_SOURCE_DIR) + "/docs/configuration.md"),
      "## ferry-server");
  CHECK(documented == known);

  const auto example_path = std::string(FERRY_SOURCE_DIR) + "/config/ferry-server.json";
  const auto example = nlohmann::json::parse(ferry::test::read_file(example_path));
  std::set<std::string> listed;
  for (const auto& [key, value] : example.items()) {
    listed.insert(key);
  }
  CHECK(listed == known);
  // It loads and validates, and holds the defaults (data_dir aside: it has none).
  ServerConfig loaded;
  REQUIRE(load_server_config_file(example_path, loaded).has_value());
  REQUIRE(validate_server_config(loaded).has_value());
  ServerConfig defaults;
  defaults.data_dir = loaded.data_dir;
  for (const auto& [key, value] : example.items()) {
    INFO(key);
    ServerConfig one = defaults;
    REQUIRE(apply_server_config_json({{key, value}}, one).has_value());
    CHECK(validate_server_config(one).has_value());
  }
  CHECK(loaded.listen == defaults.listen);
  CHECK(loaded.log_level == defaults.log_level);
  CHECK(loaded.log_max_size_mib == defaults.log_max_size_mib);
  CHECK(loaded.log_max_files == defaults.log_max_files);
  CHECK(loaded.rate_limit == defaults.rate_limit);
  CHECK(loaded.heartbeat_interval_s == defaults.heartbeat_interval_s);
  CHECK(loaded.max_body_bytes == defaults.max_body_bytes);
  CHECK(loaded.output_store_max_bytes == defaults.output_store_max_bytes);
  CHECK(loaded.schedule_time_zone == defaults.schedule_time_zone);
  CHECK(loaded.regions.empty());  // every region, as by default
  CHECK(defaults.regions.empty());
}
