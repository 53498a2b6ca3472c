// The TAT actions over the server's test fixture, called through their registry as the TAT
// dialect calls them, without HTTP or signing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/server/api/action_registry.hpp"
#include "server_fixture.hpp"

namespace ferry::test {

class ActionFixture : public ServerFixture {
 public:
  ActionFixture();

  // Calls the action's handler with `body` as its parameters; an error as the TAT envelope
  // shows it (store codes mapped).
  Expected<nlohmann::json> call(const std::string& action, const nlohmann::json& body);
  // The call's result, failing the test when it is an error.
  nlohmann::json ok(const std::string& action, const nlohmann::json& body);
  // The call's error code, failing the test when it succeeded ("" then).
  std::string code(const std::string& action, const nlohmann::json& body);

  server::ActionRegistry actions;
};

// Base64 of `text`.
std::string b64(const std::string& text);

}  // namespace ferry::test
