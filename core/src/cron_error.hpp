// Private to core: the one error of the cron library (cron.cpp, cron_zone.cpp).
#pragma once

#include <string>
#include <utility>

#include "ferry/core/error.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::cron {

inline Error invalid_cron_expression(std::string message) {
  return Error{codes::kInvalidCronExpression, "invalid cron expression: " + std::move(message)};
}

}  // namespace ferry::cron
