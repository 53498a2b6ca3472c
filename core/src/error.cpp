#include "ferry/core/error.hpp"

#include <system_error>

namespace ferry {

Error errno_error(std::string code, std::string_view what, int err) {
  // generic_category().message() is thread-safe, unlike strerror().
  return Error{std::move(code), std::string(what) + ": " + std::generic_category().message(err)};
}

}  // namespace ferry
