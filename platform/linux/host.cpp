#include "ferry/platform/host.hpp"

#include <algorithm>
#include <cstdlib>

#include "ferry/platform/fs.hpp"

namespace ferry::platform {
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

std::string os_name() {
  return "Linux";
}

std::string first_machine_id(const std::vector<std::filesystem::path>& files) {
  for (const auto& file : files) {
    auto text = read_file(file, 4096);
    if (!text) {
      continue;
    }
    std::string id = *text;
    const auto first = id.find_first_not_of(" \t\r\n");
    const auto last = id.find_last_not_of(" \t\r\n");
    id = first == std::string::npos ? "" : id.substr(first, last - first + 1);
    std::transform(id.begin(), id.end(), id.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    if (plausible_machine_id(id)) {
      return id;
    }
  }
  return "";
}

std::string machine_id() {
  if (const char* file = std::getenv(kMachineIdFileVariable); file != nullptr && *file != '\0') {
    return first_machine_id({file});
  }
  return first_machine_id({"/etc/machine-id", "/sys/class/dmi/id/product_uuid"});
}

}  // namespace ferry::platform
