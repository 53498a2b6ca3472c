// TAT's hidden parameters, "{{tat-hidden:name}}" in a command's content: substituted by the
// agent like any other parameter, their values masked wherever an invocation is shown, and
// kept in clear only while something still needs them (docs/architecture.md, "Hidden
// parameters"). A rule on the model that the store applies (built with it, server/store/).
#pragma once

#include <string>
#include <vector>

#include "ferry/server/model.hpp"

namespace ferry::server {

// The names a command content (base64, as stored) uses hidden; none when it uses none or
// cannot be read.
std::vector<std::string> hidden_parameter_names(const std::string& content_b64);

// `json_text` (a parameter object as stored) with the values of `hidden` names replaced by
// the mask "******"; as it is when it names none of them or is not such an object.
std::string mask_hidden_values(const std::string& json_text,
                               const std::vector<std::string>& hidden);

// Both: the parameter object as an invocation of `content_b64` shows it.
std::string shown_parameters(const std::string& json_text, const std::string& content_b64);

// Once the agent holds the task (RUNNING, CANCELLING) or the task is final, its hidden values
// are no longer needed: masked in `task.parameters`. SqlStore::modify_task applies it to every
// task it writes.
void forget_hidden_values(InvocationTask& task);

}  // namespace ferry::server
