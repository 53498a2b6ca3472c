#include "process.hpp"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <string_view>
#include <utility>

#include "ferry/core/error_codes.hpp"

namespace ferry::platform::win32 {
namespace {

bool needs_quotes(std::wstring_view arg) {
  return arg.empty() || arg.find_first_of(L" \t\n\v\"") != std::wstring_view::npos;
}

// Case-insensitive ordinal order of environment names, as Windows sorts its blocks.
bool name_less(std::wstring_view a, std::wstring_view b) {
  const int result = ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                            static_cast<int>(b.size()), TRUE);
  return result == CSTR_LESS_THAN;
}

bool same_name(std::wstring_view a, std::wstring_view b) {
  return ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

}  // namespace

std::wstring command_line(const std::vector<std::string>& argv) {
  std::wstring line;
  for (const auto& element : argv) {
    const std::wstring arg = widen(element);
    if (!line.empty()) {
      line += L' ';
    }
    if (!needs_quotes(arg)) {
      line += arg;
      continue;
    }
    line += L'"';
    std::size_t backslashes = 0;
    for (const wchar_t c : arg) {
      if (c == L'\\') {
        ++backslashes;
        continue;
      }
      // Backslashes are literal unless a quote follows them: then each is doubled and the
      // quote itself escaped.
      if (c == L'"') {
        line.append(backslashes * 2 + 1, L'\\');
      } else {
        line.append(backslashes, L'\\');
      }
      backslashes = 0;
      line += c;
    }
    // Before the closing quote, so that it is not escaped by them.
    line.append(backslashes * 2, L'\\');
    line += L'"';
  }
  return line;
}

Expected<std::wstring> environment_block(const std::vector<std::string>& env) {
  // name (up to the '=' after its first character), whole entry
  std::vector<std::pair<std::wstring, std::wstring>> entries;
  entries.reserve(env.size());
  for (const auto& entry : env) {
    const auto equals = entry.find('=', 1);
    if (equals == std::string::npos || entry.find('\0') != std::string::npos) {
      return Error{codes::kInternalError, "environment entry " +
                                              std::to_string(entries.size() + 1) +
                                              " is not NAME=VALUE without NUL characters"};
    }
    std::wstring whole = widen(entry);
    std::wstring name = widen(std::string_view(entry).substr(0, equals));
    if (whole.size() > INT_MAX / 2) {
      return Error{codes::kInternalError, "environment entry too long"};
    }
    entries.emplace_back(std::move(name), std::move(whole));
  }
  // Stable, so that among entries of one name the last comes last; it is the one kept.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return name_less(a.first, b.first); });
  std::wstring block;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && same_name(entries[i].first, entries[i + 1].first)) {
      continue;
    }
    block += entries[i].second;
    block += L'\0';
  }
  // An empty block still needs its two NULs.
  if (block.empty()) {
    block += L'\0';
  }
  block += L'\0';
  return block;
}

std::wstring cancel_event_name(unsigned long pid) {
  return L"Local\\ferry-cancel-" + std::to_wstring(pid);
}

std::optional<std::uint64_t> process_creation_time(HANDLE process) {
  FILETIME created{};
  FILETIME exited{};
  FILETIME kernel{};
  FILETIME user{};
  if (::GetProcessTimes(process, &created, &exited, &kernel, &user) == 0) {
    return std::nullopt;
  }
  return (static_cast<std::uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
}

bool is_fault_status(std::uint32_t exit_code) {
  // Severity (bits 31-30) 11 = error, customer bit (29) clear: a system status.
  return (exit_code & 0xE0000000U) == 0xC0000000U;
}

}  // namespace ferry::platform::win32
