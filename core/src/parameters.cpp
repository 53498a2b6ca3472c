#include "ferry/core/parameters.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "ascii_text.hpp"
#include "ferry/core/error_codes.hpp"
#include "message_text.hpp"

namespace ferry {

namespace {

using detail::iequals;
using detail::quote_for_message;
using detail::trim_if;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_name_text(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_name_char);
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The built-ins by name, each with the field of BuiltinValues that holds its value.
struct Builtin {
  std::string_view name;
  std::string BuiltinValues::*value;
};
constexpr std::array<Builtin, 6> kBuiltins{{
    {"RegionId", &BuiltinValues::region_id},
    {"AccountId", &BuiltinValues::account_id},
    {"InstanceId", &BuiltinValues::instance_id},
    {"InstanceName", &BuiltinValues::instance_name},
    {"InvokeId", &BuiltinValues::invoke_id},
    {"CommandId", &BuiltinValues::command_id},
}};

Error name_too_long(std::string_view name) {
  return Error{codes::kParameterKeyLenExceeded,
               "parameter name " + quote_for_message(name) + " is longer than " +
                   std::to_string(kMaxParameterNameLength) + " characters"};
}

// One "{{...}}" that is a parameter: `begin`/`end` delimit the braces in the script.
struct Placeholder {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view custom_name;      // set for a custom parameter
  bool hidden = false;               // {{tat-hidden:name}}
  const Builtin* builtin = nullptr;  // set for a built-in
};

constexpr std::string_view kHiddenPrefix = "tat-hidden:";

// Classifies the text between a pair of braces. nullopt: not a parameter, left as it is.
Expected<std::optional<Placeholder>> classify(std::string_view inner) {
  const std::string_view text = trim_if(inner, is_blank);
  if (const std::size_t sep = text.find("::"); sep != std::string_view::npos) {
    const std::string_view prefix = text.substr(0, sep);
    if (!iequals(prefix, "ACS") && !iequals(prefix, "TAT")) {
      return std::optional<Placeholder>{};
    }
    const std::string_view name = text.substr(sep + 2);
    for (const auto& b : kBuiltins) {
      if (iequals(name, b.name)) {
        Placeholder p;
        p.builtin = &b;
        return std::optional<Placeholder>{p};
      }
    }
    // The ACS:: / TAT:: namespaces are reserved; ScriptFileName belongs to launchers only.
    return Error{codes::kInvalidParameterValue,
                 "unknown built-in parameter " + quote_for_message(text)};
  }
  // TAT's hidden parameters: "{{tat-hidden:name}}" takes the value of "name" (the prefix
  // case-insensitive, as the built-ins' are).
  Placeholder p;
  std::string_view name = text;
  if (name.size() > kHiddenPrefix.size() &&
      iequals(name.substr(0, kHiddenPrefix.size()), kHiddenPrefix)) {
    name = trim_if(name.substr(kHiddenPrefix.size()), is_blank);
    p.hidden = true;
  }
  if (!is_name_text(name)) {
    return std::optional<Placeholder>{};
  }
  if (name.size() > kMaxParameterNameLength) {
    return name_too_long(name);
  }
  p.custom_name = name;
  return std::optional<Placeholder>{p};
}

// Calls on_text(literal) and on_placeholder(placeholder) for the parts of the script in order.
// For "{{{x}}}" the innermost pair of braces counts: the placeholder is "{{x}}", the outer
// braces are text. Both callbacks return Status; the first error stops the scan.
template <typename OnText, typename OnPlaceholder>
Status scan(std::string_view script, OnText on_text, OnPlaceholder on_placeholder) {
  std::size_t pos = 0;
  while (pos < script.size()) {
    const std::size_t close = script.find("}}", pos);
    if (close == std::string_view::npos) {
      break;
    }
    // The last "{{" that ends at or before the closing braces.
    std::size_t open = std::string_view::npos;
    if (close >= pos + 2) {
      open = script.substr(pos, close - pos).rfind("{{");
    }
    if (open == std::string_view::npos) {
      if (Status s = on_text(script.substr(pos, close + 2 - pos)); !s) {
        return s;
      }
      pos = close + 2;
      continue;
    }
    open += pos;
    auto classified = classify(script.substr(open + 2, close - open - 2));
    if (!classified) {
      return classified.error();
    }
    if (!classified->has_value()) {
      if (Status s = on_text(script.substr(pos, close + 2 - pos)); !s) {
        return s;
      }
    } else {
      if (Status s = on_text(script.substr(pos, open - pos)); !s) {
        return s;
      }
      Placeholder p = **classified;
      p.begin = open;
      p.end = close + 2;
      if (Status s = on_placeholder(p); !s) {
        return s;
      }
    }
    pos = close + 2;
  }
  return on_text(script.substr(pos));
}

Error too_many_parameters(std::size_t n) {
  return Error{codes::kParameterNumberExceeded, "at most " + std::to_string(kMaxParameters) +
                                                    " custom parameters, got " + std::to_string(n)};
}

}  // namespace

bool is_valid_parameter_name(std::string_view name) {
  return name.size() <= kMaxParameterNameLength && is_name_text(name);
}

Status validate_parameters(const std::map<std::string, std::string>& params) {
  if (params.size() > kMaxParameters) {
    return too_many_parameters(params.size());
  }
  for (const auto& [name, value] : params) {
    if (name.size() > kMaxParameterNameLength) {
      return name_too_long(name);
    }
    if (!is_name_text(name)) {
      return Error{codes::kParameterKeyContainsInvalidChar,
                   "parameter name " + quote_for_message(name) +
                       " must be made of [a-zA-Z0-9_-] and not be empty"};
    }
  }
  return {};
}

Expected<std::vector<std::string>> referenced_parameters(std::string_view script) {
  std::vector<std::string> names;
  Status s = scan(
      script, [](std::string_view) { return Status{}; },
      [&names](const Placeholder& p) -> Status {
        if (p.builtin || std::find(names.begin(), names.end(), p.custom_name) != names.end()) {
          return {};
        }
        if (names.size() == kMaxParameters) {
          return too_many_parameters(names.size() + 1);
        }
        names.emplace_back(p.custom_name);
        return {};
      });
  if (!s) {
    return s.error();
  }
  return names;
}

Expected<std::vector<std::string>> hidden_parameters(std::string_view script) {
  std::vector<std::string> names;
  Status s = scan(
      script, [](std::string_view) { return Status{}; },
      [&names](const Placeholder& p) -> Status {
        if (p.hidden && std::find(names.begin(), names.end(), p.custom_name) == names.end()) {
          names.emplace_back(p.custom_name);
        }
        return {};
      });
  if (!s) {
    return s.error();
  }
  return names;
}

Expected<std::string> substitute_parameters(std::string_view script,
                                            const std::map<std::string, std::string>& params,
                                            const BuiltinValues& builtins, HiddenValues hidden) {
  if (Status s = validate_parameters(params); !s) {
    return s.error();
  }
  std::string out;
  out.reserve(script.size());
  std::vector<std::string_view> missing;  // reported together, in order of first appearance
  Status s = scan(
      script,
      [&out](std::string_view text) {
        out.append(text);
        return Status{};
      },
      [&](const Placeholder& p) -> Status {
        if (p.builtin) {
          out.append(builtins.*(p.builtin->value));
          return {};
        }
        // std::map<std::string, ...>::find needs a std::string without a transparent comparator.
        const auto it = params.find(std::string(p.custom_name));
        if (it != params.end()) {
          out.append(p.hidden && hidden == HiddenValues::kMasked ? std::string_view(kHiddenMask)
                                                                 : std::string_view(it->second));
        } else if (std::find(missing.begin(), missing.end(), p.custom_name) == missing.end()) {
          missing.push_back(p.custom_name);
        }
        return {};
      });
  if (!s) {
    return s.error();
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto name : missing) {
      list += (list.empty() ? "" : ", ") + quote_for_message(name);
    }
    return Error{
        codes::kLackOfParameterInfo,
        std::string(missing.size() == 1 ? "no value for parameter " : "no value for parameters ") +
            list};
  }
  return out;
}

}  // namespace ferry
