// ferry-supervise: the per-task supervisor on its own (see ferry/agent/supervisor.hpp). The
// agent starts it as `ferry-supervise supervise --task-dir DIR [--kill-grace-ms N]
// [--output-max-bytes N] [--no-cgroup]`, the arguments of `ferry-agent supervise`; the leading
// word may be left out.
#include <cstdio>
#include <cstring>

#include "ferry/agent/supervisor.hpp"
#include "ferry/platform/supervise.hpp"

int main(int argc, char** argv) {
  ferry::platform::block_supervisor_signals();

  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("ferry-supervise %s\n", FERRY_VERSION);
    return 0;
  }
  const int first = argc > 1 && std::strcmp(argv[1], "supervise") == 0 ? 2 : 1;
  auto options = ferry::agent::parse_supervisor_arguments(argc, argv, first);
  if (!options) {
    std::fprintf(stderr,
                 "usage: ferry-supervise [supervise] --task-dir DIR [--kill-grace-ms 0..300000] "
                 "[--output-max-bytes N] [--no-cgroup] [--runtime KEY=VALUE]...\n"
                 "Started by ferry-agent, one per task; not meant to be run by hand.\n");
    return 2;
  }
  return ferry::agent::supervisor_main(*options);
}
