// Opening the SQL store on PostgreSQL: the URL checked, a pool of libpq connections, the
// migrations.
#include "ferry/server/store/postgres_store.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "postgres_db.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server {

Expected<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options,
                                                     const Clock& clock) {
  if (auto s = check_postgres_url(options.url); !s) {
    return s.error();
  }
  postgres::ConnectOptions connect{options.url, options.password,
                                   std::max(options.connect_timeout, std::chrono::seconds(2))};
  auto store = std::make_unique<sql::SqlStore>(
      options.url, [connect] { return postgres::Connection::open(connect); },
      options.max_connections, clock, options.observer);
  if (auto s = store->migrate(); !s) {
    return s.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ferry::server
