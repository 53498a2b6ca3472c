#include "ferry/server/hidden_parameters.hpp"

#include <nlohmann/json.hpp>

#include "ferry/core/base64.hpp"
#include "ferry/core/parameters.hpp"

namespace ferry::server {

std::vector<std::string> hidden_parameter_names(const std::string& content_b64) {
  if (content_b64.empty()) {
    return {};
  }
  const auto script = base64_decode(content_b64);
  if (!script || script->find(':') == std::string::npos) {
    return {};  // no "{{tat-hidden:...}}" without a colon: the common case, one scan
  }
  auto names = hidden_parameters(*script);
  return names ? std::move(*names) : std::vector<std::string>{};
}

std::string mask_hidden_values(const std::string& json_text,
                               const std::vector<std::string>& hidden) {
  if (json_text.empty() || hidden.empty()) {
    return json_text;
  }
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) {
    return json_text;
  }
  bool masked = false;
  for (const auto& name : hidden) {
    if (auto it = j.find(name); it != j.end() && *it != kHiddenMask) {
      *it = std::string(kHiddenMask);
      masked = true;
    }
  }
  return masked ? j.dump() : json_text;
}

std::string shown_parameters(const std::string& json_text, const std::string& content_b64) {
  if (json_text.empty()) {
    return json_text;
  }
  return mask_hidden_values(json_text, hidden_parameter_names(content_b64));
}

void forget_hidden_values(InvocationTask& task) {
  if (task.parameters.empty() || task.status == TaskStatus::kPending ||
      task.status == TaskStatus::kDeliverDelayed || task.status == TaskStatus::kDelivering) {
    return;
  }
  task.parameters =
      mask_hidden_values(task.parameters, hidden_parameter_names(task.document.content));
}

}  // namespace ferry::server
