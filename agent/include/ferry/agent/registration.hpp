// Registering this machine with ferry-server (RegisterInstance, docs/protocol.md) and saving the
// result in the state dir: shared by `ferry-agent register` and the daemon's unattended
// registrations (first_boot.hpp). Files of a registration under way, beside identity.hpp's:
//   <state>/agent.key.<m>.new    0600  the key of a registration not answered yet, on the machine
//                                      whose id's SHA-256 begins with the 16 hex digits <m>
//   <state>/identity.json.new    0600  the new identity while it is being put in place
//   <state>/identity.json.<id>   0600  an earlier identity of this state dir, kept for forensics
//   <state>/tasks.<id>/          0711  that identity's journal, never reported under the new one
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "ferry/agent/control_plane.hpp"
#include "ferry/agent/identity.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error.hpp"

namespace ferry::agent {

struct RegistrationRequest {
  std::string server_url;
  std::string ca_file;  // empty: the system's CAs
  bool allow_plain_http = false;
  RegisterCode code;          // its value is a secret: never logged
  std::string instance_name;  // empty: the server names the instance
  std::string machine_id;     // sent as MachineId and kept in the identity
};

// How often an unanswered RegisterInstance is sent again: after first_delay, doubling up to
// max_delay, each delay drawn from its upper half (so that clones booted together spread out).
struct RegisterRetry {
  int max_attempts = 4;
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{8000};
};

// The error code of a registration the server never answered (or answered only with transient
// errors: InternalError, RequestLimitExceeded) within the attempts.
inline constexpr const char* kServerUnreachable = "ServerUnreachable";

// One RegisterInstance round trip, synchronous, and what retrying needs: a seam for tests.
struct RegisterTransport {
  std::function<CallResult(const nlohmann::json& fields)> call;
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<void(std::int64_t seconds)> set_clock_offset;
};

// Sends RegisterInstance for `public_key_base64` until the server answers, retrying as `retry`
// says (each retry logged at warn; AuthFailure.SignatureExpire corrects the clock and sends
// again at once). Returns the identity to save (registered now, on request.machine_id), or the
// server's refusal with its code (the message names the code's id, never its value), or
// kServerUnreachable.
Expected<Identity> send_registration(const RegistrationRequest& request,
                                     const std::string& public_key_base64,
                                     const RegisterRetry& retry,
                                     const RegisterTransport& transport);

// A whole registration with `key`: what the daemon and `ferry-agent register` call, and what
// the first-boot tests fake.
using Registrar = std::function<Expected<Identity>(
    const RegistrationRequest& request, const std::shared_ptr<const Ed25519PrivateKey>& key)>;

// send_registration() over HTTP(S) on a control plane of its own.
Registrar http_registrar(RegisterRetry retry);

// Where a registration on the machine `machine_id` keeps its key until it is committed. Named by
// the machine, so that a key left in an image by a registration that was never answered is not
// used again by the image's clones (the server would answer each of them with one instance).
std::filesystem::path pending_key_file(const std::filesystem::path& state_dir,
                                       const std::string& machine_id);

// The key at `file` when there is one (left by a registration whose reply was lost: the server
// answers the same key with the same instance, and the code is not used twice), else a new one
// saved there (0600).
Expected<std::shared_ptr<const Ed25519PrivateKey>> registration_key(
    const std::filesystem::path& file);

// Saves a successful registration: the code (register_code.json, for re-registering a clone),
// then the identity through identity.json.new and finish_registration().
Status commit_registration(const std::filesystem::path& state_dir, const Identity& identity,
                           const RegisterCode& code);

// Puts identity.json.new in place, when there is one (a commit interrupted by a crash is
// finished by the next start): an identity.json of another instance is copied to
// identity.json.<its id> and its journal (tasks/) moved to tasks.<its id>/, the pending key of
// the new identity's machine becomes agent.key (the old key is gone: a clone must never speak as
// its original), and identity.json is replaced. Each step can be done again.
Status finish_registration(const std::filesystem::path& state_dir);

}  // namespace ferry::agent
