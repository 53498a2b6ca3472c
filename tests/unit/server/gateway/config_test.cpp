#include "ferry/server/config.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

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
  CHECK_THAT(apply_error(nlohmann::json::array()), Catch::Contains("JSON object"));

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
