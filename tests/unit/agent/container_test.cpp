// Finding a task's container and the runtime command lines, with a fake runtime CLI: a script
// standing in for docker / crictl that records its arguments and answers as a runtime would.
#include "ferry/agent/container.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ferry/agent/supervisor.hpp"
#include "ferry/platform/run_command.hpp"

namespace fs = std::filesystem;
using ferry::Task;
using ferry::agent::ContainerRuntimes;
using ferry::agent::RuntimeKind;
using std::chrono::milliseconds;

namespace {

struct FakeRuntime {
  fs::path dir = fs::temp_directory_path() / ("ferry-fake-runtime-" + std::to_string(::getpid()));
  fs::path log = dir / "calls";

  FakeRuntime() { fs::create_directories(dir); }
  ~FakeRuntime() { fs::remove_all(dir); }
  FakeRuntime(const FakeRuntime&) = delete;
  FakeRuntime& operator=(const FakeRuntime&) = delete;

  // A CLI that knows the containers "web" (running) and "old" (stopped); `engine` false: it
  // cannot reach its engine (as the docker client without a daemon).
  fs::path make(const std::string& name, bool engine) {
    const fs::path p = dir / name;
    std::ofstream(p) << "#!/bin/sh\n"
                     << "echo \"" << name << " $*\" >> '" << log.string() << "'\n"
                     << (engine ? "" : "exit 1\n") << "for a in \"$@\"; do last=$a; done\n"
                     << "case \"$*\" in\n"
                     << "  *'container inspect'*) case $last in web) echo true;; old) echo "
                        "false;; *) exit 1;; esac;;\n"
                     << "  *version*) echo 1.0;;\n"
                     << "  *'ps -q --name ^web$'*) echo " << std::string(64, 'c') << ";;\n"
                     << "  *'ps '*) ;;\n"
                     << "esac\n";
    fs::permissions(p, fs::perms::owner_all);
    return p;
  }
  [[nodiscard]] std::string calls() const {
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

Task named(const std::string& name) {
  Task t;
  t.invocation_task_id = "invt-c";
  t.container_name = name;
  return t;
}

}  // namespace

TEST_CASE("container: docker first, then podman; each asked whether it runs the container") {
  FakeRuntime fake;
  ContainerRuntimes r;
  r.docker_path = fake.make("docker", /*engine=*/false).string();
  r.docker_host = "unix:///run/d.sock";
  r.podman_path = fake.make("podman", true).string();
  r.crictl_path = (fake.dir / "absent").string();
  const auto target = ferry::agent::find_container(named("web"), r, milliseconds(5000));
  REQUIRE(target);
  CHECK(target->kind == RuntimeKind::kPodman);
  CHECK(target->cli == std::vector<std::string>{r.podman_path});
  CHECK(target->container == "web");
  const auto calls = fake.calls();
  CHECK(calls.find("docker -H unix:///run/d.sock container inspect --format "
                   "{{.State.Running}} web") != std::string::npos);
  CHECK(calls.find("podman container inspect --format {{.State.Running}} web") !=
        std::string::npos);

  const auto exec = ferry::agent::container_exec_argv(*target, "invt-c");
  REQUIRE(exec.size() == 8);
  CHECK(std::vector<std::string>(exec.begin(), exec.begin() + 6) ==
        std::vector<std::string>{r.podman_path, "exec", "-i", "web", "/bin/sh", "-c"});
  CHECK(exec[6].find("/tmp/.ferry-task-invt-c.pid") != std::string::npos);
  const auto stop = ferry::agent::container_stop_argv(*target, "invt-c", true, milliseconds(2500));
  CHECK(std::vector<std::string>(stop.begin(), stop.begin() + 5) ==
        std::vector<std::string>{r.podman_path, "exec", "web", "/bin/sh", "-c"});
  CHECK(stop[5].find("-lt 3 ]") != std::string::npos);  // the grace, rounded up to seconds
}

TEST_CASE("container: the wrapper runs the script from stdin with /bin/sh -c on the host") {
  // The exec's command, run here by /bin/sh as the runtime would run it in the container.
  ferry::agent::ContainerTarget target{RuntimeKind::kDocker, {"/bin/true"}, "web"};
  const std::string id = "invt-wrap-" + std::to_string(::getpid());
  const auto exec = ferry::agent::container_exec_argv(target, id);
  const fs::path script = fs::temp_directory_path() / (id + ".sh");
  std::ofstream(script) << "echo \"$0\"; cat; echo last line without newline; exit 3";
  std::vector<std::string> argv{
      "/bin/sh", "-c",           "exec /bin/sh -c \"$1\" \"$2\" < \"$3\"", "x", exec[6],
      exec[7],   script.string()};
  const auto r = ferry::platform::run_command(argv, {"PATH=/usr/bin:/bin"}, milliseconds(10000));
  fs::remove(script);
  REQUIRE(r);
  CHECK(r->exit_code == 3);
  // $0 is ferry-task; the script's own stdin is empty; the pid file is gone.
  CHECK(r->out == "ferry-task\nlast line without newline\n");
  CHECK_FALSE(fs::exists("/tmp/.ferry-task-" + id + ".pid"));
}

TEST_CASE("container: not found, not running, no runtime, and a prefix picks the runtime") {
  FakeRuntime fake;
  ContainerRuntimes r;
  r.docker_path = fake.make("docker", true).string();
  r.podman_path = (fake.dir / "absent").string();
  r.crictl_path = fake.make("crictl", true).string();

  auto e = ferry::agent::find_container(named("nope"), r, milliseconds(5000));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "ContainerNotFound");
  e = ferry::agent::find_container(named("old"), r, milliseconds(5000));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "ContainerNotRunning");

  // containerd:// asks crictl only, on the containerd endpoint, and execs by the full id.
  Task t;
  t.invocation_task_id = "invt-c";
  t.container_id = "containerd://" + std::string(64, 'c');
  auto target = ferry::agent::find_container(t, r, milliseconds(5000));
  REQUIRE_FALSE(target);  // the fake lists containers by name only
  CHECK(target.error().code == "ContainerNotFound");
  CHECK(fake.calls().find("crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps "
                          "-q --id " +
                          std::string(64, 'c')) != std::string::npos);
  target = ferry::agent::find_container(
      named("web"), ContainerRuntimes{"/nonexistent", "", "/nonexistent", "", r.crictl_path},
      milliseconds(5000));
  REQUIRE(target);
  CHECK(target->kind == RuntimeKind::kCrictl);
  CHECK(target->container == std::string(64, 'c'));

  t.container_id = "cri-o://" + std::string(64, 'c');
  r.crictl_path = (fake.dir / "absent").string();
  e = ferry::agent::find_container(t, r, milliseconds(5000));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "ContainerRuntimeNotFound");
  CHECK(e.error().message.find("absent") != std::string::npos);
}

TEST_CASE("container: runtime settings reach the supervisor's arguments and back") {
  ContainerRuntimes r;
  CHECK(ferry::agent::runtime_arguments(r).empty());
  r.docker_host = "tcp://127.0.0.1:2375";
  r.crictl_path = "/opt/bin/crictl";
  const auto args = ferry::agent::runtime_arguments(r);
  CHECK(args == std::vector<std::string>{"--runtime", "docker_host=tcp://127.0.0.1:2375",
                                         "--runtime", "crictl_path=/opt/bin/crictl"});
  std::vector<const char*> argv{"supervise", "--task-dir", "/x/tasks/t"};
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  const auto parsed =
      ferry::agent::parse_supervisor_arguments(static_cast<int>(argv.size()), argv.data(), 1);
  REQUIRE(parsed);
  CHECK(parsed->runtimes == r);
  const char* bad[] = {"supervise", "--task-dir", "/x", "--runtime", "nope=1"};
  CHECK_FALSE(ferry::agent::parse_supervisor_arguments(5, bad, 1));
}

TEST_CASE("supervisor arguments: the output cap and the kill grace") {
  const char* args[] = {"supervise", "--task-dir",         "/x",   "--kill-grace-ms",
                        "250",       "--output-max-bytes", "65536"};
  const auto parsed = ferry::agent::parse_supervisor_arguments(7, args, 1);
  REQUIRE(parsed);
  CHECK(parsed->kill_grace == std::chrono::milliseconds(250));
  CHECK(parsed->output_max_bytes == 65536);
  const char* none[] = {"supervise", "--task-dir", "/x"};
  CHECK(ferry::agent::parse_supervisor_arguments(3, none, 1)->output_max_bytes ==
        ferry::agent::kDefaultTaskOutputMaxBytes);
  const char* bad[] = {"supervise", "--task-dir", "/x", "--output-max-bytes", "-1"};
  CHECK_FALSE(ferry::agent::parse_supervisor_arguments(5, bad, 1));
}
