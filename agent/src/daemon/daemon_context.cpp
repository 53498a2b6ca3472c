#include "daemon_context.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ferry/core/time.hpp"

namespace ferry::agent {

using std::chrono::milliseconds;

DaemonContext::DaemonContext(DaemonOptions o, Identity i, ControlPlane& s, Clock& c)
    : options(std::move(o)),
      identity(std::move(i)),
      server(s),
      clock(c),
      audit_log_(audit_log_file(options.state_dir), options.audit_max_bytes,
                 options.audit_keep_files) {}

void DaemonContext::audit(AuditRecord record) {
  record.time = now_text();
  auto s = audit_log_.append(record);
  if (!s && !audit_failing_) {
    audit_failing_ = true;
    spdlog::warn("audit log: {} (tasks go on; lines are lost until writes work again)",
                 s.error().message);
  } else if (s && audit_failing_) {
    audit_failing_ = false;
    spdlog::info("audit log: writes work again");
  }
}

void DaemonContext::set_audit_limits(std::uint64_t max_bytes, std::size_t keep) {
  audit_log_.set_limits(max_bytes, keep);
}

std::string DaemonContext::now_text() const {
  return to_rfc3339(clock.wall_now());
}

milliseconds DaemonContext::backoff(int attempt, milliseconds min, milliseconds max) {
  milliseconds d = min;
  for (int i = 0; i < attempt && d < max; ++i) {
    d *= 2;
  }
  d = std::min(d, max);
  if (d.count() <= 1) {
    return d;
  }
  std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, d.count());
  return milliseconds(dist(rng_));
}

milliseconds DaemonContext::jittered(milliseconds base) {
  std::uniform_int_distribution<std::int64_t> dist(base.count() * 3 / 4, base.count() * 5 / 4);
  return milliseconds(std::max<std::int64_t>(1, dist(rng_)));
}

bool DaemonContext::check_fatal(const CallResult& r) {
  if (r.error_code() == "AuthFailure.InstanceNotFound") {
    instance_gone();
    return true;
  }
  return false;
}

void DaemonContext::instance_gone() {
  fatal("the server no longer knows instance " + identity.instance_id +
        " (deleted?); register again with a new register code");
}

bool DaemonContext::fix_clock(const CallResult& r) {
  if (r.error_code() != "AuthFailure.SignatureExpire") {
    return false;
  }
  auto it = r.response().find("ServerTime");
  if (it == r.response().end() || !it->is_number_integer()) {
    return false;
  }
  const auto local =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  const std::int64_t offset = it->get<std::int64_t>() - local;
  spdlog::warn("the local clock is {} s away from the server's; signing with the server's time",
               -offset);
  server.set_clock_offset(offset);
  return true;
}

}  // namespace ferry::agent
