#include "ferry/core/parameters.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "ferry/core/error_codes.hpp"

using ferry::BuiltinValues;
using ferry::referenced_parameters;
using ferry::substitute_parameters;
using Params = std::map<std::string, std::string>;
namespace codes = ferry::codes;

namespace {

const BuiltinValues kBuiltins{
    .region_id = "ap-guangzhou",
    .account_id = "100012345678",
    .instance_id = "ins-abcd1234",
    .instance_name = "web-1",
    .invoke_id = "inv-12345678",
    .command_id = "cmd-87654321",
};

std::string substitute(std::string_view script, const Params& params = {}) {
  auto out = substitute_parameters(script, params, kBuiltins);
  if (!out) {
    FAIL("unexpected error " << out.error().code << ": " << out.error().message);
  }
  return *out;
}

ferry::Error substitute_error(std::string_view script, const Params& params = {}) {
  auto out = substitute_parameters(script, params, kBuiltins);
  REQUIRE_FALSE(out.has_value());
  return out.error();
}

Params numbered(std::size_t n) {
  Params p;
  for (std::size_t i = 0; i < n; ++i) {
    p["p" + std::to_string(i)] = std::to_string(i);
  }
  return p;
}

}  // namespace

TEST_CASE("parameter names", "[parameters]") {
  CHECK(ferry::is_valid_parameter_name("a"));
  CHECK(ferry::is_valid_parameter_name("Var_A-9"));
  CHECK(ferry::is_valid_parameter_name(std::string(64, 'n')));
  CHECK_FALSE(ferry::is_valid_parameter_name(""));
  CHECK_FALSE(ferry::is_valid_parameter_name(std::string(65, 'n')));
  CHECK_FALSE(ferry::is_valid_parameter_name("a b"));
  CHECK_FALSE(ferry::is_valid_parameter_name("a.b"));
  CHECK_FALSE(ferry::is_valid_parameter_name("ACS::InstanceId"));
  CHECK_FALSE(ferry::is_valid_parameter_name("caf\xC3\xA9"));
}

TEST_CASE("validate_parameters", "[parameters]") {
  CHECK(ferry::validate_parameters({}).has_value());
  CHECK(ferry::validate_parameters(numbered(20)).has_value());

  const auto too_many = ferry::validate_parameters(numbered(21));
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.error().code == codes::kParameterNumberExceeded);
  CHECK(too_many.error().message == "at most 20 custom parameters, got 21");

  const auto bad_char = ferry::validate_parameters({{"a.b", "x"}});
  REQUIRE_FALSE(bad_char.has_value());
  CHECK(bad_char.error().code == codes::kParameterKeyContainsInvalidChar);
  CHECK_THAT(bad_char.error().message, Catch::Contains("\"a.b\""));

  const auto empty = ferry::validate_parameters({{"", "x"}});
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == codes::kParameterKeyContainsInvalidChar);

  const auto long_name = ferry::validate_parameters({{std::string(65, 'n'), "x"}});
  REQUIRE_FALSE(long_name.has_value());
  CHECK(long_name.error().code == codes::kParameterKeyLenExceeded);

  // A long name is cut in the message.
  const auto huge = ferry::validate_parameters({{std::string(1000, 'n'), "x"}});
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().message ==
        "parameter name \"" + std::string(64, 'n') + "...\" is longer than 64 characters");

  // Control bytes in a name never reach a message raw.
  const auto control = ferry::validate_parameters({{"a\nb\x1b", "x"}});
  REQUIRE_FALSE(control.has_value());
  CHECK_THAT(control.error().message, Catch::Contains(R"("a\x0ab\x1b")"));
}

TEST_CASE("custom parameters are substituted", "[parameters]") {
  CHECK(substitute("echo {{name}}", {{"name", "Jack"}}) == "echo Jack");
  CHECK(substitute("{{a}}{{b}}-{{a}}", {{"a", "A"}, {"b", "B"}}) == "AB-A");
  CHECK(substitute("{{ name }}", {{"name", "x"}}) == "x");
  CHECK(substitute("{{\tname\t}}", {{"name", "x"}}) == "x");
  CHECK(substitute("{{\n  name\n}}", {{"name", "x"}}) == "x");
  CHECK(substitute("{{\r\n name \r\n}}", {{"name", "x"}}) == "x");
  CHECK(substitute("{{My-Var_2}}", {{"My-Var_2", "v"}}) == "v");
  CHECK(substitute("{{name}}", {{"name", ""}}).empty());
  // Values go in as they are: no quoting, no escaping.
  CHECK(substitute("rm {{f}}", {{"f", "$(id) 'a' \"b\" \\"}}) == "rm $(id) 'a' \"b\" \\");
  // Unused parameters are fine.
  CHECK(substitute("plain", {{"unused", "x"}}) == "plain");
  CHECK(substitute("").empty());
}

TEST_CASE("substitution is one pass", "[parameters]") {
  const Params params{{"a", "{{b}}"}, {"b", "B"}, {"c", "{{ACS::InstanceId}}"}};
  CHECK(substitute("{{a}} {{b}} {{c}}", params) == "{{b}} B {{ACS::InstanceId}}");
}

TEST_CASE("built-in parameters", "[parameters]") {
  CHECK(substitute("{{ACS::RegionId}}") == "ap-guangzhou");
  CHECK(substitute("{{ACS::AccountId}}") == "100012345678");
  CHECK(substitute("{{ACS::InstanceId}}") == "ins-abcd1234");
  CHECK(substitute("{{ACS::InstanceName}}") == "web-1");
  CHECK(substitute("{{ACS::InvokeId}}") == "inv-12345678");
  CHECK(substitute("{{ACS::CommandId}}") == "cmd-87654321");
  CHECK(substitute("{{TAT::InstanceId}}") == "ins-abcd1234");
  CHECK(substitute("{{tat::instanceid}}") == "ins-abcd1234");
  CHECK(substitute("{{acs::REGIONID}}") == "ap-guangzhou");
  CHECK(substitute("{{ Tat::CommandId\n}}") == "cmd-87654321");
  // Built-ins need no entry in the parameters.
  CHECK(substitute("id={{ACS::InstanceId}} n={{x}}", {{"x", "1"}}) == "id=ins-abcd1234 n=1");
}

TEST_CASE("an unknown built-in is an error", "[parameters]") {
  const std::string script = GENERATE(
      as<std::string>{}, "{{ACS::Foo}}", "{{tat::foo}}", "{{ACS::}}", "{{ACS::ScriptFileName}}",
      "{{ACS::ScriptFileName|Ext(\".py\")}}", "{{ACS::Instance Id}}", "{{ACS::InstanceId::x}}");
  CAPTURE(script);
  const auto e = substitute_error(script);
  CHECK(e.code == codes::kInvalidParameterValue);
  CHECK_THAT(e.message, Catch::StartsWith("unknown built-in parameter \""));
  CHECK(referenced_parameters(script).has_value() == false);
}

TEST_CASE("the unknown built-in's message names it", "[parameters]") {
  const auto e = substitute_error("echo {{ ACS::Foo }}");
  CHECK(e.message == "unknown built-in parameter \"ACS::Foo\"");
}

TEST_CASE("a parameter with no value is LackOfParameterInfo", "[parameters]") {
  const auto one = substitute_error("echo {{name}}");
  CHECK(one.code == codes::kLackOfParameterInfo);
  CHECK(one.message == "no value for parameter \"name\"");

  const auto two = substitute_error("{{b}} {{a}} {{b}} {{c}}", {{"c", "C"}});
  CHECK(two.code == codes::kLackOfParameterInfo);
  CHECK(two.message == "no value for parameters \"b\", \"a\"");

  // Names are case-sensitive.
  const auto cased = substitute_error("{{name}}", {{"Name", "x"}});
  CHECK(cased.code == codes::kLackOfParameterInfo);
}

TEST_CASE("a name over 64 characters is ParameterKeyLenExceeded", "[parameters]") {
  const std::string name(65, 'n');
  const auto e = substitute_error("{{" + name + "}}", {{std::string(64, 'n'), "x"}});
  CHECK(e.code == codes::kParameterKeyLenExceeded);
  CHECK(substitute("{{" + std::string(64, 'n') + "}}", {{std::string(64, 'n'), "x"}}) == "x");
}

TEST_CASE("text between braces that is not a name is left alone", "[parameters]") {
  const std::string text =
      GENERATE(as<std::string>{}, "{{ .Values.x }}", "{{}}", "{{ }}", "{{a b}}", "{{a.b}}",
               "{{$x}}", "{ {a} }", "{{a}", "{a}}", "{{a", "a}}", "}}{{", "{{foo::bar}}",
               "{{\xC3\xA9}}", "{{ {{ }} }}", "${{x}", "{{-}-}}");
  CAPTURE(text);
  CHECK(substitute(text) == text);
  const auto refs = referenced_parameters(text);
  REQUIRE(refs.has_value());
  CHECK(refs->empty());
}

TEST_CASE("the innermost braces make the parameter", "[parameters]") {
  const Params params{{"x", "V"}};
  CHECK(substitute("{{{x}}}", params) == "{V}");
  CHECK(substitute("{{{{x}}}}", params) == "{{V}}");
  CHECK(substitute("a{{{ x }}}b", params) == "a{V}b");
  CHECK(substitute("{{ {{x}} }}", params) == "{{ V }}");
  CHECK(substitute("{{x}}}", params) == "V}");
  CHECK(substitute("{{{x}}", params) == "{V");
  CHECK(substitute("{{{ACS::RegionId}}}") == "{ap-guangzhou}");
}

TEST_CASE("substitute_parameters checks the parameters it is given", "[parameters]") {
  CHECK(substitute_error("x", numbered(21)).code == codes::kParameterNumberExceeded);
  CHECK(substitute_error("x", {{"bad name", "v"}}).code == codes::kParameterKeyContainsInvalidChar);
}

TEST_CASE("referenced_parameters", "[parameters]") {
  const auto refs =
      referenced_parameters("{{b}} {{ a }} {{ACS::InstanceId}} {{b}} {{TAT::RegionId}} {{c}}");
  REQUIRE(refs.has_value());
  CHECK(*refs == std::vector<std::string>{"b", "a", "c"});

  std::string twenty;
  for (int i = 0; i < 20; ++i) {
    twenty += "{{p" + std::to_string(i) + "}} {{p0}} ";
  }
  const auto ok = referenced_parameters(twenty);
  REQUIRE(ok.has_value());
  CHECK(ok->size() == 20);
  CHECK(ok->front() == "p0");
  CHECK(ok->back() == "p19");

  const auto too_many = referenced_parameters(twenty + "{{p20}}");
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.error().code == codes::kParameterNumberExceeded);

  const auto too_long = referenced_parameters("{{" + std::string(65, 'x') + "}}");
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().code == codes::kParameterKeyLenExceeded);

  // More than 20 names in a script cannot all have values.
  const auto lack = substitute_error(twenty + "{{p20}}", numbered(20));
  CHECK(lack.code == codes::kLackOfParameterInfo);
  CHECK(lack.message == "no value for parameter \"p20\"");
}

TEST_CASE("hidden parameters: {{tat-hidden:name}} takes the value of name", "[parameters]") {
  const Params pw{{"pw", "s3cret"}, {"user", "ann"}};
  CHECK(substitute("login {{user}} {{tat-hidden:pw}}", pw) == "login ann s3cret");
  // The prefix is case-insensitive and blanks around the name are ignored, as for any name.
  CHECK(substitute("{{ TAT-Hidden: pw }}", pw) == "s3cret");
  // The same name shown and hidden is one parameter.
  CHECK(substitute("{{pw}}={{tat-hidden:pw}}", pw) == "s3cret=s3cret");
  // Not a name after the prefix: text, as any other.
  CHECK(substitute("{{tat-hidden:}} {{tat-hidden:a b}}", pw) ==
        "{{tat-hidden:}} {{tat-hidden:a b}}");
  // No value: LackOfParameterInfo names it without the prefix.
  const auto lack = substitute_error("{{tat-hidden:token}}", pw);
  CHECK(lack.code == codes::kLackOfParameterInfo);
  CHECK(lack.message == "no value for parameter \"token\"");
  // A preview masks it, and only it.
  auto masked = substitute_parameters("{{user}}:{{tat-hidden:pw}}", pw, kBuiltins,
                                      ferry::HiddenValues::kMasked);
  REQUIRE(masked.has_value());
  CHECK(*masked == "ann:******");

  const auto refs = referenced_parameters("{{tat-hidden:pw}} {{user}} {{pw}}");
  REQUIRE(refs.has_value());
  CHECK(*refs == std::vector<std::string>{"pw", "user"});
  const auto hidden = ferry::hidden_parameters("{{user}} {{tat-hidden:pw}} {{TAT-HIDDEN:pw}}");
  REQUIRE(hidden.has_value());
  CHECK(*hidden == std::vector<std::string>{"pw"});
  const auto long_name = ferry::hidden_parameters("{{tat-hidden:" + std::string(65, 'x') + "}}");
  REQUIRE_FALSE(long_name.has_value());
  CHECK(long_name.error().code == codes::kParameterKeyLenExceeded);
}
