// A stand-in for powershell.exe (wine's is a stub that prints a message and exits 0): the
// supervisor test puts it where Windows PowerShell lives. It writes what it was given to
// powershell-record.txt in its working directory (its arguments one per line, then the script
// that -File names), prints a line, and exits with the code of the script's
// "# exit-code: N" line (0 without one).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  std::string script;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "-File") == 0) {
      std::ifstream in(argv[i + 1], std::ios::binary);
      script.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  std::ofstream record("powershell-record.txt", std::ios::binary);
  for (int i = 1; i < argc; ++i) {
    record << argv[i] << "\n";
  }
  record << "--- script\n" << script;
  std::printf("stand-in powershell ran\n");
  const auto marker = script.find("# exit-code: ");
  return marker == std::string::npos ? 0 : std::atoi(script.c_str() + marker + 13);
}
