#include "ferry/core/script_command.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/error_codes.hpp"

using ferry::parse_launcher;
using ferry::parse_shebang;
using ferry::split_command_line;
using Words = std::vector<std::string>;
namespace codes = ferry::codes;

namespace {

Words split(std::string_view line) {
  auto words = split_command_line(line);
  if (!words) {
    FAIL("unexpected error: " << words.error().message);
  }
  return *words;
}

ferry::Launcher launcher(std::string_view text) {
  auto l = parse_launcher(text);
  if (!l) {
    FAIL("unexpected error: " << l.error().message);
  }
  return *l;
}

ferry::Error launcher_error(std::string_view text) {
  auto l = parse_launcher(text);
  REQUIRE_FALSE(l.has_value());
  return l.error();
}

}  // namespace

TEST_CASE("shebang: interpreter and one optional argument, as the kernel reads them", "[script]") {
  using Argument = std::optional<std::string>;
  const auto [what, script, interpreter, argument] =
      GENERATE(table<std::string, std::string, std::string, Argument>({
          {"interpreter only", "#!/bin/bash\necho hi\n", "/bin/bash", std::nullopt},
          {"the rest of the line is one argument, never split",
           "#!  /usr/bin/env   python3 -u  -X dev \t\nprint(1)\n", "/usr/bin/env",
           "python3 -u  -X dev"},
          {"tab separates the interpreter", "#!/bin/sh\t-e\n", "/bin/sh", "-e"},
          {"CRLF line ending", "#!/bin/sh\r\necho\r\n", "/bin/sh", std::nullopt},
          {"CRLF line ending after an argument", "#!/bin/sh -e \r\n", "/bin/sh", "-e"},
          {"no newline at all", "#!/bin/sh -x", "/bin/sh", "-x"},
          {"only the first line counts", "#!/bin/sh\n#!/bin/bash -x\n", "/bin/sh", std::nullopt},
          {"quotes are not special", "#!/bin/sh \"a b\"\n", "/bin/sh", "\"a b\""},
      }));
  CAPTURE(what);
  const auto s = parse_shebang(script);
  REQUIRE(s.has_value());
  CHECK(s->interpreter == interpreter);
  CHECK(s->argument == argument);
}

TEST_CASE("shebang: what is not one", "[script]") {
  const std::string script =
      GENERATE(as<std::string>{}, "", "echo hi\n", "#\n", "#!", "#!\n", "#!   \t\n", "#!\r\n",
               " #!/bin/sh\n", "\xEF\xBB\xBF#!/bin/sh\n", "echo\n#!/bin/sh\n", "# !/bin/sh\n",
               std::string("#!/bin/sh\0x\n", 12));
  CAPTURE(script);
  CHECK_FALSE(parse_shebang(script).has_value());
}

TEST_CASE("shebang: the kernel's 255-character line limit", "[script]") {
  const std::string at_limit = "#!/bin/sh " + std::string(255 - 10, 'a');
  REQUIRE(at_limit.size() == 255);
  const auto ok = parse_shebang(at_limit + "\nrest");
  REQUIRE(ok.has_value());
  CHECK(ok->argument->size() == 245);
  CHECK_FALSE(parse_shebang(at_limit + "a\nrest").has_value());
  CHECK_FALSE(parse_shebang(at_limit + "\r\n").has_value());
}

TEST_CASE("split_command_line", "[script]") {
  CHECK(split("").empty());
  CHECK(split(" \t\n ").empty());
  CHECK(split("a b  c") == Words{"a", "b", "c"});
  CHECK(split("  a\tb\n c\r\n") == Words{"a", "b", "c"});
  CHECK(split("sh -c 'echo a b' x") == Words{"sh", "-c", "echo a b", "x"});
  CHECK(split(R"('a \ "b" $x')") == Words{R"(a \ "b" $x)"});
  CHECK(split(R"("a \"b\" \\ \n $x 'c'")") == Words{R"(a "b" \ \n $x 'c')"});
  CHECK(split(R"(a\ b c\\d \'e)") == Words{"a b", R"(c\d)", "'e"});
  CHECK(split(R"(x"a b"'c d'y)") == Words{"xa bc dy"});
  CHECK(split("'' \"\" a") == Words{"", "", "a"});
  CHECK(split("{{x}} y") == Words{"{{x}}", "y"});
}

TEST_CASE("split_command_line errors", "[script]") {
  const auto single = split_command_line("echo 'abc");
  REQUIRE_FALSE(single.has_value());
  CHECK(single.error().code == codes::kInvalidParameterValue);
  CHECK(single.error().message == "unterminated ' quote starting at offset 5");

  const auto dbl = split_command_line(R"(a "b\")");
  REQUIRE_FALSE(dbl.has_value());
  CHECK(dbl.error().message == "unterminated \" quote starting at offset 2");

  const auto backslash = split_command_line("a\\");
  REQUIRE_FALSE(backslash.has_value());
  CHECK(backslash.error().message == "trailing backslash at offset 1");
}

TEST_CASE("launcher from the spec", "[launcher]") {
  const auto l = launcher(R"(python3 -u {{ACS::ScriptFileName|Ext(".py")}})");
  CHECK(l.words == Words{"python3", "-u", "{{ACS::ScriptFileName}}"});
  CHECK(l.extension == ".py");
  CHECK(l.has_placeholder);
  CHECK(l.argv("/x/script.py") == Words{"python3", "-u", "/x/script.py"});
}

TEST_CASE("launcher without a placeholder gets the path appended", "[launcher]") {
  const auto l = launcher("bash -x");
  CHECK(l.words == Words{"bash", "-x"});
  CHECK(l.extension.empty());
  CHECK_FALSE(l.has_placeholder);
  CHECK(l.argv("/x/s.sh") == Words{"bash", "-x", "/x/s.sh"});
}

TEST_CASE("launcher words follow split_command_line", "[launcher]") {
  const auto l = launcher("sh -c 'echo a b' x");
  CHECK(l.argv("/p") == Words{"sh", "-c", "echo a b", "x", "/p"});
}

TEST_CASE("launcher placeholder inside a word, inside quotes, several times", "[launcher]") {
  const auto inside = launcher("tool --file={{ACS::ScriptFileName}} -v");
  CHECK(inside.argv("/s/t.sh") == Words{"tool", "--file=/s/t.sh", "-v"});
  CHECK(inside.extension.empty());

  const auto quoted = launcher(R"(tool "--file={{ACS::ScriptFileName|Ext(".py")}}" 'a b')");
  CHECK(quoted.extension == ".py");
  CHECK(quoted.argv("/s dir/t.py") == Words{"tool", "--file=/s dir/t.py", "a b"});

  const auto twice = launcher(
      R"({{ACS::ScriptFileName|Ext(".ps1")}} -In {{ACS::ScriptFileName}}{{TAT::ScriptFileName|Ext('.ps1')}})");
  CHECK(twice.extension == ".ps1");
  CHECK(twice.argv("s.ps1") == Words{"s.ps1", "-In", "s.ps1s.ps1"});
}

TEST_CASE("launcher placeholder spellings", "[launcher]") {
  const std::string text = GENERATE(as<std::string>{}, R"(run {{ACS::ScriptFileName|Ext(".rb")}})",
                                    R"(run {{TAT::ScriptFileName|Ext(".rb")}})",
                                    R"(run {{acs::scriptfilename|ext(".rb")}})",
                                    R"(run {{ ACS::ScriptFileName | Ext ( ".rb" ) }})",
                                    "run {{\tTat::SCRIPTFILENAME|Ext('.rb')\t}}");
  CAPTURE(text);
  const auto l = launcher(text);
  CHECK(l.words == Words{"run", std::string(ferry::kScriptFileNamePlaceholder)});
  CHECK(l.extension == ".rb");
}

TEST_CASE("launcher extensions are strict", "[launcher]") {
  CHECK(launcher(R"(x {{ACS::ScriptFileName|Ext(".a-B_9")}})").extension == ".a-B_9");
  CHECK(launcher("x {{ACS::ScriptFileName|Ext(\"." + std::string(16, 'e') + "\")}}").extension ==
        "." + std::string(16, 'e'));

  const std::string ext =
      GENERATE(as<std::string>{}, "", ".", "py", "..", "..py", "../x", ".a/b", ".a b", ".py.",
               ".tar.gz", ".\\x", "." + std::string(17, 'e'), ".caf\xC3\xA9");
  CAPTURE(ext);
  const auto e = launcher_error("x {{ACS::ScriptFileName|Ext(\"" + ext + "\")}}");
  CHECK(e.code == codes::kInvalidParameterValue);
  CHECK_THAT(e.message, Catch::StartsWith("invalid script extension"));
}

TEST_CASE("launcher errors", "[launcher]") {
  CHECK(launcher_error("").code == codes::kInvalidParameterValue);
  CHECK(launcher_error(" \t ").message == "is empty");
  CHECK(launcher_error("'' x").message == "the program (first word) is empty");
  CHECK(launcher_error("python3 'x").message == "unterminated ' quote starting at offset 8");

  const auto two =
      launcher_error(R"(a {{ACS::ScriptFileName|Ext(".py")}} {{ACS::ScriptFileName|Ext(".rb")}})");
  CHECK(two.message == R"(two different script extensions: ".py" and ".rb")");

  const std::string malformed = GENERATE(
      as<std::string>{}, "a {{ACS::InstanceId}}", "a {{ x }}", "a {{}}", "a {{ACS::ScriptFileName",
      "a {{ACS::ScriptFileName|Ext(.py)}}", "a {{ACS::ScriptFileName|Ext(\".py\"}}",
      "a {{ACS::ScriptFileName|Ext(\".py)}}", "a {{ACS::ScriptFileName|Ext(\".py\")x}}",
      "a {{ACS::ScriptFileName|}}", "a {{ACS::ScriptFileName|Foo(\".py\")}}",
      "a {{ACS::ScriptFileNameX}}", "a {{ACS ::ScriptFileName}}", "a {{XYZ::ScriptFileName}}",
      "a {{{ACS::ScriptFileName}}}", "a {\\{ACS::ScriptFileName}}");
  CAPTURE(malformed);
  const auto e = launcher_error(malformed);
  CHECK(e.code == codes::kInvalidParameterValue);
}

TEST_CASE("launcher length limit", "[launcher]") {
  const std::string at_limit = "x" + std::string(ferry::kMaxLauncherLength - 2, ' ') + "y";
  REQUIRE(at_limit.size() == 1024);
  CHECK(launcher(at_limit).words == Words{"x", "y"});
  const auto e = launcher_error(at_limit + "z");
  CHECK(e.code == codes::kTooLong);
  CHECK(e.message == "must be at most 1024 bytes, got 1025");
}

TEST_CASE("launcher refuses a NUL byte", "[launcher]") {
  CHECK(launcher_error(std::string("a\0b", 3)).message == "contains a NUL byte");
}
