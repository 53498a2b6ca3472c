// `ferry output INVOCATION_TASK_ID [-o FILE]`: the complete output of one task, byte for byte,
// through DescribeInvocationTaskOutput. SERVER and RESULT outputs are read page by page
// (Offset/Limit); a COS output is downloaded from the presigned DownloadUrl the server hands out,
// streamed to the destination; an EXCERPT is printed with the reason on stderr and exit code 3.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "ferry/cli/api.hpp"
#include "ferry/cli/console.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

// Only an excerpt of the output is known (Source EXCERPT): it was printed, the reason too.
inline constexpr int kExitExcerptOnly = 3;

// Where the output goes, a piece at a time (stdout, or the -o file).
using ByteSink = std::function<Status(std::string_view bytes)>;

// Fetches `url` (a presigned GET) into `sink` as it arrives. Its errors never hold the URL, whose
// query is a signature.
using Downloader = std::function<Status(const std::string& url, const ByteSink& sink)>;

struct OutputOptions {
  std::string task_id;
  std::int64_t page_bytes = 1024 * 1024;  // Limit of each DescribeInvocationTaskOutput
  bool json = false;                      // print the first reply instead of the output
};

struct OutputHooks {
  Downloader download;
  // Waits before a call refused with RequestLimitExceeded is sent again.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Writes the task's output to `sink` and returns the exit code: 0 once all of it was written,
// kExitExcerptOnly for an excerpt. An Error when the server refuses, the output changes while it
// is read, the download fails or the sink does.
Expected<int> output_command(Api& api, const OutputOptions& options, const ByteSink& sink,
                             Console& console, const OutputHooks& hooks);

// `ferry output -o FILE`. A regular FILE (or none yet) is written under a temporary name beside
// it, mode 0600 from the start (the output may hold anything the script printed), and renamed
// to FILE by close(): FILE is the whole output, or as it was when anything failed. Anything else
// (a device, a pipe, a symbolic link) is opened and written in place.
class OutputFile {
 public:
  static Expected<OutputFile> create(const std::string& path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  Status write(std::string_view bytes);
  // Closes the file and puts it in place; a failure (a full disk found late) is an error. Once
  // only.
  Status close();

 private:
  OutputFile(int fd, std::string path, std::string temp)
      : fd_(fd), path_(std::move(path)), temp_(std::move(temp)) {}
  int fd_ = -1;
  std::string path_;
  std::string temp_;  // "" when written in place
};

// The libcurl Downloader: no redirects, https verified against the system's CAs, stopped when
// nothing arrives for `stall_timeout`. Anything but HTTP 200 is an error naming the status and
// the store's error Code when its body has one.
struct DownloadOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::seconds stall_timeout{60};
};
Status download_url(const std::string& url, const ByteSink& sink, const DownloadOptions& options);

}  // namespace ferry::cli
