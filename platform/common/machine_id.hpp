// The machine id's plausibility and normal form, the same on every OS (host.hpp). Private to
// platform/.
#pragma once

#include <string>
#include <string_view>

namespace ferry::platform::detail {

// `text` without surrounding whitespace and in lowercase when that is a plausible machine id
// (host.hpp: first_machine_id); empty when it is not.
std::string normalize_machine_id(std::string_view text);

}  // namespace ferry::platform::detail
