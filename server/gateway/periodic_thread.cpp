#include "ferry/server/gateway/periodic_thread.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace ferry::server {

PeriodicThread::PeriodicThread(std::string name, std::chrono::milliseconds interval,
                               std::function<Status()> pass)
    : name_(std::move(name)),
      interval_(std::max(interval, std::chrono::milliseconds(1))),
      pass_(std::move(pass)) {}

PeriodicThread::~PeriodicThread() {
  stop();
}

void PeriodicThread::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void PeriodicThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void PeriodicThread::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      if (auto s = pass_(); !s) {
        spdlog::warn("{}: pass failed: {}", name_, s.error().message);
      }
    } catch (const std::exception& e) {
      spdlog::error("{}: pass failed: {}", name_, e.what());
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace ferry::server
