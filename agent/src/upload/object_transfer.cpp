#include "object_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "curl_library.hpp"

namespace ferry::agent::upload {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// CURLOPT_PROTOCOLS (a bitmask long, option number 181): deprecated by CURLOPT_PROTOCOLS_STR
// (7.85) and named by its number so that the deprecation warning stays out of the build; only
// used when the loaded libcurl is older than 7.85.
constexpr auto kProtocolsBitmaskOption = static_cast<CURLoption>(181);
// A libcurl timeout this close to the deadline is the deadline's.
constexpr milliseconds kDeadlineSlack{50};

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const auto a = static_cast<unsigned char>(text[i]);
    const auto b = static_cast<unsigned char>(prefix[i]);
    if (std::tolower(a) != std::tolower(b)) {
      return false;
    }
  }
  return true;
}

bool icontains(std::string_view text, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (iequals_prefix(text.substr(i), needle)) {
      return true;
    }
  }
  return false;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// At most `limit` bytes, not cutting a UTF-8 sequence in two.
std::string cut(std::string text, std::size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text;
}

// --- what the callbacks fill -------------------------------------------------------------

// The answer's body, the first kMaxAnswerBody bytes of it.
std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t bytes = size * n;
  const std::size_t room = kMaxAnswerBody - std::min(kMaxAnswerBody, body->size());
  body->append(data, std::min(room, bytes));
  return bytes;  // the rest is read and dropped: the status still counts
}

// The ETag header of the last answer (a 100 Continue before it has none).
std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* etag = static_cast<std::string*>(user);
  const std::size_t bytes = size * n;
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    etag->clear();
  } else if (iequals_prefix(line, "etag:")) {
    *etag = trim(line.substr(5));
  }
  return bytes;
}

enum class Stop { kNone, kCancel, kDeadline, kFile };

struct Progress {
  const TransferOptions* options = nullptr;
  Stop stop = Stop::kNone;
};

// Called by libcurl often while bytes move and about once a second when they do not.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* p = static_cast<Progress*>(user);
  if (p->options->cancel != nullptr && p->options->cancel->load(std::memory_order_relaxed)) {
    p->stop = Stop::kCancel;
    return 1;
  }
  if (Clock::now() >= p->options->deadline) {
    p->stop = Stop::kDeadline;
    return 1;
  }
  return 0;
}

// A range of an open file, read with pread as libcurl asks for the next bytes.
struct FileRange {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t sent = 0;  // bytes of the range handed to libcurl (rewound by on_seek)
  std::string error;
  Progress* progress = nullptr;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<FileRange*>(user);
  const std::uint64_t want = std::min<std::uint64_t>(size * n, r->length - r->sent);
  if (want == 0) {
    return 0;
  }
  ssize_t got = -1;
  do {
    got = ::pread(r->fd, buffer, want, static_cast<off_t>(r->offset + r->sent));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    r->error = got < 0 ? std::string("reading the file: ") + std::strerror(errno)
                       : "the file ended at byte " + std::to_string(r->offset + r->sent) +
                             ", before the range's end";
    r->progress->stop = Stop::kFile;
    return CURL_READFUNC_ABORT;
  }
  r->sent += static_cast<std::uint64_t>(got);
  return static_cast<std::size_t>(got);
}

// libcurl rewinds the body when it must send it again (a connection that died before the
// answer); the range's own positions.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* r = static_cast<FileRange*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > r->length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  r->sent = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// --- one request ---------------------------------------------------------------------------

enum class Kind { kPut, kCreate, kComplete, kAbort };

struct Request {
  Kind kind = Kind::kPut;
  const std::string* body = nullptr;  // POST
  FileRange* file = nullptr;          // PUT
};

// An easy handle and its header list, released together.
class Easy {
 public:
  explicit Easy(const CurlLibrary& lib) : lib_(lib), handle_(lib.easy_init()) {}
  ~Easy() {
    if (handle_ != nullptr) {
      lib_.easy_cleanup(handle_);
    }
    if (headers_ != nullptr) {
      lib_.slist_free_all(headers_);
    }
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;

  [[nodiscard]] CURL* get() const { return handle_; }

  // Sets an option; the first refusal is kept in `failed` (later ones are not tried).
  template <typename T>
  void set(CURLoption option, T value) {
    if (failed.empty() && handle_ != nullptr) {
      check(option, lib_.easy_setopt(handle_, option, value));
    }
  }
  // Only the protocols that a presigned URL may have: a redirect or a mistaken URL cannot make
  // the agent speak FTP, FILE or SMTP.
  void set_protocols() {
    if (!failed.empty() || handle_ == nullptr) {
      return;
    }
    const CURLcode rc = lib_.easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_UNKNOWN_OPTION) {
      set(kProtocolsBitmaskOption, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    } else {
      check(CURLOPT_PROTOCOLS_STR, rc);
    }
  }
  void add_header(const char* line) {
    if (curl_slist* grown = lib_.slist_append(headers_, line)) {
      headers_ = grown;
    }
  }
  void set_headers() { set(CURLOPT_HTTPHEADER, headers_); }

  std::string failed;

 private:
  void check(CURLoption option, CURLcode rc) {
    if (rc != CURLE_OK) {
      failed = "libcurl " + lib_.version + " refused option " +
               std::to_string(static_cast<int>(option)) + ": " + lib_.easy_strerror(rc);
    }
  }

  const CurlLibrary& lib_;
  CURL* handle_ = nullptr;
  curl_slist* headers_ = nullptr;
};

// libcurl's varargs want a long; milliseconds::rep is one on this platform.
long as_long_ms(milliseconds d) {
  return std::clamp<long>(d.count(), 1, 0x7FFFFFFF);
}

void set_common(Easy& easy, const std::string& url, const TransferOptions& o, Clock::time_point now,
                char* error_buffer, Progress* progress) {
  easy.set(CURLOPT_URL, url.c_str());
  easy.set(CURLOPT_ERRORBUFFER, error_buffer);
  // Worker threads of a daemon that handles its own signals: libcurl must not touch them.
  easy.set(CURLOPT_NOSIGNAL, 1L);
  easy.set_protocols();
  easy.set(CURLOPT_FOLLOWLOCATION, 0L);
  // No proxy, whatever http_proxy and https_proxy say: the agent's control-plane client uses
  // none either, and an upload's route must not depend on the environment a daemon inherited.
  easy.set(CURLOPT_PROXY, "");
  easy.set(CURLOPT_SSL_VERIFYPEER, 1L);
  easy.set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty()) {
    easy.set(CURLOPT_CAINFO, o.ca_file.c_str());
  }
  // One request per handle: HTTP/2's streams buy nothing and its windows cost memory.
  easy.set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  easy.set(CURLOPT_TCP_KEEPALIVE, 1L);
  milliseconds connect = o.connect_timeout;
  if (o.deadline != Clock::time_point::max()) {
    const auto left = std::chrono::ceil<milliseconds>(o.deadline - now);
    connect = std::min(connect, left);
    // The deadline bounds the whole request even while libcurl blocks between progress calls.
    easy.set(CURLOPT_TIMEOUT_MS, as_long_ms(left));
  }
  easy.set(CURLOPT_CONNECTTIMEOUT_MS, as_long_ms(connect));
  easy.set(CURLOPT_LOW_SPEED_LIMIT, o.low_speed_bytes);
  const long low_speed_seconds = o.low_speed_time.count();
  easy.set(CURLOPT_LOW_SPEED_TIME, low_speed_seconds);
  easy.set(CURLOPT_NOPROGRESS, 0L);
  easy.set(CURLOPT_XFERINFOFUNCTION, &on_progress);
  easy.set(CURLOPT_XFERINFODATA, static_cast<void*>(progress));
  // No "Expect: 100-continue" round trip before a body; no Accept either.
  easy.add_header("Expect:");
  easy.add_header("Accept:");
}

void set_method(Easy& easy, const Request& r) {
  switch (r.kind) {
    case Kind::kPut:
      easy.set(CURLOPT_UPLOAD, 1L);
      easy.set(CURLOPT_READFUNCTION, &on_read);
      easy.set(CURLOPT_READDATA, static_cast<void*>(r.file));
      easy.set(CURLOPT_SEEKFUNCTION, &on_seek);
      easy.set(CURLOPT_SEEKDATA, static_cast<void*>(r.file));
      easy.set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.file->length));
      break;
    case Kind::kCreate:
    case Kind::kComplete:
      easy.set(CURLOPT_POST, 1L);
      easy.set(CURLOPT_POSTFIELDS, r.body->c_str());
      easy.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body->size()));
      // CreateMultipartUpload's Content-Type would become the object's: none (the store's
      // default), not libcurl's application/x-www-form-urlencoded.
      easy.add_header(r.kind == Kind::kComplete ? "Content-Type: application/xml"
                                                : "Content-Type:");
      break;
    case Kind::kAbort:
      easy.set(CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }
}

// The outcome of an HTTP answer (`status`, `body`, `etag`) to request `kind`.
void read_answer(Kind kind, long status, const std::string& body, std::string etag,
                 TransferOutcome& out) {
  out.http_status = status;
  out.ok = status >= 200 && status < 300;
  std::optional<s3_xml::ErrorBody> error;
  // A 2xx Complete may still fail: S3 sends 200 at once and the <Error> when it knows.
  if (!out.ok || kind == Kind::kComplete) {
    error = s3_xml::parse_error(body);
  }
  if (error) {
    out.ok = false;
    out.error_code = blank_urls(cut(error->code, 64));
    out.error_message = blank_urls(cut(trim(error->message), kMaxErrorMessage));
    return;
  }
  if (!out.ok) {
    return;
  }
  if (kind == Kind::kPut) {
    out.etag = std::move(etag);
  } else if (kind == Kind::kCreate) {
    out.upload_id = s3_xml::element_text(body, "UploadId").value_or("");
    if (out.upload_id.empty()) {
      out.ok = false;
      out.error_message = "the answer carries no UploadId";
    }
  }
}

void stopped(Stop stop, const FileRange* file, TransferOutcome& out) {
  if (stop == Stop::kFile) {
    out.local_error = file != nullptr ? file->error : "reading the file";
    return;
  }
  out.cancelled = true;
  out.transport_error = stop == Stop::kCancel ? "the upload was cancelled" : "the deadline passed";
}

TransferOutcome perform(const std::string& url, const Request& request,
                        const TransferOptions& options) {
  TransferOutcome out;
  auto lib = curl_library();
  if (!lib) {
    out.local_error = lib.error().message;
    return out;
  }
  const auto now = Clock::now();
  Progress progress{&options};
  if (options.cancel != nullptr && options.cancel->load()) {
    stopped(Stop::kCancel, request.file, out);
    return out;
  }
  if (now >= options.deadline) {
    stopped(Stop::kDeadline, request.file, out);
    return out;
  }
  if (!iequals_prefix(url, "https://") && !iequals_prefix(url, "http://")) {
    out.local_error = "the URL is not http or https";
    return out;
  }
  Easy easy(**lib);
  if (easy.get() == nullptr) {
    out.local_error = "libcurl could not make a handle";
    return out;
  }
  if (request.file != nullptr) {
    request.file->progress = &progress;
  }
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  std::string body;
  std::string etag;
  set_common(easy, url, options, now, error_buffer.data(), &progress);
  set_method(easy, request);
  easy.set(CURLOPT_WRITEFUNCTION, &on_body);
  easy.set(CURLOPT_WRITEDATA, static_cast<void*>(&body));
  easy.set(CURLOPT_HEADERFUNCTION, &on_header);
  easy.set(CURLOPT_HEADERDATA, static_cast<void*>(&etag));
  easy.set_headers();
  if (!easy.failed.empty()) {
    out.local_error = easy.failed;
    return out;
  }
  const CURLcode rc = (*lib)->easy_perform(easy.get());
  long status = 0;
  (*lib)->easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  // libcurl's clock is not ours: its timeout may fire a little before the deadline as we see it.
  const bool timed_out =
      rc == CURLE_OPERATION_TIMEDOUT && Clock::now() + kDeadlineSlack >= options.deadline;
  if (progress.stop != Stop::kNone || timed_out) {
    stopped(timed_out ? Stop::kDeadline : progress.stop, request.file, out);
    return out;
  }
  // An error answer may come while the body is still being sent: it is the answer that counts.
  if (rc == CURLE_OK || status >= 300) {
    read_answer(request.kind, status, body, std::move(etag), out);
    return out;
  }
  std::string why = error_buffer[0] != '\0' ? error_buffer.data() : (*lib)->easy_strerror(rc);
  // A CA file that cannot be read is this side's configuration, not the network's: no retry
  // will mend it.
  (rc == CURLE_SSL_CACERT_BADFILE ? out.local_error : out.transport_error) = blank_urls(trim(why));
  return out;
}

bool is_retryable_code(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      "RequestTimeout",       "SlowDown",      "InternalError",       "ServiceUnavailable",
      "RequestTimeTooSkewed", "Throttling",    "ThrottlingException", "RequestThrottled",
      "OperationAborted",     "IncompleteBody"};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

bool looks_like_url(std::string_view word) {
  if (word.find("://") != std::string_view::npos || icontains(word, "x-amz-")) {
    return true;
  }
  const std::size_t question = word.find('?');
  return question != std::string_view::npos && word.find('=', question) != std::string_view::npos;
}

}  // namespace

bool TransferOutcome::retryable() const {
  if (ok || cancelled || !local_error.empty()) {
    return false;
  }
  if (!transport_error.empty() || is_retryable_code(error_code)) {
    return true;
  }
  return http_status >= 500 || http_status == 429 || http_status == 408;
}

bool TransferOutcome::url_expired() const {
  return (http_status == 403 && error_code == "AccessDenied" &&
          icontains(error_message, "expired")) ||
         error_code == "ExpiredToken";
}

std::string TransferOutcome::describe() const {
  std::string line;
  if (cancelled) {
    line = "cancelled: " + transport_error;
  } else if (!local_error.empty()) {
    line = "local: " + local_error;
  } else if (!transport_error.empty()) {
    line = "transport: " + transport_error;
  } else {
    line = "HTTP " + std::to_string(http_status);
    if (!error_code.empty()) {
      line += " " + error_code;
    }
    if (!error_message.empty()) {
      line += ": " + error_message;
    }
  }
  return blank_urls(line);
}

std::string blank_urls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find_first_of(" \t\r\n", at), text.size());
    const std::string_view word = text.substr(at, end - at);
    out += looks_like_url(word) ? std::string_view("<url>") : word;
    if (end < text.size()) {
      out += text[end];
    }
    at = end + 1;
  }
  return out;
}

Status load_curl() {
  auto lib = curl_library();
  if (!lib) {
    return lib.error();
  }
  return {};
}

TransferOutcome put_file(const std::string& url, const std::filesystem::path& file,
                         std::uint64_t offset, std::uint64_t length,
                         const TransferOptions& options) {
  TransferOutcome out;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.local_error = "opening " + file.string() + ": " + std::strerror(errno);
    return out;
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const auto size = regular ? static_cast<std::uint64_t>(st.st_size) : 0;
  constexpr auto kMaxLength = static_cast<std::uint64_t>(std::numeric_limits<curl_off_t>::max());
  if (!regular) {
    out.local_error = file.string() + " is not a regular file";
  } else if (offset > size || length > size - offset || length > kMaxLength) {
    out.local_error = "the range " + std::to_string(offset) + "+" + std::to_string(length) +
                      " is past the end of " + file.string() + " (" + std::to_string(size) +
                      " bytes)";
  } else {
    FileRange range;
    range.fd = fd;
    range.offset = offset;
    range.length = length;
    Request request;
    request.file = &range;
    out = perform(url, request, options);
  }
  ::close(fd);
  return out;
}

TransferOutcome create_multipart_upload(const std::string& url, const TransferOptions& options) {
  const std::string empty;
  Request request;
  request.kind = Kind::kCreate;
  request.body = &empty;
  return perform(url, request, options);
}

TransferOutcome complete_multipart_upload(const std::string& url,
                                          const std::vector<CompletedPart>& parts,
                                          const TransferOptions& options) {
  auto body = s3_xml::complete_body(parts);
  if (!body) {
    TransferOutcome out;
    out.local_error = body.error().message;
    return out;
  }
  Request request;
  request.kind = Kind::kComplete;
  request.body = &*body;
  return perform(url, request, options);
}

TransferOutcome abort_multipart_upload(const std::string& url, const TransferOptions& options) {
  Request request;
  request.kind = Kind::kAbort;
  return perform(url, request, options);
}

}  // namespace ferry::agent::upload
