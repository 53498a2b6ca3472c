// An agent registering its machine with a register code (the agent protocol's RegisterInstance,
// docs/protocol.md): the instance gets an id, a name and the agent's public key, and the code
// counts one registration more.
#pragma once

#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server {

// Error codes of registration beyond the store's and the common ones.
namespace registration_codes {
// One answer for an unknown code id and a wrong value, so that probing ids teaches nothing.
inline constexpr const char* kRegisterCodeInvalid = "AuthFailure.RegisterCodeInvalid";
inline constexpr const char* kIpAddressOutOfRange = "OperationDenied.IpAddressOutOfRange";
}  // namespace registration_codes

namespace domain {

struct Registration {
  std::string register_code_id;
  std::string register_code_value;  // secret: never logged
  std::string public_key;           // Ed25519, base64 of the 32 raw bytes
  std::string hostname;
  std::vector<std::string> local_ips;  // the first is the one shown and filtered on
  std::string machine_id;
  std::string system_name;     // Linux | Windows
  std::string instance_name;   // optional: the name the agent asks for (e.g. from its image)
  std::string remote_address;  // the agent's address as the server saw it
};

// The fields' rules, checked before the proof of possession: PublicKey, SystemName, Hostname,
// MachineId, LocalIp and InstanceName (InvalidParameterValue naming the field), the code's id
// and value present (RegisterCodeInvalid).
Status check_registration(const Registration& r);

// Whether the code exists and its value matches, by a read alone (RegisterCodeInvalid
// otherwise): checked before anything of the request is written (its nonce), so that a guess
// costs the store no write. register_instance checks it all again in its transaction.
Status check_register_code(ServerContext& ctx, const Registration& r);

struct RegisteredInstance {
  std::string instance_id;
  std::string instance_name;
};

// Registers the key as a new instance, or finds the instance it already made (a retry after a
// lost reply registers nothing twice and uses the code once). The code must exist, be enabled,
// unexpired, under its RegisterLimit, match the value and admit remote_address in its
// IpAddressRange.
Expected<RegisteredInstance> register_instance(ServerContext& ctx, const Registration& r);

}  // namespace domain
}  // namespace ferry::server
