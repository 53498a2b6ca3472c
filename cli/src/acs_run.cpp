#include "ferry/cli/acs_run.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "ferry/cli/params.hpp"
#include "ferry/cli/table.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"

namespace ferry::cli {
namespace {

constexpr std::array<std::string_view, 4> kRepeatModes = {"Once", "Period", "NextRebootOnly",
                                                          "EveryReboot"};
constexpr std::array<std::string_view, 2> kTerminationModes = {"Process", "ProcessTree"};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// `value` in the spelling of the first of `names` it matches ignoring case.
template <std::size_t N>
std::optional<std::string> canonical_name(const std::array<std::string_view, N>& names,
                                          std::string_view value) {
  for (const auto name : names) {
    if (same_ignoring_case(name, value)) {
      return std::string(name);
    }
  }
  return std::nullopt;
}

Error refused(const std::string& message) {
  return Error{codes::kInvalidParameterValue, message};
}

// TAT's CommandType -> Cloud Assistant's Type.
std::string acs_type_of(std::string_view command_type) {
  if (command_type == "POWERSHELL") {
    return "RunPowerShellScript";
  }
  if (command_type == "BAT") {
    return "RunBatScript";
  }
  return "RunShellScript";
}

// What a schedule will do, for the line ferry prints after starting it.
std::string schedule_summary_of(const RunOptions& options, const std::string& mode) {
  if (mode == "Period") {
    return "runs on the schedule " + clean_cell(options.frequency.value_or(""));
  }
  if (mode == "NextRebootOnly") {
    return "runs the next time each instance boots";
  }
  return "runs every time each instance boots";
}

// The invocation `id` as the Cloud Assistant API shows it, when it is a schedule; nullopt when
// it is not, or the API does not answer (a server without it, an id it does not know).
std::optional<nlohmann::json> schedule_named(AcsApi& acs, const std::string& id) {
  auto reply = acs.call("DescribeInvocations", {{"InvokeId", id}});
  if (!reply || !reply->contains("Invocations") || !(*reply)["Invocations"].is_object()) {
    return std::nullopt;
  }
  const auto& invocations = set_of((*reply)["Invocations"], "Invocation");
  if (invocations.size() != 1 || !invocations[0].is_object() ||
      !is_schedule_mode(json_string(invocations[0], "RepeatMode"))) {
    return std::nullopt;
  }
  return invocations[0];
}

}  // namespace

std::optional<std::string> effective_repeat_mode(const RunOptions& options) {
  if (options.repeat_mode) {
    return canonical_name(kRepeatModes, *options.repeat_mode);
  }
  return options.frequency ? "Period" : "Once";
}

bool is_schedule_mode(std::string_view repeat_mode) {
  return !repeat_mode.empty() && repeat_mode != "Once";
}

Expected<AcsParamList> acs_run_command_params(const RunOptions& options) {
  if (options.instances.empty()) {
    return Error{codes::kMissingParameter, "no instance: give -i INSTANCE (one or more)"};
  }
  if (options.content.empty()) {
    return refused("the script is empty");
  }
  const auto mode = effective_repeat_mode(options);
  if (!mode) {
    return refused("--repeat " + clean_cell(*options.repeat_mode) +
                   ": give Once, Period, NextRebootOnly or EveryReboot");
  }
  if (options.frequency && options.frequency->empty()) {
    return refused("--frequency is empty: give rate(...), at(...) or a cron expression");
  }
  if (*mode == "Period" && !options.frequency) {
    return refused("--repeat Period needs --frequency (rate(...), at(...) or a cron expression)");
  }
  if (options.frequency && *mode != "Period") {
    return refused(
        "--frequency runs the command on a schedule (Period); it does not go with "
        "--repeat " +
        *mode);
  }
  std::optional<std::string> termination;
  if (options.termination_mode) {
    termination = canonical_name(kTerminationModes, *options.termination_mode);
    if (!termination) {
      return refused("--termination-mode " + clean_cell(*options.termination_mode) +
                     ": give Process or ProcessTree");
    }
  }
  if (options.launcher && options.launcher->empty()) {
    return refused("--launcher is empty");
  }
  if (options.follow && options.no_wait) {
    return refused("--follow and --no-wait do not go together");
  }

  AcsParamList p = {{"Type", acs_type_of(options.command_type)},
                    {"CommandContent", base64_encode(options.content)},
                    {"ContentEncoding", "Base64"}};
  for (std::size_t i = 0; i < options.instances.size(); ++i) {
    p.emplace_back("InstanceId." + std::to_string(i + 1), options.instances[i]);
  }
  if (options.timeout) {
    p.emplace_back("Timeout", std::to_string(*options.timeout));
  }
  if (options.working_directory) {
    p.emplace_back("WorkingDir", *options.working_directory);
  }
  if (options.username) {
    p.emplace_back("Username", *options.username);
  }
  if (!options.params.empty()) {
    auto parameters = parameters_json(options.params);
    if (!parameters) {
      return parameters.error();
    }
    p.emplace_back("EnableParameter", "true");
    p.emplace_back("Parameters", *parameters);
  }
  if (options.repeat_mode) {
    p.emplace_back("RepeatMode", *mode);
  }
  if (options.frequency) {
    p.emplace_back("Frequency", *options.frequency);
  }
  if (options.launcher) {
    p.emplace_back("Launcher", *options.launcher);
  }
  if (termination) {
    p.emplace_back("TerminationMode", *termination);
  }
  if (options.container) {
    if (is_valid_container_id(*options.container)) {
      p.emplace_back("ContainerId", *options.container);
    } else if (is_valid_container_name(*options.container)) {
      p.emplace_back("ContainerName", *options.container);
    } else {
      return refused("--container " + clean_cell(*options.container) +
                     ": neither a container id (12 to 64 lowercase hex digits, optionally after "
                     "docker://, containerd:// or cri-o://) nor a container name ([A-Za-z0-9_.-], "
                     "starting with a letter or digit, at most 255)");
    }
  }
  return p;
}

Expected<int> acs_run_command(Api& api, AcsApi& acs, const RunOptions& options, Console& console,
                              const RunHooks& hooks) {
  auto params = acs_run_command_params(options);
  if (!params) {
    return params.error();
  }
  const std::string mode = effective_repeat_mode(options).value_or("Once");
  auto started = acs.call("RunCommand", *params);
  if (!started) {
    return started.error();
  }
  const std::string invocation = json_string(*started, "InvokeId");
  if (invocation.empty()) {
    return Error{"", "RunCommand: the reply has no InvokeId"};
  }
  const bool schedule = is_schedule_mode(mode);
  if (options.no_wait || (schedule && !options.follow)) {
    console.out << (options.json ? started->dump(2) : clean_cell(invocation)) << "\n" << std::flush;
    if (schedule) {
      console.err << "ferry: invocation " << clean_cell(invocation) << " is scheduled (" << mode
                  << "): it " << schedule_summary_of(options, mode)
                  << "; each run is a task of it (ferry tasks --invocation "
                  << clean_cell(invocation) << "); ferry stop " << clean_cell(invocation)
                  << " ends it\n"
                  << std::flush;
    }
    return 0;
  }
  StartedRun run = tat_started_run(api, invocation, json_string(*started, "CommandId"));
  if (schedule) {
    run.schedule = true;
    run.stop_hint = "ferry stop " + invocation;
    run.cancel = [&acs, invocation]() -> Status {
      auto r = acs.call("StopInvocation", {{"InvokeId", invocation}});
      if (!r) {
        return r.error();
      }
      return {};
    };
  }
  return follow_run(api, run, options, console, hooks);
}

Expected<int> stop_or_cancel_command(Api& api, AcsApi& acs, const CancelOptions& options,
                                     Console& console) {
  if (!schedule_named(acs, options.invocation_id)) {
    return cancel_command(api, options, console);
  }
  AcsParamList params = {{"InvokeId", options.invocation_id}};
  for (std::size_t i = 0; i < options.instances.size(); ++i) {
    params.emplace_back("InstanceId." + std::to_string(i + 1), options.instances[i]);
  }
  auto r = acs.call("StopInvocation", params);
  if (!r) {
    return r.error();
  }
  if (options.json) {
    print_json(console, *r);
  } else {
    console.out << "stop requested: " << clean_cell(options.invocation_id) << "\n" << std::flush;
  }
  return 0;
}

Expected<int> tasks_with_schedule_command(Api& api, AcsApi& acs, const TasksOptions& options,
                                          Console& console) {
  if (options.invocation_id && !options.json) {
    if (const auto schedule = schedule_named(acs, *options.invocation_id)) {
      const std::string mode = json_string(*schedule, "RepeatMode");
      const std::string frequency = json_string(*schedule, "Frequency");
      console.err << "ferry: " << clean_cell(*options.invocation_id) << " is a schedule ("
                  << clean_cell(mode) << (frequency.empty() ? "" : " " + clean_cell(frequency))
                  << "), " << clean_cell(json_string(*schedule, "InvocationStatus"))
                  << ": each run is a task of it\n"
                  << std::flush;
    }
  }
  return tasks_command(api, options, console);
}

}  // namespace ferry::cli
