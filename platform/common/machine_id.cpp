// What host.hpp says of machine ids that holds on every OS; each OS's host.cpp has its sources.
#include "common/machine_id.hpp"

#include <algorithm>

#include "ferry/platform/fs.hpp"
#include "ferry/platform/host.hpp"

namespace ferry::platform {
namespace detail {
namespace {

constexpr std::size_t kMaxMachineId = 128;

bool plausible_machine_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxMachineId || id == "uninitialized") {
    return false;
  }
  if (!std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return false;
  }
  std::string digits;
  std::copy_if(id.begin(), id.end(), std::back_inserter(digits), [](char c) { return c != '-'; });
  const bool all_zero = digits.find_first_not_of('0') == std::string::npos;
  const bool all_f = digits.find_first_not_of('f') == std::string::npos;
  return !all_zero && !all_f;
}

}  // namespace

std::string normalize_machine_id(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  std::string id(first == std::string_view::npos ? std::string_view{}
                                                 : text.substr(first, last - first + 1));
  std::transform(id.begin(), id.end(), id.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return plausible_machine_id(id) ? id : std::string();
}

}  // namespace detail

std::string first_machine_id(const std::vector<std::filesystem::path>& files) {
  for (const auto& file : files) {
    auto text = read_file(file, 4096);
    if (!text) {
      continue;
    }
    if (std::string id = detail::normalize_machine_id(*text); !id.empty()) {
      return id;
    }
  }
  return "";
}

}  // namespace ferry::platform
