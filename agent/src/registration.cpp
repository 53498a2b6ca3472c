#include "ferry/agent/registration.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/host.hpp"

namespace ferry::agent {
namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;

bool transient_registration_error(const CallResult& r) {
  const std::string code = r.error_code();
  return !r.transport_error.empty() || code == "InternalError" || code == "RequestLimitExceeded";
}

// The delay before attempt `attempt` + 1: doubling from `first` up to `max`, from its upper half.
std::chrono::milliseconds registration_delay(const RegisterRetry& retry, int attempt,
                                             std::mt19937_64& rng) {
  auto d = retry.first_delay;
  for (int i = 0; i < attempt && d < retry.max_delay; ++i) {
    d *= 2;
  }
  d = std::min(d, retry.max_delay);
  std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, d.count());
  return std::chrono::milliseconds(dist(rng));
}

// One call on a private io_context, waited for.
CallResult call_and_wait(ControlPlane& cp, net::io_context& io, const nlohmann::json& fields) {
  CallResult out;
  bool done = false;
  cp.call("RegisterInstance", fields, [&](CallResult r) {
    out = std::move(r);
    done = true;
  });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  return out;
}

bool exists_no_follow(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

Error state_error(const std::string& what, const std::error_code& ec) {
  return Error{codes::kInternalError, what + ": " + ec.message()};
}

fs::path pending_identity_file(const fs::path& state_dir) {
  return state_dir / "identity.json.new";
}

// The journal of an earlier identity goes aside with it: its tasks were that instance's.
Status move_journal_aside(const fs::path& state_dir, const std::string& old_instance) {
  const fs::path tasks = state_dir / "tasks";
  const fs::path aside = state_dir / ("tasks." + old_instance);
  if (!exists_no_follow(tasks)) {
    return {};
  }
  std::error_code ec;
  if (exists_no_follow(aside)) {
    // Moved already by an interrupted commit; what is there now was made since and is empty.
    if (fs::is_empty(tasks, ec) && !ec && fs::remove(tasks, ec)) {
      return {};
    }
    return Error{codes::kInternalError, tasks.string() + " and " + aside.string() +
                                            " both hold tasks; move one away by hand"};
  }
  fs::rename(tasks, aside, ec);
  if (ec) {
    return state_error("moving " + tasks.string() + " to " + aside.string(), ec);
  }
  return {};
}

}  // namespace

Expected<Identity> send_registration(const RegistrationRequest& request,
                                     const std::string& public_key_base64,
                                     const RegisterRetry& retry,
                                     const RegisterTransport& transport) {
  nlohmann::json fields{{"RegisterCodeId", request.code.id},
                        {"RegisterCodeValue", request.code.value},
                        {"PublicKey", public_key_base64},
                        {"SystemName", platform::os_name()}};
  if (auto h = platform::host_name(); !h.empty()) {
    fields["Hostname"] = h;
  }
  if (auto ips = platform::local_addresses(); !ips.empty()) {
    fields["LocalIp"] = ips;
  }
  if (!request.machine_id.empty()) {
    fields["MachineId"] = request.machine_id;
  }
  if (!request.instance_name.empty()) {
    fields["InstanceName"] = request.instance_name;
  }
  std::mt19937_64 rng(std::random_device{}());
  CallResult r;
  const int attempts = std::max(1, retry.max_attempts);
  bool clock_corrected = false;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    r = transport.call(fields);
    if (r.error_code() == "AuthFailure.SignatureExpire" && !clock_corrected &&
        r.response().contains("ServerTime") && r.response()["ServerTime"].is_number_integer()) {
      const auto local = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      transport.set_clock_offset(r.response()["ServerTime"].get<std::int64_t>() - local);
      clock_corrected = true;
      continue;
    }
    if (r.ok() || !transient_registration_error(r) || attempt + 1 == attempts) {
      break;
    }
    const auto delay = registration_delay(retry, attempt, rng);
    spdlog::warn("registration with {} not answered ({}); attempt {} of {} in {} ms",
                 request.server_url, r.describe(), attempt + 2, attempts, delay.count());
    transport.sleep(delay);
  }
  if (!r.ok()) {
    const std::string code = transient_registration_error(r) ? kServerUnreachable : r.error_code();
    return Error{code.empty() ? std::string(kServerUnreachable) : code,
                 "RegisterInstance with register code " + request.code.id + " at " +
                     request.server_url + ": " + r.describe()};
  }
  Identity id;
  id.instance_id = r.response().value("InstanceId", "");
  id.instance_name = r.response().value("InstanceName", "");
  id.server_url = request.server_url;
  id.ca_file = request.ca_file;
  id.allow_plain_http = request.allow_plain_http;
  id.registered_at = to_rfc3339(std::chrono::system_clock::now());
  id.machine_id = request.machine_id;
  if (id.instance_id.empty()) {
    return Error{codes::kInternalError, "the server's reply to RegisterInstance has no InstanceId"};
  }
  return id;
}

Registrar http_registrar(RegisterRetry retry) {
  return [retry](const RegistrationRequest& request,
                 const std::shared_ptr<const Ed25519PrivateKey>& key) -> Expected<Identity> {
    auto url = parse_server_url(request.server_url, request.allow_plain_http);
    if (!url) {
      return url.error();
    }
    net::io_context io;
    ControlPlaneOptions cpo;
    cpo.url = *url;
    cpo.ca_file = request.ca_file;
    cpo.user_agent = std::string("ferry-agent/") + FERRY_VERSION;
    auto cp = make_http_control_plane(io, cpo, AgentCredentials{"", key});
    RegisterTransport transport;
    transport.call = [&](const nlohmann::json& fields) { return call_and_wait(*cp, io, fields); };
    transport.sleep = [&](std::chrono::milliseconds d) {
      net::steady_timer t(io, d);
      t.wait();
    };
    transport.set_clock_offset = [&](std::int64_t s) { cp->set_clock_offset(s); };
    RegistrationRequest normalized = request;
    normalized.server_url = url->to_string();
    auto identity = send_registration(normalized, key->public_key_base64(), retry, transport);
    cp->shutdown();
    io.restart();
    io.run();
    return identity;
  };
}

fs::path pending_key_file(const fs::path& state_dir, const std::string& machine_id) {
  return state_dir / ("agent.key." + sha256_hex(machine_id).substr(0, 16) + ".new");
}

Expected<std::shared_ptr<const Ed25519PrivateKey>> registration_key(const fs::path& file) {
  if (exists_no_follow(file)) {
    auto k = read_key_file(file);
    if (!k) {
      return k.error();
    }
    return std::make_shared<const Ed25519PrivateKey>(std::move(*k));
  }
  auto k = Ed25519PrivateKey::generate();
  if (!k) {
    return k.error().wrap("making a key");
  }
  if (auto s = write_key_file(file, *k); !s) {
    return s.error().wrap("saving the key");
  }
  return std::make_shared<const Ed25519PrivateKey>(std::move(*k));
}

Status commit_registration(const fs::path& state_dir, const Identity& identity,
                           const RegisterCode& code) {
  if (auto s = save_register_code(state_dir, code); !s) {
    return s.error().wrap("saving the register code");
  }
  if (auto s = write_identity_file(pending_identity_file(state_dir), identity); !s) {
    return s.error().wrap("saving the identity");
  }
  return finish_registration(state_dir);
}

Status finish_registration(const fs::path& state_dir) {
  const fs::path pending = pending_identity_file(state_dir);
  if (!exists_no_follow(pending)) {
    return {};
  }
  auto next = read_identity_file(pending);
  if (!next) {
    return next.error();
  }
  if (exists_no_follow(identity_file(state_dir))) {
    auto old = load_identity(state_dir);
    if (!old) {
      return old.error();
    }
    if (old->instance_id != next->instance_id) {
      const fs::path kept = state_dir / ("identity.json." + old->instance_id);
      if (!exists_no_follow(kept)) {
        if (auto s = write_identity_file(kept, *old); !s) {
          return s.error().wrap("keeping the old identity");
        }
      }
      if (auto s = move_journal_aside(state_dir, old->instance_id); !s) {
        return s;
      }
    }
  }
  const fs::path new_key = pending_key_file(state_dir, next->machine_id);
  if (exists_no_follow(new_key)) {
    auto key = read_key_file(new_key);
    if (!key) {
      return key.error();
    }
    if (auto s = save_key(state_dir, *key); !s) {
      return s.error().wrap("saving the key");
    }
    std::error_code ec;
    fs::remove(new_key, ec);
  }
  if (auto s = save_identity(state_dir, *next); !s) {
    return s.error().wrap("saving the identity");
  }
  std::error_code ec;
  fs::remove(pending, ec);
  return {};
}

}  // namespace ferry::agent
