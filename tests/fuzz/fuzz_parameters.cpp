// Parameter substitution: a script and a JSON object of values (parts separated by NUL, see
// fuzz_input.hpp). Properties: substitution never fails for a script that refers to no
// parameter, and what it leaves is the script itself.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/parameters.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ferry::fuzz::Parts parts(data, size);
  const std::string_view script = parts.next();
  const auto values = nlohmann::json::parse(parts.next(), nullptr, false);
  std::map<std::string, std::string> params;
  if (values.is_object()) {
    for (const auto& [name, value] : values.items()) {
      if (value.is_string()) {
        params[name] = value.get<std::string>();
      }
    }
  }
  ferry::BuiltinValues builtins{"ap-test", "1234567890",   "ins-12345678",
                                "host",    "inv-12345678", "cmd-12345678"};
  auto referenced = ferry::referenced_parameters(script);
  (void)ferry::validate_parameters(params);
  auto substituted = ferry::substitute_parameters(script, params, builtins);
  if (referenced && referenced->empty() && script.find("{{") == std::string_view::npos) {
    FERRY_FUZZ_CHECK(substituted.has_value() || !ferry::validate_parameters(params));
    FERRY_FUZZ_CHECK(!substituted || *substituted == script);
  }
  return 0;
}
