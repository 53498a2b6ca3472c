#include "ferry/server/api/action_registry.hpp"

#include <nlohmann/json.hpp>

namespace ferry::server {

void ActionRegistry::add(const std::string& name, ActionSpec spec) {
  if (spec.serialized && !spec.handler) {
    spec.handler = [serialized = spec.serialized](const ApiCall& call,
                                                  Params& params) -> Expected<nlohmann::json> {
      std::string text;
      if (auto s = serialized(call, params, text); !s) {
        return s.error();
      }
      auto reply = nlohmann::json::parse(text);
      reply.erase("RequestId");
      return reply;
    };
  }
  actions_[name] = std::move(spec);
}

const ActionSpec* ActionRegistry::find(std::string_view name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

}  // namespace ferry::server
