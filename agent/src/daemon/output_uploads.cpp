#include "output_uploads.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/task_files.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/time.hpp"

namespace ferry::agent {
namespace {

using std::chrono::milliseconds;

constexpr const char* kDeadlinePassed =
    "the upload did not finish within the task's Timeout (counted from the task's start, as the "
    "upload is part of it)";

// Part URLs asked for in one PresignOutputUpload (the protocol allows 100).
constexpr int kPartUrlBatch = 16;
// The smallest part S3 and COS take (all but the last).
constexpr std::uint64_t kMinPartSize = 5ULL << 20;

std::int64_t wall_ms(const Clock& clock) {
  return std::chrono::duration_cast<milliseconds>(clock.wall_now().time_since_epoch()).count();
}

std::uint64_t part_count(const OutputUpload& u) {
  return u.part_size == 0 ? 0
                          : std::max<std::uint64_t>(1, (u.size + u.part_size - 1) / u.part_size);
}

// Server errors after which asking again cannot help: not a transport error, InternalError, or
// a signature refused for the clock (the context corrects it; the retry signs anew).
bool refused_for_good(DaemonContext& ctx, const CallResult& r) {
  const std::string code = r.error_code();
  if (!r.transport_error.empty() || code.empty() || code == "InternalError") {
    return false;
  }
  return !ctx.fix_clock(r);
}

}  // namespace

OutputUploads::OutputUploads(DaemonContext& context, HeldTasks& tasks, ObjectClient* objects)
    : ctx_(context), tasks_(tasks), objects_(objects) {}

std::optional<OutputUpload> OutputUploads::plan(const HeldTask& task,
                                                const TaskResult& result) const {
  if (!task.started || result.status == TaskStatus::kStartFailed ||
      result.status == TaskStatus::kCancelled) {
    return std::nullopt;  // it never ran: there is no output beyond the excerpt
  }
  auto spec = read_task_file(task_paths(ctx_.options.state_dir, task.id));
  if (!spec) {
    return std::nullopt;  // recovered from a supervisor alone: nothing says where output goes
  }
  OutputUpload u;
  u.size = result.output_size;
  if (!spec->output_cos_bucket_url.empty()) {
    u.target = UploadTarget::kBucket;
    if (u.size > ctx_.options.multipart_threshold) {
      const std::uint64_t least = (u.size + kMaxUploadParts - 1) / kMaxUploadParts;
      const std::uint64_t mib = 1ULL << 20;
      u.part_size = std::max({ctx_.options.part_size, kMinPartSize, (least + mib - 1) / mib * mib});
    }
  } else if (result.dropped > 0) {
    u.target = UploadTarget::kServer;
  } else {
    return std::nullopt;  // the excerpt is the whole output
  }
  // Seed 003: the timeout includes the upload. Counted from the start the journal recorded.
  const std::int64_t now = wall_ms(ctx_.clock);
  std::int64_t deadline = now + ctx_.options.upload_min_window.count();
  if (auto started = parse_rfc3339_ms(task.journal.start_time)) {
    deadline = std::max(deadline, *started + spec->timeout_seconds * 1000);
  }
  u.deadline = ms_to_rfc3339(deadline);
  return u;
}

void OutputUploads::start(const std::string& id) {
  HeldTask* t = tasks_.find(id);
  if (t == nullptr || !t->journal.upload) {
    return;
  }
  Active& a = active_[id];
  a.resumed = t->journal.upload->completing || !t->journal.upload->parts.empty() ||
              t->journal.upload->stored > 0;
  if (!a.retry) {
    a.retry = ctx_.clock.make_timer();
  }
  spdlog::info("task {}: uploading its output ({} bytes) to {}{}", id, t->journal.upload->size,
               t->journal.upload->target == UploadTarget::kBucket ? "its bucket" : "the server",
               a.resumed ? ", resumed" : "");
  step(id);
}

void OutputUploads::stop() {
  for (auto& [id, a] : active_) {
    if (a.retry) {
      a.retry->cancel();
    }
  }
}

HeldTask* OutputUploads::uploading(const std::string& id) {
  HeldTask* t = tasks_.find(id);
  return t != nullptr && t->journal.upload && active_.contains(id) && !ctx_.stopped() ? t : nullptr;
}

std::chrono::steady_clock::time_point OutputUploads::deadline_of(const OutputUpload& u) const {
  const auto at = parse_rfc3339_ms(u.deadline).value_or(0);
  return ctx_.clock.now() + milliseconds(at - wall_ms(ctx_.clock));
}

void OutputUploads::step(const std::string& id) {
  HeldTask* t = uploading(id);
  if (t == nullptr) {
    return;
  }
  OutputUpload& u = *t->journal.upload;
  if (ctx_.clock.now() >= deadline_of(u)) {
    spdlog::warn("task {}: output upload given up at its deadline {}", id, u.deadline);
    fail(id, kDeadlinePassed);
    return;
  }
  // The spool must still hold every byte (the journal's retention cap may have removed it).
  std::error_code ec;
  const auto spool = task_paths(ctx_.options.state_dir, id).output_file;
  const auto on_disk = std::filesystem::file_size(spool, ec);
  if (u.size > 0 && (ec || on_disk < u.size)) {
    const std::string why =
        "the output could not be uploaded: its spool on the instance is gone or shorter than "
        "the output (" +
        (ec ? ec.message() : std::to_string(on_disk) + " of " + std::to_string(u.size) + " bytes") +
        ")";
    spdlog::warn("task {}: {}", id, why);
    end(id, "", u.target == UploadTarget::kBucket ? why : std::string());
    return;
  }
  if (u.target == UploadTarget::kServer) {
    step_server(id, u);
  } else {
    step_bucket(id, *t, u, active_[id]);
  }
}

void OutputUploads::step_bucket(const std::string& id, HeldTask& task, OutputUpload& u, Active& a) {
  const auto spool = task_paths(ctx_.options.state_dir, id).output_file;
  if (objects_ == nullptr) {
    end(id, "", "this agent cannot upload to a bucket (no object client)");
    return;
  }
  if (u.part_size == 0) {
    presign(id, {{"Operation", "PutObject"}}, [this, id, spool](const nlohmann::json& reply) {
      HeldTask* t = uploading(id);
      if (t == nullptr) {
        return;
      }
      const std::string url = reply.value("ObjectUrl", "");
      send_object(id,
                  ObjectRequest{ObjectRequest::Kind::kPut,
                                reply.value("Url", ""),
                                spool,
                                0,
                                t->journal.upload->size,
                                {}},
                  [this, id, url](const ObjectReply&) { end(id, url, ""); });
    });
    return;
  }
  if (u.upload_id.empty()) {
    presign(id, {{"Operation", "CreateMultipartUpload"}}, [this, id](const nlohmann::json& reply) {
      send_object(
          id,
          ObjectRequest{
              ObjectRequest::Kind::kCreateMultipartUpload, reply.value("Url", ""), {}, 0, 0, {}},
          [this, id](const ObjectReply& r) {
            HeldTask* t = uploading(id);
            if (t == nullptr) {
              return;
            }
            if (r.upload_id.empty()) {
              end(id, "", "CreateMultipartUpload: the store's answer has no UploadId");
              return;
            }
            t->journal.upload->upload_id = r.upload_id;
            tasks_.journal_write(*t, platform::Durability::kAtomicOnly);
            step(id);
          });
    });
    return;
  }
  const std::uint64_t parts = part_count(u);
  if (u.parts.size() < parts) {
    const int number = static_cast<int>(u.parts.size()) + 1;
    const auto url = a.part_urls.find(number);
    if (url == a.part_urls.end()) {
      nlohmann::json numbers = nlohmann::json::array();
      for (int n = number; n < number + kPartUrlBatch && n <= static_cast<int>(parts); ++n) {
        numbers.push_back(n);
      }
      presign(id,
              {{"Operation", "UploadPart"}, {"UploadId", u.upload_id}, {"PartNumbers", numbers}},
              [this, id, number](const nlohmann::json& reply) {
                auto it = active_.find(id);
                if (it == active_.end()) {
                  return;
                }
                for (const auto& p : reply.value("PartUrls", nlohmann::json::array())) {
                  if (p.is_object() && p.value("PartNumber", 0) > 0) {
                    it->second.part_urls[p.value("PartNumber", 0)] = p.value("Url", "");
                  }
                }
                if (!it->second.part_urls.contains(number)) {
                  retry(id, "PresignOutputUpload UploadPart: the reply has no URL for part " +
                                std::to_string(number));
                  return;
                }
                step(id);
              });
      return;
    }
    const std::uint64_t offset = static_cast<std::uint64_t>(number - 1) * u.part_size;
    const std::uint64_t length = std::min(u.part_size, u.size - offset);
    ObjectRequest put{ObjectRequest::Kind::kPut, url->second, spool, offset, length, {}};
    a.part_urls.erase(url);
    send_object(id, std::move(put), [this, id, number](const ObjectReply& r) {
      HeldTask* t = uploading(id);
      if (t == nullptr) {
        return;
      }
      if (r.etag.empty()) {
        retry(id, "UploadPart " + std::to_string(number) + ": the store's answer has no ETag");
        return;
      }
      t->journal.upload->parts.push_back({number, r.etag});
      tasks_.journal_write(*t, platform::Durability::kAtomicOnly);
      step(id);
    });
    return;
  }
  const bool sent_before = u.completing;
  if (!u.completing) {
    spdlog::info("task {}: {} parts uploaded; completing the upload", id, u.parts.size());
    u.completing = true;
    tasks_.journal_write(task, platform::Durability::kAtomicOnly);
  }
  presign(
      id, {{"Operation", "CompleteMultipartUpload"}, {"UploadId", u.upload_id}},
      [this, id, sent_before](const nlohmann::json& reply) {
        HeldTask* t = uploading(id);
        if (t == nullptr) {
          return;
        }
        ObjectRequest complete{
            ObjectRequest::Kind::kCompleteMultipartUpload, reply.value("Url", ""), {}, 0, 0, {}};
        for (const auto& p : t->journal.upload->parts) {
          complete.parts.emplace_back(p.number, p.etag);
        }
        const std::string url = reply.value("ObjectUrl", "");
        send_object(
            id, std::move(complete), [this, id, url](const ObjectReply&) { end(id, url, ""); },
            // A Complete sent by an agent that then stopped may have been taken: the upload
            // is gone because the object is whole.
            sent_before ? std::optional<std::string>("NoSuchUpload") : std::nullopt, url);
      });
}

void OutputUploads::step_server(const std::string& id, const OutputUpload& u) {
  const std::uint64_t offset = u.stored;
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(ctx_.options.server_output_piece, u.size - offset));
  auto piece = read_spool(task_paths(ctx_.options.state_dir, id), offset, want);
  if (!piece || piece->size() != want) {
    spdlog::warn("task {}: reading its spool for the server's output store failed", id);
    end(id, "", "");
    return;
  }
  const bool last = offset + want == u.size;
  ctx_.server.call("UploadTaskOutput",
                   {{"InvocationTaskId", id},
                    {"Offset", offset},
                    {"Output", base64_encode(*piece)},
                    {"Final", last}},
                   ctx_.guard([this, id, offset](CallResult r) {
                     HeldTask* t = uploading(id);
                     if (t == nullptr) {
                       return;
                     }
                     if (ctx_.check_fatal(r)) {
                       return;
                     }
                     if (!r.ok()) {
                       if (refused_for_good(ctx_, r)) {
                         // The store is full, disabled, or the server predates it: the excerpt
                         // remains.
                         spdlog::warn("task {}: the server's output store refused its output ({})",
                                      id, r.describe());
                         end(id, "", "");
                       } else {
                         retry(id, "UploadTaskOutput: " + r.describe());
                       }
                       return;
                     }
                     const auto& reply = r.response();
                     if (reply.value("Complete", false)) {
                       end(id, "", "");
                       return;
                     }
                     const auto stored = reply.value("Stored", std::uint64_t{0});
                     OutputUpload& upload = *t->journal.upload;
                     if (stored <= offset && stored == upload.stored) {
                       retry(id, "UploadTaskOutput: the server took nothing at offset " +
                                     std::to_string(offset));
                       return;
                     }
                     upload.stored = std::min(stored, upload.size);
                     active_[id].attempts = 0;
                     tasks_.journal_write(*t, platform::Durability::kAtomicOnly);
                     step(id);
                   }));
}

void OutputUploads::presign(const std::string& id, nlohmann::json fields,
                            std::function<void(const nlohmann::json&)> then) {
  fields["InvocationTaskId"] = id;
  const std::string operation = fields.value("Operation", "");
  ctx_.server.call(
      "PresignOutputUpload", std::move(fields),
      ctx_.guard([this, id, operation, then = std::move(then)](CallResult r) {
        if (uploading(id) == nullptr || ctx_.check_fatal(r)) {
          return;
        }
        if (r.ok() && (r.response().contains("Url") || r.response().contains("PartUrls"))) {
          then(r.response());
          return;
        }
        if (r.ok()) {
          retry(id, "PresignOutputUpload " + operation + ": the reply has no URL");
          return;
        }
        const std::string why = "PresignOutputUpload " + operation + ": " + r.describe();
        if (!refused_for_good(ctx_, r)) {
          retry(id, why);
          return;
        }
        spdlog::warn("task {}: {}", id, why);
        fail(id, why);
      }));
}

void OutputUploads::send_object(const std::string& id, ObjectRequest request,
                                std::function<void(const ObjectReply&)> then,
                                std::optional<std::string> taken_code, std::string taken_url) {
  const HeldTask* task = uploading(id);
  if (task == nullptr) {
    return;
  }
  const auto deadline = deadline_of(*task->journal.upload);
  objects_->send(std::move(request), deadline,
                 ctx_.guard([this, id, then = std::move(then), taken_code = std::move(taken_code),
                             taken_url = std::move(taken_url)](ObjectReply r) {
                   HeldTask* t = uploading(id);
                   if (t == nullptr) {
                     return;
                   }
                   if (r.ok) {
                     active_[id].attempts = 0;
                     then(r);
                     return;
                   }
                   if (taken_code && r.error_code == *taken_code) {
                     end(id, taken_url, "");
                     return;
                   }
                   if (r.retryable) {
                     retry(id, r.error);
                     return;
                   }
                   spdlog::warn("task {}: output upload failed: {}", id, r.error);
                   fail(id, r.error);
                 }));
}

void OutputUploads::retry(const std::string& id, const std::string& why) {
  auto it = active_.find(id);
  HeldTask* t = uploading(id);
  if (t == nullptr || it == active_.end()) {
    return;
  }
  Active& a = it->second;
  const auto delay = ctx_.backoff(a.attempts, ctx_.options.retry_min, ctx_.options.retry_max);
  ++a.attempts;
  const auto deadline = deadline_of(*t->journal.upload);
  spdlog::info("task {}: output upload: {}; retry in {} ms", id, why, delay.count());
  // The last attempt waits no longer than the deadline, where step() gives up.
  const auto wait = std::min<milliseconds>(
      delay,
      std::chrono::duration_cast<milliseconds>(deadline - ctx_.clock.now()) + milliseconds(1));
  a.retry->start(std::max(wait, milliseconds(0)), [this, id] { step(id); });
}

void OutputUploads::fail(const std::string& id, std::string why) {
  const HeldTask* t = uploading(id);
  if (t == nullptr) {
    return;
  }
  const OutputUpload& u = *t->journal.upload;
  if (u.target == UploadTarget::kServer) {
    end(id, "", "");
  } else if (!u.upload_id.empty() && !u.completing) {
    abort_then_end(id, std::move(why));
  } else {
    end(id, "", std::move(why));
  }
}

void OutputUploads::abort_then_end(const std::string& id, std::string error) {
  HeldTask* t = uploading(id);
  if (t == nullptr) {
    return;
  }
  const std::string upload_id = t->journal.upload->upload_id;
  ctx_.server.call(
      "PresignOutputUpload",
      {{"InvocationTaskId", id}, {"Operation", "AbortMultipartUpload"}, {"UploadId", upload_id}},
      ctx_.guard([this, id, error = std::move(error)](CallResult r) {
        if (uploading(id) == nullptr) {
          return;
        }
        if (!r.ok() || objects_ == nullptr) {
          end(id, "", error);
          return;
        }
        // Abandoned with the rest at the deadline; its answer does not change the result.
        objects_->send(ObjectRequest{ObjectRequest::Kind::kAbortMultipartUpload,
                                     r.response().value("Url", ""),
                                     {},
                                     0,
                                     0,
                                     {}},
                       ctx_.clock.now() + std::chrono::seconds(10),
                       ctx_.guard([this, id, error](const ObjectReply&) { end(id, "", error); }));
      }));
}

void OutputUploads::end(const std::string& id, std::string url, std::string error) {
  auto it = active_.find(id);
  if (it == active_.end()) {
    return;
  }
  if (it->second.retry) {
    it->second.retry->cancel();
  }
  active_.erase(it);
  if (!url.empty()) {
    spdlog::info("task {}: output uploaded", id);
  }
  tasks_.upload_ended(id, std::move(url), std::move(error));
}

}  // namespace ferry::agent
