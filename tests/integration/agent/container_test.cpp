// Tasks in a real container, through `ferry-agent run-task` (the task runner and supervisor):
// Podman with an image imported from a busybox root filesystem (no registry), no network. When
// no container can be started on this machine (no podman, no busybox, or the kernel refuses
// the runtime), each test says why and passes without checking anything else.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../agent_fixture.hpp"
#include "ferry/platform/fs.hpp"

namespace fs = std::filesystem;
using namespace ferry::test;

namespace {

std::optional<std::string> on_path(const std::string& name) {
  auto found = ferry::platform::find_program(
      name, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return found ? std::optional(*found) : std::nullopt;
}

ProcessResult run(const std::vector<std::string>& argv) {
  return run_process(argv, fs::temp_directory_path().string());
}

// One running container for the whole binary, removed at exit.
struct Container {
  std::string podman;
  std::string name = "ferry-it-" + std::to_string(::getpid());
  std::string image = "localhost/ferry-it-busybox:" + std::to_string(::getpid());
  std::string id;
  std::string why_not;  // set when there is none

  Container() {
    const auto p = on_path("podman");
    if (!p) {
      why_not = "podman is not installed (scripts/deps installs it)";
      return;
    }
    podman = *p;
    const fs::path busybox = "/bin/busybox";
    if (!fs::exists(busybox)) {
      why_not = "/bin/busybox is missing (Debian: busybox-static)";
      return;
    }
    const TempDir dir("ferry-rootfs");
    const fs::path root = dir / "rootfs";
    fs::create_directories(root / "bin");
    for (const char* d : {"tmp", "proc", "dev", "sys", "etc"}) {
      fs::create_directories(root / d);
    }
    fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
    fs::copy_file(busybox, root / "bin" / "busybox");
    for (const char* applet :
         {"sh", "sleep", "ps", "cat", "echo", "id", "hostname", "kill", "rm"}) {
      fs::create_symlink("busybox", root / "bin" / applet);
    }
    const auto tar = (dir / "rootfs.tar").string();
    if (run({"/bin/tar", "-C", root.string(), "-cf", tar, "."}).exit_code != 0) {
      why_not = "tar failed";
      return;
    }
    if (auto r = run({podman, "import", tar, image}); r.exit_code != 0) {
      why_not = "podman import failed: " + r.err;
      return;
    }
    // Limits the kernel here may refuse to raise; runc where crun cannot run on hybrid cgroups.
    const std::vector<std::string> common{
        "run",  "-d",       "--name",           name,       "--network",
        "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"};
    std::string errors;
    for (const std::vector<std::string>& runtime :
         {std::vector<std::string>{}, std::vector<std::string>{"--runtime", "runc"}}) {
      std::vector<std::string> argv{podman};
      argv.insert(argv.end(), runtime.begin(), runtime.end());
      argv.insert(argv.end(), common.begin(), common.end());
      argv.insert(argv.end(), {image, "/bin/sleep", "3600"});
      auto r = run(argv);
      if (r.exit_code == 0) {
        id = r.out.substr(0, r.out.find('\n'));
        return;
      }
      errors += r.err;
      (void)run({podman, "rm", "-f", name});
    }
    why_not = "podman cannot start a container here: " + errors;
  }
  ~Container() {
    if (!podman.empty()) {
      (void)run({podman, "rm", "-f", "-t", "0", name});
      (void)run({podman, "rmi", "-f", image});
    }
  }
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  // The processes in the container whose command line holds `marker` and are not zombies.
  [[nodiscard]] std::string live_processes(const std::string& marker) const {
    auto r = run(
        {podman, "exec", name, "/bin/sh", "-c",
         "ps -o stat,args | grep -v grep | grep -v '^Z' | grep -F -- '" + marker + "' || true"});
    return r.out;
  }
};

Container& container() {
  static Container c;
  return c;
}

bool usable() {
  if (!container().why_not.empty()) {
    WARN("SKIPPED, no container runtime can run here: " << container().why_not);
    return false;
  }
  return true;
}

nlohmann::json in_container(const std::string& id, const std::string& script) {
  auto t = make_task(id, script);
  t["ContainerName"] = container().name;
  return t;
}

}  // namespace

TEST_CASE("container: output and exit code of a script run with /bin/sh -c inside it") {
  if (!usable()) {
    return;
  }
  const TempDir dir;
  auto t = in_container("invt-ctr-out", "echo in $(hostname); echo err >&2; read x; exit 7\n");
  t["Username"] = "nobody";  // does not apply: the container's default user
  const auto o = run_task(dir, t);
  INFO(o.process.err);
  REQUIRE(o.result.is_object());
  CHECK(o.result["Result"] == "FAILED");
  CHECK(o.result["ExitCode"] == 7);
  // The container's hostname is its short id: it ran there, not on the host.
  CHECK(o.output == "in " + container().id.substr(0, 12) + "\nerr\n");
  CHECK(o.result["ErrorInfo"].get<std::string>().find("do not apply in a container") !=
        std::string::npos);

  // By its full id without a prefix: docker first (its CLI has no engine here), then podman.
  auto by_id = make_task("invt-ctr-id", "id -u\n");
  by_id["ContainerId"] = container().id;
  const auto o2 = run_task(dir, by_id);
  REQUIRE(o2.result.is_object());
  CHECK(o2.result["Result"] == "SUCCESS");
  CHECK(o2.output == "0\n");
  CHECK(o2.result["ErrorInfo"] == "");
}

TEST_CASE("container: a timeout stops the task's processes inside the container") {
  if (!usable()) {
    return;
  }
  const TempDir dir;
  auto t = in_container("invt-ctr-timeout", "sleep 3131 & sleep 3132; echo never\n");
  t["Timeout"] = 2;
  const auto o = run_task(dir, t, {"--kill-grace", "1"});
  REQUIRE(o.result.is_object());
  CHECK(o.result["Result"] == "TIMEOUT");
  CHECK(o.result["ExitCode"] == -1);
  CHECK(o.output.empty());
  // Both the foreground sleep and the background one are gone (at most zombies of the
  // container's init, which does not reap).
  CHECK(container().live_processes("sleep 313") == "");
}

TEST_CASE("container: a missing container, and a runtime prefix whose runtime is absent") {
  if (!usable()) {
    return;
  }
  const TempDir dir;
  auto missing = make_task("invt-ctr-missing", "echo hi\n");
  missing["ContainerName"] = "ferry-no-such-container";
  auto o = run_task(dir, missing);
  REQUIRE(o.result.is_object());
  CHECK(o.result["Result"] == "START_FAILED");
  CHECK(o.result["ErrorInfo"].get<std::string>().starts_with("ContainerNotFound: "));

  auto crio = make_task("invt-ctr-crio", "echo hi\n");
  crio["ContainerId"] = "cri-o://" + container().id;
  o = run_task(dir, crio, {"--runtime", "crictl_path=/nonexistent/crictl"});
  REQUIRE(o.result.is_object());
  CHECK(o.result["Result"] == "START_FAILED");
  CHECK(o.result["ErrorInfo"].get<std::string>().starts_with("ContainerRuntimeNotFound: "));
}
