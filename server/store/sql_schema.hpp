// The SQL store's schema, as an ordered list of migrations, the same on every engine but for
// the Dialect's pieces. Private to server/store/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sql_db.hpp"

namespace ferry::server::sql {

struct Migration {
  int64_t version;
  std::vector<std::string> statements;  // run in order, in one transaction
};

// Ordered by version, from 1, without gaps.
std::vector<Migration> migrations(const Dialect& dialect);
// The schema version this build writes (the last migration's).
int64_t schema_version();

}  // namespace ferry::server::sql
