#include "ferry/platform/host.hpp"

#include <cstdlib>

namespace ferry::platform {

std::string os_name() {
  return "Linux";
}

std::string machine_id() {
  if (const char* file = std::getenv(kMachineIdFileVariable); file != nullptr && *file != '\0') {
    return first_machine_id({file});
  }
  return first_machine_id({"/etc/machine-id", "/sys/class/dmi/id/product_uuid"});
}

}  // namespace ferry::platform
