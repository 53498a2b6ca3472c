// The benchmarks' command lines, one parser for all of them: "--name VALUE" options and
// "--flag"s; --help (or -h) prints the usage and exits 0; an unknown option, a missing value or
// one that does not convert prints what is wrong and the usage, and exits 2.
#pragma once

#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace ferry::bench {

struct BenchOption {
  std::string name;  // "--runs"
  bool takes_value = true;
  std::function<void(const std::string& value)> set;  // may throw (std::stoi): a bad value
};

inline void parse_bench_options(int argc, char** argv, const std::string& usage,
                                const std::vector<BenchOption>& options) {
  const auto fail = [&usage](const std::string& why) {
    std::cerr << why << "\nusage: " << usage << "\n";
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << "usage: " << usage << "\n";
      std::exit(0);
    }
    const BenchOption* o = nullptr;
    for (const auto& candidate : options) {
      if (candidate.name == a) {
        o = &candidate;
      }
    }
    if (o == nullptr) {
      fail("unknown option " + a);
    }
    std::string value;
    if (o->takes_value) {
      if (i + 1 >= argc) {
        fail(a + " needs a value");
      }
      value = argv[++i];
    }
    try {
      o->set(value);
    } catch (const std::exception&) {
      fail(a + ": not a valid value: " + value);
    }
  }
}

}  // namespace ferry::bench
