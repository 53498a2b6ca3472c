// The PostgreSQL URL check, in ferry::server_store (no libpq) so that the configuration checks
// a `database` value without linking libpq.
#include <string>
#include <string_view>

#include "ferry/core/error_codes.hpp"
#include "ferry/server/store/postgres_store.hpp"

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

}  // namespace ferry::server
