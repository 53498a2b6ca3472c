#include "ferry/agent/local_policy.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "ferry/core/error_codes.hpp"

namespace ferry::agent {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxListEntries = 1024;
constexpr std::size_t kMaxEntryBytes = 4096;
// ErrorInfo is cut at 1024 bytes by the server; the value that broke a rule is kept shorter.
constexpr std::size_t kMaxDetailBytes = 256;

Error invalid(const std::string& where, std::string_view why) {
  return Error{codes::kInvalidParameterValue, where + ": " + std::string(why)};
}

// An array of strings, each checked by `check` (which says what is wrong).
Expected<std::vector<std::string>> string_list(
    const json& v, const std::string& where,
    const std::function<std::optional<std::string>(const std::string&)>& check) {
  if (!v.is_array() || v.size() > kMaxListEntries) {
    return invalid(where,
                   "must be an array of at most " + std::to_string(kMaxListEntries) + " strings");
  }
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) {
      return invalid(where, "must be an array of strings");
    }
    auto s = e.get<std::string>();
    if (s.empty() || s.size() > kMaxEntryBytes || s.find('\0') != std::string::npos) {
      return invalid(where, "entries must be 1 to 4096 bytes without NUL");
    }
    if (auto problem = check(s)) {
      return invalid(where, *problem);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::string> any_string(const std::string&) {
  return std::nullopt;
}

std::optional<std::string> hex_digest(const std::string& s) {
  const bool ok = s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                  });
  if (!ok) {
    return "entries must be SHA-256 digests: 64 lowercase hex digits";
  }
  return std::nullopt;
}

// A working directory prefix as the task's is compared: absolute and lexically normal, without a
// trailing slash ("/" stays "/"); "~" as it is.
std::optional<std::string> normal_prefix(const std::string& s) {
  if (s == "~") {
    return s;
  }
  if (s.front() != '/') {
    return std::nullopt;
  }
  std::string n = std::filesystem::path(s).lexically_normal().generic_string();
  while (n.size() > 1 && n.back() == '/') {
    n.pop_back();
  }
  return n;
}

// Whether `path` is `prefix` or lies under it, by whole components.
bool lies_under(const std::string& path, const std::string& prefix) {
  if (prefix == "~" || path == "~") {
    return path == prefix;
  }
  if (!path.starts_with('/')) {
    return false;  // a relative WorkingDirectory is under nothing
  }
  if (prefix == "/") {
    return true;
  }
  return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
}

template <typename T>
std::optional<std::set<T>> intersect(const std::optional<std::set<T>>& a,
                                     const std::optional<std::set<T>>& b) {
  if (!a) {
    return b;
  }
  if (!b) {
    return a;
  }
  std::set<T> out;
  std::set_intersection(a->begin(), a->end(), b->begin(), b->end(),
                        std::inserter(out, out.begin()));
  return out;
}

std::string shorten(std::string s) {
  if (s.size() > kMaxDetailBytes) {
    // Cut on a UTF-8 boundary so that the report stays valid text.
    std::size_t cut = kMaxDetailBytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    s.resize(cut);
    s += "...";
  }
  return s;
}

using PolicyField = std::function<Status(const json& v, LocalPolicy& p, const std::string& where)>;

PolicyField bool_field(bool LocalPolicy::*member) {
  return [member](const json& v, LocalPolicy& p, const std::string& where) -> Status {
    if (!v.is_boolean()) {
      return invalid(where, "must be true or false");
    }
    p.*member = v.get<bool>();
    return {};
  };
}

const std::map<std::string_view, PolicyField>& policy_fields() {
  static const std::map<std::string_view, PolicyField> kFields{
      {"allowed_users",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         auto list = string_list(v, where, any_string);
         if (!list) {
           return list.error();
         }
         p.allowed_users = std::set<std::string>(list->begin(), list->end());
         return {};
       }},
      {"denied_users",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         auto list = string_list(v, where, any_string);
         if (!list) {
           return list.error();
         }
         p.denied_users = std::set<std::string>(list->begin(), list->end());
         return {};
       }},
      {"allowed_command_types",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         auto list = string_list(v, where, [](const std::string& s) -> std::optional<std::string> {
           if (!parse_command_type(s)) {
             return "entries must be SHELL, POWERSHELL or BAT";
           }
           return std::nullopt;
         });
         if (!list) {
           return list.error();
         }
         std::set<CommandType> types;
         for (const auto& s : *list) {
           types.insert(*parse_command_type(s));
         }
         p.allowed_command_types = std::move(types);
         return {};
       }},
      {"max_timeout_seconds",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         if (!v.is_number_integer() || v.get<std::int64_t>() < kMinTimeoutSeconds ||
             v.get<std::int64_t>() > kMaxTimeoutSeconds) {
           return invalid(where, "must be an integer from " + std::to_string(kMinTimeoutSeconds) +
                                     " to " + std::to_string(kMaxTimeoutSeconds));
         }
         p.max_timeout_seconds = v.get<std::int64_t>();
         return {};
       }},
      {"allowed_working_directories",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         auto list = string_list(v, where, [](const std::string& s) -> std::optional<std::string> {
           if (!normal_prefix(s)) {
             return "entries must be absolute paths or \"~\" (the user's home)";
           }
           return std::nullopt;
         });
         if (!list) {
           return list.error();
         }
         // Sorted and distinct, as tighten() leaves them, so that policies compare equal.
         std::set<std::string> prefixes;
         for (const auto& s : *list) {
           prefixes.insert(*normal_prefix(s));
         }
         p.allowed_working_directories = std::vector<std::string>(prefixes.begin(), prefixes.end());
         return {};
       }},
      {"allow_parameters", bool_field(&LocalPolicy::allow_parameters)},
      {"allow_launcher", bool_field(&LocalPolicy::allow_launcher)},
      {"allow_containers", bool_field(&LocalPolicy::allow_containers)},
      {"allow_file_sends", bool_field(&LocalPolicy::allow_file_sends)},
      {"allow_exit_code_power_actions", bool_field(&LocalPolicy::allow_exit_code_power_actions)},
      {"allowed_script_sha256",
       [](const json& v, LocalPolicy& p, const std::string& where) -> Status {
         auto list = string_list(v, where, hex_digest);
         if (!list) {
           return list.error();
         }
         p.allowed_script_sha256 = std::set<std::string>(list->begin(), list->end());
         return {};
       }},
  };
  return kFields;
}

}  // namespace

bool LocalPolicy::restricts() const {
  return !(*this == LocalPolicy{});
}

Expected<LocalPolicy> parse_local_policy(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) {
    return invalid(where, "must be an object");
  }
  LocalPolicy p;
  for (const auto& [key, value] : j.items()) {
    const std::string at = where + "." + key;
    const auto it = policy_fields().find(key);
    if (it == policy_fields().end()) {
      return invalid(at, "unknown key");
    }
    if (auto s = it->second(value, p, at); !s) {
      return s.error();
    }
  }
  return p;
}

LocalPolicy tighten(const LocalPolicy& base, const LocalPolicy& drop_in) {
  LocalPolicy p;
  p.allowed_users = intersect(base.allowed_users, drop_in.allowed_users);
  p.denied_users = base.denied_users;
  p.denied_users.insert(drop_in.denied_users.begin(), drop_in.denied_users.end());
  p.allowed_command_types = intersect(base.allowed_command_types, drop_in.allowed_command_types);
  if (base.max_timeout_seconds && drop_in.max_timeout_seconds) {
    p.max_timeout_seconds = std::min(*base.max_timeout_seconds, *drop_in.max_timeout_seconds);
  } else {
    p.max_timeout_seconds =
        base.max_timeout_seconds ? base.max_timeout_seconds : drop_in.max_timeout_seconds;
  }
  const auto& a = base.allowed_working_directories;
  const auto& b = drop_in.allowed_working_directories;
  if (a && b) {
    // The area both allow: each prefix of one list that lies under some prefix of the other.
    std::set<std::string> both;
    for (const auto& x : *a) {
      for (const auto& y : *b) {
        if (lies_under(x, y)) {
          both.insert(x);
        } else if (lies_under(y, x)) {
          both.insert(y);
        }
      }
    }
    p.allowed_working_directories = std::vector<std::string>(both.begin(), both.end());
  } else {
    p.allowed_working_directories = a ? a : b;
  }
  p.allow_parameters = base.allow_parameters && drop_in.allow_parameters;
  p.allow_launcher = base.allow_launcher && drop_in.allow_launcher;
  p.allow_containers = base.allow_containers && drop_in.allow_containers;
  p.allow_file_sends = base.allow_file_sends && drop_in.allow_file_sends;
  p.allow_exit_code_power_actions =
      base.allow_exit_code_power_actions && drop_in.allow_exit_code_power_actions;
  p.allowed_script_sha256 = intersect(base.allowed_script_sha256, drop_in.allowed_script_sha256);
  return p;
}

std::string PolicyRefusal::error_info() const {
  std::string text = "refused by local policy: " + rule;
  if (!detail.empty()) {
    text += " (" + detail + ")";
  }
  return text;
}

std::optional<PolicyRefusal> check_local_policy(const LocalPolicy& policy, const Task& task,
                                                const std::optional<std::string>& payload_sha256) {
  // The task's kind first (what it is), then who and where, then what it runs.
  if (task.file && !policy.allow_file_sends) {
    return PolicyRefusal{"allow_file_sends", ""};
  }
  if (task.in_container() && !policy.allow_containers) {
    return PolicyRefusal{"allow_containers", ""};
  }
  if (!task.launcher.empty() && !policy.allow_launcher) {
    return PolicyRefusal{"allow_launcher", ""};
  }
  if (task.enable_parameter && !policy.allow_parameters) {
    return PolicyRefusal{"allow_parameters", ""};
  }
  if (policy.allowed_command_types && !task.file &&
      !policy.allowed_command_types->contains(task.command_type)) {
    return PolicyRefusal{"allowed_command_types", std::string(to_string(task.command_type))};
  }
  const std::string user = task.username.empty() ? "root" : task.username;
  if (policy.denied_users.contains(user)) {
    return PolicyRefusal{"denied_users", shorten(user)};
  }
  if (policy.allowed_users && !policy.allowed_users->contains(user)) {
    return PolicyRefusal{"allowed_users", shorten(user)};
  }
  if (policy.max_timeout_seconds && !task.file &&
      task.timeout_seconds > *policy.max_timeout_seconds) {
    return PolicyRefusal{"max_timeout_seconds", std::to_string(task.timeout_seconds)};
  }
  if (policy.allowed_working_directories && !task.file && !task.in_container()) {
    // A relative WorkingDirectory is the runner's error; here it can match nothing.
    std::string dir = "~";
    if (!task.working_directory.empty()) {
      dir = task.working_directory.front() == '/' ? *normal_prefix(task.working_directory)
                                                  : task.working_directory;
    }
    const auto& allowed = *policy.allowed_working_directories;
    const bool ok = std::any_of(allowed.begin(), allowed.end(),
                                [&](const std::string& prefix) { return lies_under(dir, prefix); });
    if (!ok) {
      return PolicyRefusal{
          "allowed_working_directories",
          shorten(task.working_directory.empty() ? std::string("~") : task.working_directory)};
    }
  }
  if (policy.allowed_script_sha256) {
    if (!payload_sha256 || !policy.allowed_script_sha256->contains(*payload_sha256)) {
      return PolicyRefusal{"allowed_script_sha256", payload_sha256.value_or("")};
    }
  }
  return std::nullopt;
}

}  // namespace ferry::agent
