// The SQLite store's schema, as an ordered list of migrations. Private to server/store/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::server::sqlite {

struct Migration {
  int64_t version;
  std::vector<std::string> statements;  // run in order, in one transaction
};

// Ordered by version, from 1, without gaps.
const std::vector<Migration>& migrations();

}  // namespace ferry::server::sqlite
