// The facilities of platform/ that the supervisor and the daemon link but Windows does not have
// yet, each a clear error rather than a missing symbol: delivering files (Cloud Assistant's
// SendFile: owners and modes are POSIX's), running helper programs (the container runtimes'
// CLIs; tasks in containers are refused before, supervisor.cpp), and finding a process by its
// arguments (another process's command line).
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/file_delivery.hpp"
#include "ferry/platform/process_identity.hpp"
#include "ferry/platform/run_command.hpp"

namespace ferry::platform {

Status deliver_file(const FileDelivery& /*delivery*/, std::string_view /*content*/) {
  return Error{file_delivery_codes::kFailed, "delivering files is not supported on Windows yet"};
}

Expected<CommandOutcome> run_command(const std::vector<std::string>& /*argv*/,
                                     const std::vector<std::string>& /*env*/,
                                     std::chrono::milliseconds /*timeout*/,
                                     std::size_t /*max_out*/) {
  return Error{codes::kInternalError, "running helper programs is not supported on Windows yet"};
}

// None found: the daemon's recovery then treats the supervisor of a task that an earlier agent
// started but had not journaled yet as gone (recovery.cpp, recover_unjournaled).
std::optional<ProcessIdentity> find_process_with_args(
    const std::initializer_list<std::string_view>& /*args*/) {
  return std::nullopt;
}

}  // namespace ferry::platform
