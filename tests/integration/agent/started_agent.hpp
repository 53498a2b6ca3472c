// Brings a ferry-agent up for the end-to-end and fault tests, each step REQUIREd with what went
// wrong in the failure message.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "agent_process.hpp"

namespace ferry::test {

// Registers `agent` with the register code, starts its daemon and waits for its push socket.
inline void register_and_start(AgentProcess& agent, const std::string& server_url,
                               const std::string& code_id, const std::string& code) {
  const auto r = agent.register_with(server_url, code_id, code);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(agent.instance_id().starts_with("rins-"));
  agent.start();
  const bool up = agent.wait_log("push socket up");
  INFO(agent.log());
  REQUIRE(up);
}

}  // namespace ferry::test
