#include "heartbeat.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ferry/platform/host.hpp"

namespace ferry::agent {

Heartbeat::Heartbeat(DaemonContext& context) : ctx_(context), timer_(context.clock.make_timer()) {}

void Heartbeat::start() {
  beat();
}

void Heartbeat::stop() {
  timer_->cancel();
}

void Heartbeat::beat() {
  if (!ctx_.running()) {
    return;
  }
  nlohmann::json fields{
      {"Version", ctx_.options.version},
      {"Environment", platform::os_name()},
      {"SupportFeatures", nlohmann::json::array({"ProcessTree", "Process", "Parameters", "Launcher",
                                                 "LiveOutput", "Cancel"})}};
  if (!ctx_.options.boot_id.empty()) {
    fields["BootId"] = ctx_.options.boot_id;
  }
  ctx_.server.call("Heartbeat", fields, ctx_.guard([this](CallResult r) { answered(r); }));
}

void Heartbeat::answered(const CallResult& r) {
  if (!ctx_.running() || ctx_.check_fatal(r)) {
    return;
  }
  std::chrono::seconds next = ctx_.options.default_heartbeat;
  if (r.ok()) {
    auto it = r.response().find("HeartbeatInterval");
    if (it != r.response().end() && it->is_number_integer() && it->get<int>() > 0) {
      next = std::chrono::seconds(it->get<int>());
    }
  } else {
    const bool clock_fixed = ctx_.fix_clock(r);
    spdlog::debug("heartbeat failed: {}", r.describe());
    next = clock_fixed ? std::chrono::seconds(1) : std::min(next, std::chrono::seconds(30));
  }
  timer_->start(next, [this] { beat(); });
}

}  // namespace ferry::agent
