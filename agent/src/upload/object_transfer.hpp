// The agent's requests to an object store (COS, S3, any S3-compatible store) on presigned URLs
// the server handed out: PutObject / UploadPart from a range of a file, and the three multipart
// calls. Each function is one blocking request on its own libcurl handle, safe to call from any
// number of threads at once; what to upload, when to retry and where URLs come from are the
// caller's (the daemon's upload driver).
//
// Every request: http or https only, no redirect followed, no proxy (as the agent's control-plane
// client: the environment's http_proxy and the like are not read), TLS peers verified, HTTP/1.1,
// no signals, the answer's body capped at 64 KiB (only error bodies and the small XML answers are
// read). A presigned URL carries a signature that is a credential until it expires: it never goes
// into an outcome, an error or a log line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "s3_xml.hpp"

namespace ferry::agent::upload {

struct TransferOptions {
  std::string ca_file;  // "" : the system's CAs
  std::chrono::milliseconds connect_timeout{10'000};
  // Abort a request that moves fewer than low_speed_bytes per second for low_speed_time.
  long low_speed_bytes = 1024;
  std::chrono::seconds low_speed_time{60};
  // The request is abandoned at this time (steady clock); the default: none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Set by another thread to abandon the request within about a second.
  const std::atomic<bool>* cancel = nullptr;
};

// The most bytes of an answer's body kept; the rest is read and dropped.
inline constexpr std::size_t kMaxAnswerBody = 64 * 1024;
// error_message is cut to this many bytes.
inline constexpr std::size_t kMaxErrorMessage = 256;

struct TransferOutcome {
  bool ok = false;              // a 2xx answer (and, for Complete, no <Error> in its body)
  long http_status = 0;         // 0: no HTTP answer
  std::string transport_error;  // curl's reason when there was no answer ("" otherwise)
  // The request was not made, or was stopped, for a reason on this side: the file cannot be
  // read or is shorter than the range, an argument is invalid, libcurl is missing. Never worth
  // a retry.
  std::string local_error;
  std::string error_code;     // S3/COS <Code> of an error body: AccessDenied, NoSuchBucket, ...
  std::string error_message;  // its <Message>, cut to 256 bytes
  std::string etag;           // PutObject / UploadPart: the ETag header, quotes kept as sent
  std::string upload_id;      // CreateMultipartUpload: <UploadId>
  bool cancelled = false;     // stopped by `cancel` or the deadline (transport_error says which)

  // Worth trying again: transport errors, 5xx, 429, 408, and the codes RequestTimeout, SlowDown,
  // InternalError, ServiceUnavailable, RequestTimeTooSkewed, Throttling... whatever the status.
  // Not: other 4xx (403, 404, 400), local errors, a cancelled request.
  [[nodiscard]] bool retryable() const;
  // The store refused the URL because it has expired (S3 and COS: 403 AccessDenied "Request has
  // expired"): worth trying again with a new URL, not with this one.
  [[nodiscard]] bool url_expired() const;
  // One line for logs and OutputUploadCOSErrorInfo: "HTTP 403 AccessDenied: message",
  // "transport: Couldn't connect ...", "local: ...", "cancelled: ...", "HTTP 200" when ok.
  // NEVER contains a URL (presigned URLs carry signatures): anything URL-like is blanked.
  [[nodiscard]] std::string describe() const;
};

// Checks that libcurl can be loaded (and loads it); the error says what to install.
Status load_curl();

// PUT [offset, offset+length) of `file`, streamed from the file by a read callback (never the
// whole range in memory), with Content-Length and without "Expect: 100-continue". PutObject and
// UploadPart have this same shape. A range past the file's end is a local error, and so is a file
// that shrinks during the request.
TransferOutcome put_file(const std::string& url, const std::filesystem::path& file,
                         std::uint64_t offset, std::uint64_t length,
                         const TransferOptions& options);

// POST ?uploads: ok with upload_id set, or not ok (also when a 2xx answer has no <UploadId>).
TransferOutcome create_multipart_upload(const std::string& url, const TransferOptions& options);

// POST ?uploadId=U with the parts' list. Not ok when the 200 answer's body is an <Error> (S3
// reports late failures so, after the status line has gone out). Invalid parts (see
// s3_xml::complete_body) are a local error; nothing is sent.
TransferOutcome complete_multipart_upload(const std::string& url,
                                          const std::vector<CompletedPart>& parts,
                                          const TransferOptions& options);

// DELETE ?uploadId=U: the parts uploaded so far are dropped (204).
TransferOutcome abort_multipart_upload(const std::string& url, const TransferOptions& options);

// `text` with every word (what lies between spaces) that looks like a URL or a piece of one made
// "<url>": one holding "://", an X-Amz- parameter, or a '?' with an '=' after it. What describe()
// and the messages go through, whatever libcurl or the store put in them.
std::string blank_urls(std::string_view text);

}  // namespace ferry::agent::upload
