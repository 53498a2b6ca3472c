// What changed between two readings of one configuration file, for a reload (SIGHUP) to name in
// its log. Names only: values may be secrets and are never returned.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

// The top-level keys whose values differ between `before` and `after` (a key that only one of
// them has counts too), sorted. Anything that is not an object counts as an empty object.
std::vector<std::string> changed_keys(const nlohmann::json& before, const nlohmann::json& after);

// A configuration file as JSON (comments allowed), to compare with changed_keys; null when there
// is none ("" path), or it cannot be read, is over 1 MiB or is not JSON (the loader says why).
nlohmann::json read_config_snapshot(const std::filesystem::path& file);

// What both programs log after a valid reload: `file` read again and compared with `last` (then
// replaced by the new reading), one line per changed key saying whether it `reloadable` applied
// or takes effect at the next start, and a summary line. Names only, never values.
std::vector<std::string> reload_report(const std::filesystem::path& file, nlohmann::json& last,
                                       const std::function<bool(std::string_view)>& reloadable);

}  // namespace ferry
