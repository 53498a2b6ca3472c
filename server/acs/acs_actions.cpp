#include "ferry/server/acs/acs_actions.hpp"

namespace ferry::server {

void register_acs_actions(AcsActionRegistry& /*actions*/, ServerContext& /*ctx*/) {}

}  // namespace ferry::server
