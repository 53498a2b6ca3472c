#include "ferry/server/acs/acs_action_registry.hpp"

#include <utility>

namespace ferry::server {

void AcsActionRegistry::add(const std::string& name, AcsActionSpec spec) {
  actions_[name] = std::move(spec);
}

const AcsActionSpec* AcsActionRegistry::find(std::string_view name) const {
  const auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

}  // namespace ferry::server
