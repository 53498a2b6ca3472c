// The File field of a task (SendFile): parsing, its rules, the round trip and the content.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"

using nlohmann::json;
namespace codes = ferry::codes;

namespace {

json file_task(json file) {
  return json{{"InvocationTaskId", "invt-file1"},
              {"Content", ferry::base64_encode("hello\n")},
              {"File", std::move(file)}};
}

json good_file() {
  return json{{"Name", "app.conf"},  {"TargetDir", "/etc/app"}, {"Mode", "0640"},
              {"Owner", "www-data"}, {"Group", "adm"},          {"Overwrite", true}};
}

ferry::Error file_error(const json& j) {
  auto t = ferry::parse_task(j);
  REQUIRE_FALSE(t.has_value());
  return t.error();
}

}  // namespace

TEST_CASE("a task's File is parsed, kept through to_json and defaulted") {
  auto t = ferry::parse_task(file_task(good_file()));
  REQUIRE(t.has_value());
  REQUIRE(t->file.has_value());
  CHECK(t->file->name == "app.conf");
  CHECK(t->file->target_dir == "/etc/app");
  CHECK(t->file->mode == "0640");
  CHECK(t->file->owner == "www-data");
  CHECK(t->file->group == "adm");
  CHECK(t->file->overwrite);
  auto again = ferry::parse_task(ferry::to_json(*t));
  REQUIRE(again.has_value());
  CHECK(*again == *t);

  auto defaulted = ferry::parse_task(file_task({{"Name", "a"}, {"TargetDir", "/tmp"}}));
  REQUIRE(defaulted.has_value());
  CHECK(defaulted->file->mode == "0644");
  CHECK(defaulted->file->owner == "root");
  CHECK(defaulted->file->group == "root");
  CHECK_FALSE(defaulted->file->overwrite);

  auto script = ferry::parse_task(json{{"InvocationTaskId", "invt-x"}, {"Content", "ZQ=="}});
  REQUIRE(script.has_value());
  CHECK_FALSE(script->file.has_value());
  CHECK_FALSE(ferry::to_json(*script).contains("File"));
}

TEST_CASE("a task's File is refused when a rule is broken, naming the field") {
  const auto refused = [](const char* field, json value) {
    json f = good_file();
    f[field] = std::move(value);
    return file_error(file_task(f));
  };
  CHECK(refused("Name", "a/b").message.find("File.Name") != std::string::npos);
  CHECK(refused("Name", "..").code == codes::kInvalidParameterValue);
  CHECK(refused("Name", ".").code == codes::kInvalidParameterValue);
  CHECK(refused("Name", std::string(256, 'n')).code == codes::kInvalidParameterValue);
  CHECK(refused("Name", std::string("a\0b", 3)).code == codes::kInvalidParameterValue);
  CHECK(refused("TargetDir", "relative/dir").message.find("File.TargetDir") != std::string::npos);
  CHECK(refused("Mode", "0999").message.find("File.Mode") != std::string::npos);
  CHECK(refused("Mode", "u+x").message.find("File.Mode") != std::string::npos);
  CHECK(refused("Mode", "01644").message.find("File.Mode") != std::string::npos);
  CHECK(refused("Owner", "bad user").message.find("File.Owner") != std::string::npos);
  CHECK(refused("Group", "-g").message.find("File.Group") != std::string::npos);
  CHECK(refused("Overwrite", "yes").code == codes::kInvalidParameter);

  json no_name = good_file();
  no_name.erase("Name");
  CHECK(file_error(file_task(no_name)).code == codes::kMissingParameter);
  CHECK(file_error(file_task("a string")).code == codes::kInvalidParameter);

  json in_container = file_task(good_file());
  in_container["ContainerName"] = "web";
  CHECK(file_error(in_container).code == codes::kInvalidParameter);

  json too_big = file_task(good_file());
  too_big["Content"] = std::string(ferry::kMaxFileContentBase64 + 4, 'A');
  CHECK(file_error(too_big).code == codes::kTooLong);
}

TEST_CASE("file_content decodes the bytes, empty ones included, and refuses bad base64") {
  ferry::Task t;
  t.content = ferry::base64_encode(std::string("bin\0ary", 7));
  auto bytes = ferry::file_content(t);
  REQUIRE(bytes.has_value());
  CHECK(*bytes == std::string("bin\0ary", 7));
  t.content = "";
  CHECK(ferry::file_content(t).value() == "");
  t.content = "not base64!";
  CHECK(ferry::file_content(t).error().code == codes::kCommandContentInvalid);
}

TEST_CASE("file modes and names by their rules") {
  CHECK(ferry::parse_file_mode("644") == 0644u);
  CHECK(ferry::parse_file_mode("4755") == 04755u);
  CHECK_FALSE(ferry::parse_file_mode(""));
  CHECK_FALSE(ferry::parse_file_mode("8"));
  CHECK(ferry::is_valid_file_name("file.txt"));
  CHECK(ferry::is_valid_file_name(".hidden"));
  CHECK_FALSE(ferry::is_valid_target_dir(""));
  CHECK(ferry::is_valid_target_dir("/"));
  CHECK(ferry::is_valid_file_account("svc$"));
  CHECK_FALSE(ferry::is_valid_file_account("$"));
}
