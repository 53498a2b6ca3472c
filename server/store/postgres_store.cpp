// Opening the SQL store on PostgreSQL: the URL checked, a pool of libpq connections, the
// migrations.
#include "ferry/server/store/postgres_store.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "ferry/core/error_codes.hpp"
#include "postgres_db.hpp"
#include "sql_store_impl.hpp"

namespace ferry::server {

Status check_postgres_url(std::string_view url) {
  std::string_view rest;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      rest = url.substr(scheme.size());
      break;
    }
  }
  if (rest.empty()) {
    return Error{codes::kInvalidParameterValue,
                 "the database must be a postgresql://USER@HOST:PORT/DB URL (or postgres://)"};
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  const auto at = authority.rfind('@');
  const bool password_in_userinfo =
      at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
  const auto query = rest.find('?');
  const bool password_in_query =
      query != std::string_view::npos &&
      ("&" + std::string(rest.substr(query + 1))).find("&password=") != std::string::npos;
  if (password_in_userinfo || password_in_query) {
    return Error{codes::kInvalidParameterValue,
                 "the database URL holds a password, which would show in process lists and logs: "
                 "put it in a file named by database_password_file, or in PGPASSWORD"};
  }
  return {};
}

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
