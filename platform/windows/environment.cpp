// environment.hpp on Windows: a task's environment is the one a logon of its user gets
// (CreateEnvironmentBlock from the registry), not the agent's own, as on Linux it is built from
// scratch rather than inherited; and the interpreters of BAT and POWERSHELL scripts.
#include "ferry/platform/environment.hpp"

#include <array>
#include <cwchar>
#include <map>

#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"
#include "win32.hpp"
// After windows.h (win32.hpp), which they need.
#include <knownfolders.h>
#include <shlobj.h>
#include <userenv.h>

namespace ferry::platform {
namespace {

// Windows' variable names are case-insensitive.
struct CaseInsensitive {
  bool operator()(const std::wstring& a, const std::wstring& b) const {
    return ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                  static_cast<int>(b.size()), TRUE) == CSTR_LESS_THAN;
  }
};
using Variables = std::map<std::wstring, std::wstring, CaseInsensitive>;

// The user's default environment (system and user variables from the registry, expanded).
Variables logon_environment() {
  Variables variables;
  HANDLE token = nullptr;
  if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_IMPERSONATE,
                         &token) == 0) {
    return variables;
  }
  const win32::UniqueHandle token_owner(token);
  void* block = nullptr;
  if (::CreateEnvironmentBlock(&block, token, FALSE) == 0) {
    return variables;
  }
  for (const wchar_t* entry = static_cast<const wchar_t*>(block); *entry != L'\0';
       entry += std::wcslen(entry) + 1) {
    const std::wstring_view text(entry);
    // Names may start with '=' (the per-drive directories "=C:=C:\x"): split after the first
    // character.
    const auto eq = text.find(L'=', 1);
    if (eq != std::wstring_view::npos) {
      variables.insert_or_assign(std::wstring(text.substr(0, eq)),
                                 std::wstring(text.substr(eq + 1)));
    }
  }
  ::DestroyEnvironmentBlock(block);
  return variables;
}

std::wstring system_directory() {
  std::array<wchar_t, MAX_PATH + 1> buffer{};
  const UINT n = ::GetSystemDirectoryW(buffer.data(), buffer.size());
  return n > 0 && n < buffer.size() ? std::wstring(buffer.data(), n)
                                    : std::wstring(L"C:\\Windows\\System32");
}

std::wstring windows_directory() {
  std::array<wchar_t, MAX_PATH + 1> buffer{};
  const UINT n = ::GetSystemWindowsDirectoryW(buffer.data(), buffer.size());
  return n > 0 && n < buffer.size() ? std::wstring(buffer.data(), n) : std::wstring(L"C:\\Windows");
}

bool is_file(const std::wstring& path) {
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

}  // namespace

std::vector<std::string> task_environment(const UserInfo& user,
                                          const std::string& /*environment_file*/) {
  Variables variables = logon_environment();
  // One spelling of the search path, the one the supervisor looks for.
  if (const auto it = variables.find(L"PATH"); it != variables.end()) {
    std::wstring value = std::move(it->second);
    variables.erase(it);
    variables.emplace(L"PATH", std::move(value));
  }
  const std::wstring windir = windows_directory();
  const std::wstring system = system_directory();
  const std::wstring profile = win32::widen(user.home);
  // What programs and scripts count on finding, when the block lacks it (no registry, an
  // incomplete one).
  const std::array<std::pair<const wchar_t*, std::wstring>, 10> fallbacks{{
      {L"SystemRoot", windir},
      {L"windir", windir},
      {L"SystemDrive", windir.substr(0, 2)},
      {L"ComSpec", system + L"\\cmd.exe"},
      {L"PATHEXT", L".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC"},
      {L"PATH", system + L";" + windir + L";" + system + L"\\Wbem;" + system +
                    L"\\WindowsPowerShell\\v1.0\\"},
      {L"TEMP", windir + L"\\Temp"},
      {L"TMP", windir + L"\\Temp"},
      {L"USERPROFILE", profile.empty() ? windir + L"\\System32\\config\\systemprofile" : profile},
      {L"USERNAME", win32::widen(user.name)},
  }};
  for (const auto& [name, value] : fallbacks) {
    variables.emplace(name, value);  // only where missing
  }
  std::vector<std::string> result;
  result.reserve(variables.size());
  for (const auto& [name, value] : variables) {
    result.push_back(win32::narrow(name) + "=" + win32::narrow(value));
  }
  return result;
}

Expected<std::string> default_shell() {
  return Error{codes::kAgentUnsupportedCommandType,
               "SHELL commands run on Linux only; this agent runs on Windows (use BAT or "
               "POWERSHELL)"};
}

Expected<std::string> find_powershell(std::string_view search_path) {
  const std::wstring windows_powershell =
      system_directory() + L"\\WindowsPowerShell\\v1.0\\powershell.exe";
  if (is_file(windows_powershell)) {
    return win32::narrow(windows_powershell);
  }
  for (const char* name : {"pwsh", "powershell"}) {
    if (auto found = find_program(name, search_path)) {
      return found;
    }
  }
  return Error{codes::kAgentUnsupportedCommandType,
               "POWERSHELL needs Windows PowerShell (" + win32::narrow(windows_powershell) +
                   ") or pwsh.exe on PATH, and this machine has neither"};
}

std::string powershell_prologue() {
  // One line; a failure to set the encoding (no console at all) must not stop the script.
  return "\xEF\xBB\xBF"
         "try { $OutputEncoding = [Console]::OutputEncoding = "
         "New-Object System.Text.UTF8Encoding $false } catch {}\r\n";
}

Expected<BatchInvocation> batch_invocation(const std::string& script_path) {
  // cmd.exe expands %...% even inside quotes; a quote cannot be part of a Windows path.
  if (script_path.find_first_of("%\"") != std::string::npos) {
    return Error{codes::kInvalidParameterValue,
                 "the script's path '" + script_path +
                     "' holds a character that cmd.exe would expand or split (% or \"): choose "
                     "a state directory without one"};
  }
  const std::string cmd = win32::narrow(system_directory() + L"\\cmd.exe");
  // /S: cmd.exe strips the first and the last quote of what follows /C and runs the rest, the
  // script's quoted path, whatever that path holds (spaces, parentheses, & or ^).
  return BatchInvocation{
      {cmd, "/D", "/S", "/C", script_path},
      "\"" + cmd + "\" /D /S /C \"\"" + script_path + "\"\"",
  };
}

Expected<std::string> default_working_directory(const UserInfo& /*user*/,
                                                const std::filesystem::path& state_dir) {
  const auto dir = state_dir / "workdir";
  if (auto s = ensure_directory(dir, DirectoryAccess::kTraversable); !s) {
    return s.error();
  }
  return win32::display(dir);
}

std::filesystem::path default_agent_config_dir() {
  PWSTR folder = nullptr;
  std::filesystem::path program_data = L"C:\\ProgramData";
  if (::SHGetKnownFolderPath(FOLDERID_ProgramData, KF_FLAG_DEFAULT, nullptr, &folder) == S_OK) {
    program_data = folder;
  }
  ::CoTaskMemFree(folder);  // also when the call failed
  return program_data / L"Ferry";
}

std::filesystem::path default_agent_state_dir() {
  return default_agent_config_dir() / L"agent";
}

}  // namespace ferry::platform
