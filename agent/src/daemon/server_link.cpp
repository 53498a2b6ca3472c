#include "server_link.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace ferry::agent {

ServerLink::ServerLink(DaemonContext& context, std::function<void()> work_waiting)
    : ctx_(context),
      work_waiting_(std::move(work_waiting)),
      reconnect_timer_(context.clock.make_timer()),
      poll_timer_(context.clock.make_timer()) {}

void ServerLink::start() {
  connect();
}

void ServerLink::stop() {
  poll_timer_->cancel();
  reconnect_timer_->cancel();
  ctx_.server.close_push();
}

std::string ServerLink::describe() const {
  if (push_ == Push::kUp) {
    return "connected to " + ctx_.identity.server_url;
  }
  if (!last_error_.empty()) {
    return "reconnecting: " + last_error_;
  }
  return "connecting to " + ctx_.identity.server_url;
}

void ServerLink::connect() {
  if (!ctx_.running() || push_ != Push::kDown) {
    return;
  }
  push_ = Push::kConnecting;
  PushHandlers h;
  h.on_open = ctx_.guard([this] { opened(); });
  h.on_message = ctx_.guard([this](const std::string& text) { message(text); });
  h.on_closed = ctx_.guard(
      [this](const std::string& reason, const std::string& code) { closed(reason, code); });
  ctx_.server.connect_push(std::move(h));
}

void ServerLink::opened() {
  push_ = Push::kUp;
  reconnect_attempts_ = 0;
  last_error_.clear();
  poll_timer_->cancel();
  spdlog::info("connected to {} (push socket up)", ctx_.identity.server_url);
  ctx_.status_changed();
  // Kicks sent while the socket was down are not replayed.
  work_waiting_();
}

void ServerLink::message(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    spdlog::debug("push: a frame that is not a JSON object, ignored");
    return;
  }
  const auto type = j.find("Type");
  if (type != j.end() && (*type == "kick" || *type == "cancel")) {
    const auto seq = j.find("Seq");
    spdlog::debug("push: {} (seq {})", type->get<std::string>(),
                  seq != j.end() && seq->is_number_integer() ? seq->get<std::int64_t>() : 0);
    work_waiting_();
  } else {
    spdlog::debug("push: frame of unknown type ignored");
  }
}

void ServerLink::closed(const std::string& reason, const std::string& code) {
  const bool was_up = push_ == Push::kUp;
  push_ = Push::kDown;
  if (!ctx_.running()) {
    return;
  }
  if (code == "AuthFailure.InstanceNotFound") {
    ctx_.instance_gone();
    return;
  }
  const auto delay =
      ctx_.backoff(reconnect_attempts_++, ctx_.options.reconnect_min, ctx_.options.reconnect_max);
  if (was_up || reason != last_error_) {
    spdlog::info("push socket down ({}); reconnecting in {} ms, polling meanwhile", reason,
                 delay.count());
  } else {
    spdlog::debug("push socket still down ({}); next try in {} ms", reason, delay.count());
  }
  last_error_ = reason;
  ctx_.status_changed();
  reconnect_timer_->start(delay, [this] { connect(); });
  arm_poll();
}

void ServerLink::arm_poll() {
  if (poll_timer_->armed() || push_ == Push::kUp || !ctx_.running()) {
    return;
  }
  poll_timer_->start(ctx_.jittered(ctx_.options.poll_interval), [this] {
    if (push_ == Push::kUp || !ctx_.running()) {
      return;
    }
    work_waiting_();
    arm_poll();
  });
}

}  // namespace ferry::agent
