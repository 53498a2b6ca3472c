// The agent's requests to an object store (COS, S3 and what speaks its API) on URLs that the
// server presigned (docs/protocol.md, PresignOutputUpload), as a small interface: the daemon's
// upload logic talks to this seam only, so it is tested with a fake. The real one runs each
// request with libcurl on a worker thread (src/upload/), loaded on the first upload.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ferry/platform/event_loop.hpp"

namespace ferry::agent {

struct ObjectRequest {
  enum class Kind {
    kPut,  // PutObject or UploadPart: the bytes [offset, offset + length) of `file`
    kCreateMultipartUpload,
    kCompleteMultipartUpload,  // lists `parts`
    kAbortMultipartUpload,
  };
  Kind kind = Kind::kPut;
  std::string url;
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::vector<std::pair<int, std::string>> parts;  // part number, ETag
};

struct ObjectReply {
  bool ok = false;
  bool retryable = false;  // a transport error, a 5xx, throttling: worth sending again
  // One line for logs and OutputUploadCOSErrorInfo ("HTTP 403 AccessDenied: ..."), never the URL.
  std::string error;
  std::string error_code;  // the store's <Code>: AccessDenied, NoSuchBucket, NoSuchUpload, ...
  std::string etag;        // kPut
  std::string upload_id;   // kCreateMultipartUpload
};

class ObjectClient {
 public:
  using Done = std::function<void(ObjectReply)>;

  virtual ~ObjectClient() = default;
  // Sends `request`, abandoned at `deadline`; `done` runs later on the daemon's loop.
  virtual void send(ObjectRequest request, std::chrono::steady_clock::time_point deadline,
                    Done done) = 0;
  // Abandons every request (their `done` never runs) and waits for the workers to return.
  virtual void stop() = 0;
};

struct ObjectClientOptions {
  std::string ca_file;      // "" : the system's CAs
  std::size_t workers = 2;  // requests in flight at once, over all tasks
};

// The libcurl implementation: `workers` threads, started on the first request.
std::unique_ptr<ObjectClient> make_curl_object_client(platform::EventLoop& loop,
                                                      ObjectClientOptions options);

// The daemon's object client on this OS (chosen by the build): make_curl_object_client on
// Linux; on Windows, which has no libcurl yet, one that answers every request with a failure
// that is not retryable ("uploads to object stores are not supported on Windows yet"), so that
// the task's OutputUploadCOSErrorInfo says why its bucket got nothing.
std::unique_ptr<ObjectClient> make_object_client(platform::EventLoop& loop,
                                                 ObjectClientOptions options);

}  // namespace ferry::agent
