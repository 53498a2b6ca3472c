// Custom parameters and built-ins in a script: "{{name}}", "{{ACS::InstanceId}}".
// Shared by the agent (substitution) and the server (validation and preview).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry {

inline constexpr std::size_t kMaxParameters = 20;
inline constexpr std::size_t kMaxParameterNameLength = 64;

// The values behind the built-ins ACS::/TAT:: RegionId, AccountId, InstanceId, InstanceName,
// InvokeId, CommandId.
struct BuiltinValues {
  std::string region_id;
  std::string account_id;
  std::string instance_id;
  std::string instance_name;
  std::string invoke_id;  // the InvocationId
  std::string command_id;
};

// True for a name of 1..64 characters of [a-zA-Z0-9_-].
bool is_valid_parameter_name(std::string_view name);

// Checks a set of custom parameter values: at most 20, names valid
// (ParameterKeyContainsInvalidChar / ParameterKeyLenExceeded / ParameterNumberExceeded).
Status validate_parameters(const std::map<std::string, std::string>& params);

// The distinct custom parameter names the script refers to, in order of first appearance
// (built-ins excluded). Errors: a name too long, more than 20 names, an unknown built-in.
Expected<std::vector<std::string>> referenced_parameters(std::string_view script);

// The distinct names the script uses hidden, as "{{tat-hidden:name}}" (TAT's parameters for
// secrets: substituted like any other, masked wherever the invocation is shown), in order of
// first appearance. The same errors as referenced_parameters.
Expected<std::vector<std::string>> hidden_parameters(std::string_view script);

// What a hidden parameter's value looks like wherever it is shown.
inline constexpr std::string_view kHiddenMask = "******";

// Whether substitute_parameters puts a hidden parameter's value in (the agent, running the
// script) or kHiddenMask (a preview).
enum class HiddenValues { kSubstituted, kMasked };

// One pass over the script: each "{{ name }}" (spaces, tabs and newlines around the name
// ignored; the name matched case-sensitively) is replaced by its value, and so is
// "{{tat-hidden:name}}" (the prefix case-insensitive; `hidden` says with what); "{{ACS::X}}" /
// "{{TAT::X}}" (prefix and X case-insensitive) by the built-in. Values are never scanned again.
// Names with no value: InvalidParameterValue.LackOfParameterInfo naming them all. Any other
// ACS::/TAT:: name (ScriptFileName included): InvalidParameterValue. A name of more than 64
// characters: ParameterKeyLenExceeded. Text between braces that is not a parameter name
// (e.g. "{{ .Values }}", "{{}}", "{{a b}}") is left as it is. In "{{{x}}}" the innermost braces
// count: the result is "{" + value + "}". `params` is checked with validate_parameters().
Expected<std::string> substitute_parameters(std::string_view script,
                                            const std::map<std::string, std::string>& params,
                                            const BuiltinValues& builtins,
                                            HiddenValues hidden = HiddenValues::kSubstituted);

}  // namespace ferry
