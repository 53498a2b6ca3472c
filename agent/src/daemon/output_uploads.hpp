// The upload of a finished task's complete output (its spool, tasks/<id>/output.log) before its
// finish is reported (issue 13; docs/protocol.md, PresignOutputUpload and UploadTaskOutput):
//   - a task with an OutputCOSBucketUrl: to that bucket, on URLs the server presigns; one
//     PutObject, or a multipart upload above multipart_threshold. The result then carries
//     OutputUrl, or OutputUploadCOSErrorInfo when the upload failed; its status never changes.
//   - a task without one whose output is larger than the report's excerpt: to the server's own
//     output store, in pieces. A refusal there is logged, not reported.
// Each step is journaled (the upload id, each part's ETag, the bytes the server holds), so an
// agent that restarts resumes where the last one stopped. Failures are retried with capped
// backoff until the deadline: the task's start + Timeout, or the end + upload_min_window.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon_context.hpp"
#include "ferry/agent/object_client.hpp"
#include "held_tasks.hpp"

namespace ferry::agent {

class OutputUploads {
 public:
  OutputUploads(DaemonContext& context, HeldTasks& tasks, ObjectClient* objects);

  // The upload `task` owes before its finish goes, given its result; nullopt for none.
  [[nodiscard]] std::optional<OutputUpload> plan(const HeldTask& task,
                                                 const TaskResult& result) const;
  // Begins, or resumes after a restart, the upload in the task's journal record.
  void start(const std::string& id);
  // Abandons every upload where it stands (the journal has it for the next agent).
  void stop();
  [[nodiscard]] bool active(const std::string& id) const { return active_.contains(id); }

 private:
  struct Active {
    std::map<int, std::string> part_urls;
    int attempts = 0;      // failures in a row
    bool resumed = false;  // started from a journal record: a Complete may already be taken
    std::unique_ptr<Timer> retry;
  };

  void step(const std::string& id);
  void step_bucket(const std::string& id, HeldTask& task, OutputUpload& upload, Active& a);
  void step_server(const std::string& id, const OutputUpload& upload);
  // Asks the server for presigned URLs; `then` runs with the reply when it is a success.
  void presign(const std::string& id, nlohmann::json fields,
               std::function<void(const nlohmann::json&)> then);
  // Sends one request to the store; `then` runs on success. A failure is retried, or ends the
  // upload; except `taken_code`, which means the request was already taken: the upload ends with
  // `taken_url`.
  void send_object(const std::string& id, ObjectRequest request,
                   std::function<void(const ObjectReply&)> then,
                   std::optional<std::string> taken_code = std::nullopt,
                   std::string taken_url = {});
  // A failure worth retrying: again after a backoff, or given up at the deadline.
  void retry(const std::string& id, const std::string& why);
  // Ends the upload: the finish goes with `url` or `error` (bucket), or with neither (server).
  void end(const std::string& id, std::string url, std::string error);
  // The upload cannot succeed: a bucket's ends with `why` in OutputUploadCOSErrorInfo (a
  // multipart upload not yet completing is aborted first); the server store's ends with nothing.
  void fail(const std::string& id, std::string why);
  // A multipart upload that failed: its parts are removed from the store (best effort).
  void abort_then_end(const std::string& id, std::string error);

  [[nodiscard]] std::chrono::steady_clock::time_point deadline_of(const OutputUpload& u) const;
  [[nodiscard]] HeldTask* uploading(const std::string& id);

  DaemonContext& ctx_;
  HeldTasks& tasks_;
  ObjectClient* objects_;
  std::map<std::string, Active> active_;
};

}  // namespace ferry::agent
