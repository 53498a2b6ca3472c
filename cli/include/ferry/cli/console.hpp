// Where a command writes: stdout for results (tables, JSON, a task's output), stderr for status
// lines, markers and notices. Streams rather than file descriptors so that tests capture them.
#pragma once

#include <ostream>

namespace ferry::cli {

struct Console {
  std::ostream& out;
  std::ostream& err;
  bool out_is_tty = false;  // aligned tables rather than tab-separated cells
  bool err_is_tty = false;
};

}  // namespace ferry::cli
