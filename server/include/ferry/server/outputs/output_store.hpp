// The server's own store of complete task outputs, for tasks that name no bucket: the agent
// uploads an output whose head+tail excerpt left bytes out (UploadTaskOutput), and
// DescribeInvocationTaskOutput / `ferry output` read it back. One directory (mode 0700) of
// `<task-id>.part` files being uploaded and `<task-id>.log` files complete, mode 0600. The bytes
// of all of them together stay under a cap: a piece that would cross it first evicts the oldest
// complete outputs (by mtime), else it is refused. Files older than the retention are removed by
// remove_expired(), which the server runs at start and then hourly. Thread-safe: one mutex, and
// reads copy their bytes from a descriptor opened under it, outside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"

namespace ferry::server {

// A piece that does not fit, or a disabled store.
inline constexpr const char* kOutputStoreLimitExceeded = "LimitExceeded.OutputStore";

struct OutputStoreOptions {
  std::filesystem::path dir;
  // Over every file of the store; 0 disables the store (nothing is read or written).
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  std::int64_t retention_days = 7;
};

// What the store holds of one task's output.
struct OutputState {
  std::uint64_t size = 0;  // bytes held, contiguous from 0
  bool complete = false;
};

struct OutputRange {
  std::uint64_t size = 0;  // of the whole (complete) output
  std::string bytes;       // from the offset asked for
};

class OutputStore {
 public:
  // Makes the directory (0700) when missing, refuses one that others may write, and scans it for
  // the running total; a `.part` beside a `.log` of the same task is removed. A disabled store
  // touches nothing.
  static Expected<std::unique_ptr<OutputStore>> open(OutputStoreOptions options,
                                                     const Clock& clock);
  OutputStore(const OutputStore&) = delete;
  OutputStore& operator=(const OutputStore&) = delete;
  ~OutputStore();

  // A task id names a file: 1 to 64 characters of [A-Za-z0-9_-].
  static bool valid_task_id(std::string_view task_id);

  [[nodiscard]] bool enabled() const { return options_.max_bytes > 0; }
  [[nodiscard]] const OutputStoreOptions& options() const { return options_; }
  // Bytes of every file held, as counted.
  [[nodiscard]] std::uint64_t total_bytes() const;

  // Writes `bytes` at `offset` of the task's output: when offset <= the bytes held, the output
  // is cut to `offset` and `bytes` follow (a resend is harmless); beyond them nothing is written.
  // `final` (with the piece written) completes the output: renamed to .log, fsynced. A complete
  // output ignores further pieces. Returns what is held afterwards. A piece that does not fit
  // under the cap once the oldest complete outputs are evicted is refused with
  // kOutputStoreLimitExceeded, and the task's partial output is dropped (it could never
  // complete); so is every piece when the store is disabled. InvalidParameterValue for a bad
  // task id, InternalError for a failed file operation.
  Expected<OutputState> write(const std::string& task_id, std::uint64_t offset,
                              std::string_view bytes, bool final);
  // What is held of the task's output; nullopt when nothing is (or the store is disabled).
  Expected<std::optional<OutputState>> state(const std::string& task_id) const;
  // Up to `limit` bytes from `offset` of the task's complete output (none past its end); nullopt
  // when no complete output is held.
  Expected<std::optional<OutputRange>> read(const std::string& task_id, std::uint64_t offset,
                                            std::uint64_t limit) const;
  // Removes the files older than the retention (by mtime), then counts the directory again (a
  // file removed or changed behind the server's back is then accounted for). Returns how many
  // files went.
  Expected<int> remove_expired();

 private:
  struct Entry {
    std::uint64_t size = 0;
    bool complete = false;
    std::int64_t mtime_ns = 0;
  };

  OutputStore(OutputStoreOptions options, const Clock& clock);
  [[nodiscard]] std::filesystem::path path_of(const std::string& task_id, bool complete) const;
  // The directory as it is now, into entries_ and total_. Under mutex_.
  Status scan();
  // Evicts the oldest complete outputs until `needed` more bytes fit. Under mutex_.
  bool make_room(std::uint64_t needed);
  // Removes the task's file and forgets it. Under mutex_.
  void drop(const std::string& task_id);
  Expected<OutputState> write_locked(const std::string& task_id, std::uint64_t offset,
                                     std::string_view bytes, bool final);
  Status complete_locked(const std::string& task_id, Entry& entry);

  OutputStoreOptions options_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::uint64_t total_ = 0;
};

}  // namespace ferry::server
