#include "ferry/cli/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "ferry/cli/commands.hpp"
#include "ferry/core/base64.hpp"

namespace ferry::cli {
namespace {

// RequestLimitExceeded is waited out this often before it counts as a failure (10 s in all).
constexpr int kRateLimitRetries = 50;
constexpr std::chrono::milliseconds kRateLimitWait{200};

struct OutputPage {
  std::string source;
  std::string bytes;
  bool has_more = false;
  std::int64_t size = -1;
  std::string reason;
  std::string output_url;
  std::string download_url;
};

Expected<nlohmann::json> call_output(Api& api, const OutputOptions& options, std::uint64_t offset,
                                     const OutputHooks& hooks) {
  const nlohmann::json params{
      {"InvocationTaskId", options.task_id}, {"Offset", offset}, {"Limit", options.page_bytes}};
  for (int attempt = 0;; ++attempt) {
    auto reply = api.call("DescribeInvocationTaskOutput", params);
    if (reply || reply.error().code != "RequestLimitExceeded" || attempt >= kRateLimitRetries) {
      return reply;
    }
    if (hooks.sleep) {
      hooks.sleep(kRateLimitWait);
    }
  }
}

Expected<OutputPage> parse_output_page(const nlohmann::json& reply) {
  OutputPage page;
  page.source = json_string(reply, "Source");
  auto bytes = base64_decode(json_string(reply, "Output"));
  if (!bytes) {
    return Error{"", "the server's reply holds an Output that is not base64"};
  }
  page.bytes = std::move(*bytes);
  const auto more = reply.find("HasMore");
  page.has_more = more != reply.end() && more->is_boolean() && more->get<bool>();
  const auto size = reply.find("Size");
  if (size != reply.end() && size->is_number_integer()) {
    page.size = size->get<std::int64_t>();
  }
  page.reason = json_string(reply, "Reason");
  page.output_url = json_string(reply, "OutputUrl");
  page.download_url = json_string(reply, "DownloadUrl");
  return page;
}

Expected<int> download_from_bucket(const OutputPage& page, const OutputOptions& options,
                                   const ByteSink& sink, const OutputHooks& hooks) {
  const std::string what = "the output of " + options.task_id;
  if (page.download_url.empty()) {
    return Error{"", what + " is in its bucket (" + page.output_url +
                         "), but the server gave no URL to download it" +
                         (page.reason.empty() ? "" : ": " + page.reason)};
  }
  if (!hooks.download) {
    return Error{"", what + " is in its bucket, and this ferry cannot download"};
  }
  if (auto s = hooks.download(page.download_url, sink); !s) {
    return s.error().wrap("downloading " + what + " from its bucket");
  }
  return 0;
}

// "the output of X is only known as an excerpt: why (N bytes in the middle are missing)".
std::string excerpt_notice(const OutputPage& last, const OutputOptions& options,
                           std::uint64_t written) {
  std::string notice = "only an excerpt of the output of " + options.task_id + " is known";
  if (!last.reason.empty()) {
    notice += ": " + last.reason;
  }
  if (last.size >= 0 && static_cast<std::uint64_t>(last.size) > written) {
    notice += " (" + std::to_string(static_cast<std::uint64_t>(last.size) - written) +
              " bytes in the middle are missing)";
  }
  return notice;
}

}  // namespace

Expected<int> output_command(Api& api, const OutputOptions& options, const ByteSink& sink,
                             Console& console, const OutputHooks& hooks) {
  auto reply = call_output(api, options, 0, hooks);
  if (!reply) {
    return reply.error();
  }
  if (options.json) {
    print_json(console, *reply);
    return 0;
  }
  auto page = parse_output_page(*reply);
  if (!page) {
    return page.error();
  }
  const std::string source = page->source;
  if (source == "COS") {
    return download_from_bucket(*page, options, sink, hooks);
  }
  if (source != "SERVER" && source != "RESULT" && source != "EXCERPT") {
    return Error{"", "the server answers the unknown Source '" + source.substr(0, 32) + "'"};
  }
  std::uint64_t written = 0;
  // Every round writes at least one byte or ends, so the loop ends with the output.
  while (true) {
    if (auto s = sink(page->bytes); !s) {
      return s.error();
    }
    written += page->bytes.size();
    if (!page->has_more) {
      break;
    }
    if (page->bytes.empty()) {
      return Error{"", "the server says more output follows, but sent none"};
    }
    reply = call_output(api, options, written, hooks);
    if (!reply) {
      return reply.error();
    }
    page = parse_output_page(*reply);
    if (!page) {
      return page.error();
    }
    if (page->source != source) {
      return Error{"", "the output of " + options.task_id + " changed while it was read (" +
                           source + ", now " + page->source.substr(0, 32) +
                           "); run ferry output again"};
    }
  }
  if (source == "EXCERPT") {
    console.err << "ferry: " << excerpt_notice(*page, options, written) << "\n" << std::flush;
    return kExitExcerptOnly;
  }
  return 0;
}

Expected<OutputFile> OutputFile::create(const std::string& path) {
  struct stat st {};
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    // A device, a pipe or a link: written in place, as a shell redirection would.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return errno_error("", path, errno);
    }
    return OutputFile(fd, path, "");
  }
  // A regular file is written under a temporary name (mode 0600 from the start) and renamed at
  // the end: FILE is then the whole output or, after a failure, what it was before.
  std::string temp = path + ".ferry-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return errno_error("", path, errno);
  }
  return OutputFile(fd, path, std::move(temp));
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      temp_(std::move(other.temp_)) {}

OutputFile::~OutputFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
    }
  }
}

Status OutputFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return errno_error("", "writing " + path_, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status OutputFile::close() {
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const int err = errno;
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
    }
    return errno_error("", "writing " + path_, err);
  }
  if (!temp_.empty() && ::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_.c_str());
    return errno_error("", "renaming the output to " + path_, err);
  }
  return {};
}

}  // namespace ferry::cli
