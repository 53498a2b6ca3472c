#include "ferry/core/config_changes.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace ferry {

std::vector<std::string> changed_keys(const nlohmann::json& before, const nlohmann::json& after) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const auto& a = before.is_object() ? before : kEmpty;
  const auto& b = after.is_object() ? after : kEmpty;
  std::vector<std::string> out;
  for (const auto& [key, value] : a.items()) {
    const auto it = b.find(key);
    if (it == b.end() || *it != value) {
      out.push_back(key);
    }
  }
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key)) {
      out.push_back(key);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json read_config_snapshot(const std::filesystem::path& file) {
  constexpr std::size_t kMaxBytes = 1 << 20;
  if (file.empty()) {
    return nullptr;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return nullptr;
  }
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  const auto n = static_cast<std::size_t>(in.gcount());
  if (n > kMaxBytes) {
    return nullptr;
  }
  text.resize(n);
  return nlohmann::json::parse(text, nullptr, false, /*ignore_comments=*/true);
}

std::vector<std::string> reload_report(const std::filesystem::path& file, nlohmann::json& last,
                                       const std::function<bool(std::string_view)>& reloadable) {
  auto now = read_config_snapshot(file);
  const auto changed = changed_keys(last, now);
  std::vector<std::string> lines;
  for (const auto& key : changed) {
    lines.push_back("reload: " + key + " changed: " +
                    (reloadable(key) ? "applied" : "takes effect at the next start"));
  }
  lines.push_back("reload: " + (file.empty() ? std::string("configuration") : file.string()) +
                  " read again, " + std::to_string(changed.size()) + " key(s) changed");
  last = std::move(now);
  return lines;
}

}  // namespace ferry
