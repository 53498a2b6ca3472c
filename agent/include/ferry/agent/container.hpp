// Running a task inside a container (Task::container_id / container_name) through the container
// runtime's CLI: which runtime has the container, the command line that runs the script there
// with `/bin/sh -c`, and the one that stops it there on timeout or cancel. The supervisor uses
// these; the script reaches the container on the exec's stdin, never as a file in it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task.hpp"

namespace ferry::agent {

// The start of the ErrorInfo of a START_FAILED container task (stable: the server maps them).
inline constexpr std::string_view kContainerNotFound = "ContainerNotFound";
inline constexpr std::string_view kContainerNotRunning = "ContainerNotRunning";
inline constexpr std::string_view kContainerRuntimeNotFound = "ContainerRuntimeNotFound";

// The runtime CLIs and where they reach their engines (agent config keys of the same names);
// a bare program name is looked up on the sane PATH, an empty endpoint is the CLI's default.
struct ContainerRuntimes {
  std::string docker_path = "docker";
  std::string docker_host;  // docker -H
  std::string podman_path = "podman";
  std::string podman_url;  // podman --url
  std::string crictl_path = "crictl";
  std::string containerd_endpoint = "unix:///run/containerd/containerd.sock";
  std::string crio_endpoint = "unix:///var/run/crio/crio.sock";

  friend bool operator==(const ContainerRuntimes&, const ContainerRuntimes&) = default;
};

enum class RuntimeKind { kDocker, kPodman, kCrictl };

// A container found running, and how to reach it.
struct ContainerTarget {
  RuntimeKind kind = RuntimeKind::kDocker;
  std::vector<std::string> cli;  // the runtime program (absolute) and its global flags
  std::string container;         // as the runtime's exec takes it (crictl: the full id)
};

// Finds the task's container: with a prefix in ContainerId only that runtime (docker:// the
// docker CLI, containerd:// and cri-o:// crictl on their endpoint), else docker, podman, then
// crictl (containerd, then cri-o), asking each CLI whether it has the container running.
// Errors (their code is the ErrorInfo token): ContainerRuntimeNotFound when no runtime that
// could hold it answers, ContainerNotFound when those that answer do not have it,
// ContainerNotRunning when it exists but does not run. Each question gets `probe_timeout`.
Expected<ContainerTarget> find_container(const Task& task, const ContainerRuntimes& runtimes,
                                         std::chrono::milliseconds probe_timeout);

// The command that runs the script read from its stdin with `/bin/sh -c` in the container, as
// its default user in its default directory. The shell records its pid in
// /tmp/.ferry-task-<id>.pid inside the container (best effort) for container_stop_argv().
std::vector<std::string> container_exec_argv(const ContainerTarget& target,
                                             const std::string& task_id);

// The command that stops the task inside the container: SIGTERM to the task's shell and, with
// `whole_tree`, all its descendants (found through /proc there), then SIGKILL to those left
// after `grace`. Ends at once when the task is already gone.
std::vector<std::string> container_stop_argv(const ContainerTarget& target,
                                             const std::string& task_id, bool whole_tree,
                                             std::chrono::milliseconds grace);

// Supervisor arguments for the runtimes that differ from the defaults (`--runtime KEY=VALUE`),
// and reading one back; false for an unknown key.
std::vector<std::string> runtime_arguments(const ContainerRuntimes& runtimes);
bool set_runtime_value(ContainerRuntimes& runtimes, std::string_view key, std::string value);

}  // namespace ferry::agent
