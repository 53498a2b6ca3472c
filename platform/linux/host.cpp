#include "ferry/platform/host.hpp"

#include "ferry/platform/fs.hpp"

namespace ferry::platform {

std::string os_name() {
  return "Linux";
}

std::string machine_id() {
  auto id = read_file("/etc/machine-id", 4096);
  if (!id) {
    return "";
  }
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s.size() <= 128 ? s : "";
}

}  // namespace ferry::platform
