// Reads the key tables of docs/configuration.md, so that a test can hold a loader's keys, the
// documentation and the example files in config/ to one another.
#pragma once

#include <set>
#include <sstream>
#include <string>

namespace ferry::test {

// The names in backquotes in the first cell of the table rows under the heading `heading` (a
// whole line, "## ferry-server"), up to the next heading of any level.
inline std::set<std::string> documented_keys(const std::string& markdown,
                                             const std::string& heading) {
  std::set<std::string> keys;
  std::istringstream in(markdown);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.starts_with("#")) {
      inside = line == heading;
      continue;
    }
    if (!inside || !line.starts_with("| `")) {
      continue;
    }
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    for (std::size_t open = cell.find('`'); open != std::string::npos;) {
      const std::size_t close = cell.find('`', open + 1);
      if (close == std::string::npos) {
        break;
      }
      keys.insert(cell.substr(open + 1, close - open - 1));
      open = cell.find('`', close + 1);
    }
  }
  return keys;
}

}  // namespace ferry::test
