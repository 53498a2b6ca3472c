// AcsParams: the flat parameters of a Cloud Assistant request, read field by field.
#include "ferry/server/acs/acs_params.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace ferry;
using namespace ferry::server;

namespace {

AcsParams make_params(const AcsParamList& pairs) {
  auto p = AcsParams::from_pairs(pairs);
  REQUIRE(p.has_value());
  return *p;
}

template <typename T>
Error refusal_of(const Expected<T>& e) {
  REQUIRE_FALSE(e.has_value());
  return e.error();
}

}  // namespace

TEST_CASE("AcsParams merges pairs; the same name with two values is refused", "[acs][params]") {
  const auto p = make_params({{"A", "1"}, {"B", "2"}, {"A", "1"}});
  CHECK(p.all().size() == 2);
  const auto twice = refusal_of(AcsParams::from_pairs({{"A", "1"}, {"A", "2"}}));
  CHECK(twice.code == "InvalidParameter");
  CHECK(twice.message.find("\"A\"") != std::string::npos);
}

TEST_CASE("AcsParams reads strings, integers and booleans with Alibaba's errors", "[acs][params]") {
  const auto p = make_params({{"Name", "x"},
                              {"Empty", ""},
                              {"Timeout", "60"},
                              {"Bad", "6o"},
                              {"Neg", "-5"},
                              {"Keep", "TRUE"},
                              {"No", "false"},
                              {"Maybe", "yes"}});
  CHECK(p.opt_string("Name") == "x");
  CHECK(p.opt_string("Empty") == "");
  CHECK_FALSE(p.opt_string("Nope"));
  CHECK(*p.req_string("Name") == "x");
  for (const char* missing : {"Nope", "Empty"}) {
    const auto e = refusal_of(p.req_string(missing));
    CHECK(e.code == "MissingParameter");
    CHECK(e.message == "The input parameter \"" + std::string(missing) +
                           "\" that is mandatory for processing this request is not supplied.");
  }
  CHECK(*p.opt_int("Timeout", 10, 86400) == 60);
  CHECK_FALSE(p.opt_int("Nope")->has_value());
  CHECK(refusal_of(p.opt_int("Bad")).message.starts_with("The specified parameter \"Bad\""));
  CHECK(refusal_of(p.opt_int("Neg", 0, 10)).code == "InvalidParameter");
  CHECK(refusal_of(p.opt_int("Timeout", 61, 100)).code == "InvalidParameter");
  CHECK(*p.opt_bool("Keep") == true);
  CHECK(*p.opt_bool("No") == false);
  CHECK_FALSE(p.opt_bool("Nope")->has_value());
  CHECK(refusal_of(p.opt_bool("Maybe")).code == "InvalidParameter");
}

TEST_CASE("AcsParams reads Name.N lists in index order, without gaps or excess", "[acs][params]") {
  std::vector<AcsParam> pairs;
  for (int i = 1; i <= 12; ++i) {
    pairs.emplace_back("InstanceId." + std::to_string(i), "i-" + std::to_string(i));
  }
  const auto p = make_params(pairs);
  const auto list = p.opt_list("InstanceId", 100);
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 12);
  CHECK((*list)[1] == "i-2");
  CHECK((*list)[9] == "i-10");  // numeric order, not the map's text order
  CHECK(p.opt_list("Other", 5)->empty());
  CHECK(refusal_of(p.opt_list("InstanceId", 11)).code == "InvalidParameter");
  CHECK(refusal_of(
            make_params({{"InstanceId.1", "a"}, {"InstanceId.3", "c"}}).opt_list("InstanceId", 9))
            .message.find("gap") != std::string::npos);
  for (const char* bad :
       {"InstanceId.0", "InstanceId.01", "InstanceId.x", "InstanceId.", "InstanceId.1.Key"}) {
    INFO(bad);
    CHECK(refusal_of(make_params({{bad, "a"}}).opt_list("InstanceId", 9)).code ==
          "InvalidParameter");
  }
}

TEST_CASE("AcsParams reads lists of objects (Tag.N.Key / Tag.N.Value)", "[acs][params]") {
  const auto p = make_params({{"Tag.1.Key", "team"},
                              {"Tag.1.Value", "ops"},
                              {"Tag.2.Key", "env"},
                              {"Tag.2.Other", "ignored"}});
  const auto tags = p.opt_objects("Tag", {"Key", "Value"}, 20);
  REQUIRE(tags.has_value());
  REQUIRE(tags->size() == 2);
  CHECK((*tags)[0].at("Key") == "team");
  CHECK((*tags)[0].at("Value") == "ops");
  CHECK((*tags)[1].at("Key") == "env");
  CHECK((*tags)[1].count("Value") == 0);
  CHECK((*tags)[1].count("Other") == 0);
  CHECK(refusal_of(p.opt_objects("Tag", {"Key"}, 1)).code == "InvalidParameter");
  CHECK(refusal_of(make_params({{"Tag.2.Key", "a"}}).opt_objects("Tag", {"Key"}, 5)).code ==
        "InvalidParameter");
  CHECK(refusal_of(make_params({{"Tag.1", "a"}}).opt_objects("Tag", {"Key"}, 5)).code ==
        "InvalidParameter");
}

TEST_CASE("AcsParams reads a JSON text field", "[acs][params]") {
  const auto p =
      make_params({{"Parameters", R"({"name":"v","n":1})"}, {"Broken", "{"}, {"List", "[1]"}});
  const auto j = p.opt_json("Parameters");
  REQUIRE(j.has_value());
  REQUIRE(j->has_value());
  CHECK((**j)["name"] == "v");
  CHECK_FALSE(p.opt_json("Nope")->has_value());
  CHECK(refusal_of(p.opt_json("Broken")).code == "InvalidParameter");
  CHECK(refusal_of(p.opt_json("List")).message.find("object") != std::string::npos);
  CHECK(p.opt_json("List", nlohmann::json::value_t::array)->has_value());
}
