// One process per directory: an exclusive lock on a file in it, held for as long as the lock
// object lives (POSIX: an open file description lock, F_OFD_SETLK, on a descriptor that is closed
// on exec, so processes we start, such as task supervisors, never hold it after we are gone).
#pragma once

#include <filesystem>
#include <memory>

#include "ferry/core/error.hpp"

namespace ferry::platform {

class InstanceLock {
 public:
  // Opens (creating it with mode 0600) and locks `file` without waiting, then writes this
  // process's pid into it. When another process holds it: an OperationDenied error naming
  // `file` and the pid written there ("... is locked by pid 1234").
  static Expected<InstanceLock> acquire(const std::filesystem::path& file);

  InstanceLock(InstanceLock&&) noexcept;
  InstanceLock& operator=(InstanceLock&&) noexcept;
  // Releases the lock (the file stays, with the last holder's pid).
  ~InstanceLock();

  [[nodiscard]] const std::filesystem::path& file() const;

 private:
  struct Impl;
  explicit InstanceLock(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::platform
