#include "ferry/platform/environment.hpp"

#include <unistd.h>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::platform {
namespace {

// /etc/environment is a few lines; anything far larger is not a pam_env file.
constexpr std::size_t kMaxEnvironmentFile = std::size_t{1} << 20;

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\f\v";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

// pam_env accepts only [A-Za-z0-9_] keys; anything else is a line pam_env would skip too.
bool is_valid_key(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) {
    return false;
  }
  for (const char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::map<std::string, std::string> parse_environment_file(std::string_view text) {
  std::map<std::string, std::string> result;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line.starts_with("export") && line.size() > 6 && (line[6] == ' ' || line[6] == '\t')) {
      line = trim(line.substr(6));
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    if (!is_valid_key(key)) {
      continue;
    }
    std::string_view value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    result.insert_or_assign(std::string(key), std::string(value));
  }
  return result;
}

std::vector<std::string> task_environment(const UserInfo& user,
                                          const std::string& environment_file) {
  std::map<std::string, std::string> env;
  env.emplace("PATH", kSanePath);
  // A missing or unreadable file is normal (minimal images have none); the task still gets a
  // usable PATH.
  if (auto text = read_file(environment_file, kMaxEnvironmentFile)) {
    for (auto& [key, value] : parse_environment_file(*text)) {
      env.insert_or_assign(key, std::move(value));
    }
  }
  env.insert_or_assign("HOME", user.home);
  env.insert_or_assign("USER", user.name);
  env.insert_or_assign("LOGNAME", user.name);
  // An empty passwd shell field means /bin/sh (passwd(5)).
  env.insert_or_assign("SHELL", user.shell.empty() ? std::string("/bin/sh") : user.shell);

  std::vector<std::string> result;
  result.reserve(env.size());
  for (const auto& [key, value] : env) {
    result.push_back(key + "=" + value);
  }
  return result;
}

Expected<std::string> default_shell() {
  for (const char* shell : {"/bin/bash", "/bin/sh"}) {
    if (::access(shell, X_OK) == 0) {
      return std::string(shell);
    }
  }
  return Error{codes::kInternalError, "neither /bin/bash nor /bin/sh is available"};
}

Expected<std::string> find_powershell(std::string_view search_path) {
  auto pwsh = find_program("pwsh", search_path);
  if (!pwsh) {
    return Error{codes::kAgentUnsupportedCommandType,
                 "POWERSHELL needs 'pwsh' on PATH, and this machine has none"};
  }
  return pwsh;
}

std::string powershell_prologue() {
  return {};
}

Expected<BatchInvocation> batch_invocation(const std::string& /*script_path*/) {
  return Error{codes::kAgentUnsupportedCommandType, "BAT commands run on Windows only"};
}

Expected<std::string> default_working_directory(const UserInfo& user,
                                                const std::filesystem::path& /*state_dir*/) {
  return user.home;
}

std::filesystem::path default_agent_state_dir() {
  return "/var/lib/ferry";
}

std::filesystem::path default_agent_config_dir() {
  return "/etc/ferry";
}

}  // namespace ferry::platform
