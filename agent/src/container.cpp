#include "ferry/agent/container.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "ferry/platform/environment.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/run_command.hpp"

namespace ferry::agent {
namespace {

// One runtime to ask: its CLI and the global flags that point it at its engine.
struct Candidate {
  RuntimeKind kind;
  std::string program;
  std::vector<std::string> flags;
};

enum class Answer { kRunning, kStopped, kAbsent, kUnreachable };

struct Probe {
  Answer answer = Answer::kUnreachable;
  std::string container;  // as exec takes it
};

std::vector<std::string> container_probe_env() {
  return {"PATH=" + std::string(platform::kSanePath), "LC_ALL=C"};
}

std::optional<std::string> resolve_program(const std::string& program) {
  if (program.starts_with('/')) {
    const auto facts = platform::inspect_file(program, platform::FollowLinks::kYes);
    return facts && facts->regular_file && facts->executable ? std::optional(program)
                                                             : std::nullopt;
  }
  auto found = platform::find_program(program, platform::kSanePath);
  return found ? std::optional(*found) : std::nullopt;
}

std::vector<std::string> with(const Candidate& c, std::vector<std::string> rest) {
  std::vector<std::string> argv{c.program};
  argv.insert(argv.end(), c.flags.begin(), c.flags.end());
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

std::optional<platform::CommandOutcome> ask(const std::vector<std::string>& argv,
                                            std::chrono::milliseconds timeout) {
  auto r = platform::run_command(argv, container_probe_env(), timeout);
  return r ? std::optional(std::move(*r)) : std::nullopt;
}

std::string first_line(const std::string& s) {
  const auto end = s.find_first_of("\r\n");
  return s.substr(0, end);
}

Probe probe(const Candidate& c, const std::string& container, std::chrono::milliseconds timeout) {
  Probe p;
  if (c.kind == RuntimeKind::kCrictl) {
    // Running containers only; crictl exec takes the full id.
    const bool by_id = is_valid_container_id(container);
    auto listed = ask(
        with(c, {"ps", "-q", by_id ? "--id" : "--name", by_id ? container : "^" + container + "$"}),
        timeout);
    if (!listed || listed->exit_code != 0) {
      return p;  // unreachable
    }
    const std::string id = first_line(listed->out);
    if (!id.empty()) {
      return {Answer::kRunning, id};
    }
    auto all = ask(with(c, {"ps", "-a", "-q", by_id ? "--id" : "--name",
                            by_id ? container : "^" + container + "$"}),
                   timeout);
    p.answer = all && all->exit_code == 0 && !first_line(all->out).empty() ? Answer::kStopped
                                                                           : Answer::kAbsent;
    return p;
  }
  auto inspected =
      ask(with(c, {"container", "inspect", "--format", "{{.State.Running}}", container}), timeout);
  if (inspected && inspected->exit_code == 0) {
    const std::string state = first_line(inspected->out);
    return {state == "true" ? Answer::kRunning : Answer::kStopped, container};
  }
  // Not there, or no engine behind the CLI: the engine's version tells which.
  auto version = ask(with(c, {"version", "--format", "{{.Server.Version}}"}), timeout);
  p.answer = version && version->exit_code == 0 ? Answer::kAbsent : Answer::kUnreachable;
  return p;
}

std::vector<std::string> endpoint_flags(const char* flag, const std::string& endpoint) {
  return endpoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{flag, endpoint};
}

// The runtimes to ask, in order, for the container named by the task; `bare` is the container
// without its runtime prefix.
std::vector<Candidate> candidates(const Task& task, const ContainerRuntimes& r, std::string& bare) {
  const Candidate docker{RuntimeKind::kDocker, r.docker_path, endpoint_flags("-H", r.docker_host)};
  const Candidate podman{RuntimeKind::kPodman, r.podman_path,
                         endpoint_flags("--url", r.podman_url)};
  const Candidate containerd{RuntimeKind::kCrictl, r.crictl_path,
                             endpoint_flags("--runtime-endpoint", r.containerd_endpoint)};
  const Candidate crio{RuntimeKind::kCrictl, r.crictl_path,
                       endpoint_flags("--runtime-endpoint", r.crio_endpoint)};
  bare = task.container_id.empty() ? task.container_name : task.container_id;
  const std::array<std::pair<std::string_view, Candidate>, 3> prefixed{{
      {"docker://", docker},
      {"containerd://", containerd},
      {"cri-o://", crio},
  }};
  for (const auto& [prefix, candidate] : prefixed) {
    if (bare.starts_with(prefix)) {
      bare = bare.substr(prefix.size());
      return {candidate};
    }
  }
  return {docker, podman, containerd, crio};
}

// Single-quoted for the shell; the ids put here are [A-Za-z0-9_-] already.
std::string pid_file(const std::string& task_id) {
  return "/tmp/.ferry-task-" + task_id + ".pid";
}

}  // namespace

Expected<ContainerTarget> find_container(const Task& task, const ContainerRuntimes& runtimes,
                                         std::chrono::milliseconds probe_timeout) {
  std::string bare;
  const auto list = candidates(task, runtimes, bare);
  std::vector<std::string> asked;
  bool any_answered = false;
  bool stopped = false;
  for (Candidate c : list) {
    const auto program = resolve_program(c.program);
    if (!program) {
      continue;
    }
    c.program = *program;
    asked.push_back(c.program);
    const Probe p = probe(c, bare, probe_timeout);
    if (p.answer == Answer::kRunning) {
      return ContainerTarget{c.kind, with(c, {}), p.container};
    }
    any_answered = any_answered || p.answer != Answer::kUnreachable;
    stopped = stopped || p.answer == Answer::kStopped;
  }
  const std::string which =
      task.container_id.empty() ? "named " + task.container_name : task.container_id;
  if (stopped) {
    return Error{std::string(kContainerNotRunning), "the container " + which + " is not running"};
  }
  if (any_answered) {
    return Error{std::string(kContainerNotFound), "no container " + which + " on this machine"};
  }
  std::string tried;
  for (const auto& c : list) {
    if (tried.find(c.program) == std::string::npos) {
      tried += (tried.empty() ? "" : ", ") + c.program;
    }
  }
  return Error{std::string(kContainerRuntimeNotFound),
               "no container runtime answered for " + which + " (tried " + tried + ")"};
}

std::vector<std::string> container_exec_argv(const ContainerTarget& target,
                                             const std::string& task_id) {
  // The script arrives on stdin and is read whole before it runs, so that it never sits in the
  // container's filesystem and its own reads of stdin see end of file.
  const std::string wrapper = "f=" + pid_file(task_id) +
                              "\n"
                              "{ echo $$ >\"$f\"; } 2>/dev/null\n"
                              "s=\n"
                              "while IFS= read -r l || [ -n \"$l\" ]; do s=\"$s$l\n\"; done\n"
                              "/bin/sh -c \"$s\" ferry-task </dev/null\n"
                              "r=$?\n"
                              "rm -f \"$f\" 2>/dev/null\n"
                              "exit $r\n";
  std::vector<std::string> argv = target.cli;
  argv.insert(argv.end(), {"exec", "-i", target.container, "/bin/sh", "-c", wrapper, "ferry"});
  return argv;
}

std::vector<std::string> container_stop_argv(const ContainerTarget& target,
                                             const std::string& task_id, bool whole_tree,
                                             std::chrono::milliseconds grace) {
  const auto grace_s = std::to_string((grace.count() + 999) / 1000);
  // The task's shell and, for a tree, its descendants by their ppid in /proc/<pid>/stat (the
  // fields after the last ") ": state, ppid). Frozen first so that none forks meanwhile.
  const std::string killer =
      "f=" + pid_file(task_id) +
      "\n"
      "[ -r \"$f\" ] && read -r root <\"$f\" || exit 0\n"
      "case $root in ''|*[!0-9]*) exit 0;; esac\n"
      "depth=" +
      std::string(whole_tree ? "64" : "1") +
      "\n"
      "tree() {\n"
      "  all=$root; new=$root; d=0\n"
      "  while [ -n \"$new\" ] && [ $d -lt $depth ]; do\n"
      "    next=\n"
      "    for st in /proc/[0-9]*/stat; do\n"
      "      IFS= read -r l <\"$st\" 2>/dev/null || continue\n"
      "      set -- ${l##*') '}\n"
      "      q=${st#/proc/}; q=${q%/stat}\n"
      "      for n in $new; do [ \"$2\" = \"$n\" ] && next=\"$next $q\"; done\n"
      "    done\n"
      "    all=\"$all $next\"; new=$next; d=$((d+1))\n"
      "  done\n"
      "  echo $all\n"
      "}\n"
      "kill -STOP $root 2>/dev/null || { rm -f \"$f\"; exit 0; }\n"
      "p=$(tree); kill -STOP $p 2>/dev/null; p=$(tree)\n"
      "kill -TERM $p 2>/dev/null; kill -CONT $p 2>/dev/null\n"
      "i=0\n"
      "while [ $i -lt " +
      grace_s +
      " ]; do\n"
      "  alive=; for x in $p; do kill -0 $x 2>/dev/null && alive=1; done\n"
      "  [ -z \"$alive\" ] && break\n"
      "  sleep 1; i=$((i+1))\n"
      "done\n"
      "kill -KILL $p 2>/dev/null\n"
      "rm -f \"$f\"\n"
      "exit 0\n";
  std::vector<std::string> argv = target.cli;
  argv.insert(argv.end(), {"exec", target.container, "/bin/sh", "-c", killer, "ferry-stop"});
  return argv;
}

std::vector<std::string> runtime_arguments(const ContainerRuntimes& r) {
  const ContainerRuntimes d;
  std::vector<std::string> args;
  auto add = [&](const char* key, const std::string& value, const std::string& default_value) {
    if (value != default_value) {
      args.emplace_back("--runtime");
      args.emplace_back(std::string(key) + "=" + value);
    }
  };
  add("docker_path", r.docker_path, d.docker_path);
  add("docker_host", r.docker_host, d.docker_host);
  add("podman_path", r.podman_path, d.podman_path);
  add("podman_url", r.podman_url, d.podman_url);
  add("crictl_path", r.crictl_path, d.crictl_path);
  add("containerd_endpoint", r.containerd_endpoint, d.containerd_endpoint);
  add("crio_endpoint", r.crio_endpoint, d.crio_endpoint);
  return args;
}

bool set_runtime_value(ContainerRuntimes& r, std::string_view key, std::string value) {
  const std::array<std::pair<std::string_view, std::string ContainerRuntimes::*>, 7> fields{{
      {"docker_path", &ContainerRuntimes::docker_path},
      {"docker_host", &ContainerRuntimes::docker_host},
      {"podman_path", &ContainerRuntimes::podman_path},
      {"podman_url", &ContainerRuntimes::podman_url},
      {"crictl_path", &ContainerRuntimes::crictl_path},
      {"containerd_endpoint", &ContainerRuntimes::containerd_endpoint},
      {"crio_endpoint", &ContainerRuntimes::crio_endpoint},
  }};
  for (const auto& [name, member] : fields) {
    if (name == key) {
      r.*member = std::move(value);
      return true;
    }
  }
  return false;
}

}  // namespace ferry::agent
