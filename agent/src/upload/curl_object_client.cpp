// ObjectClient on libcurl: a few worker threads run the blocking transfers of
// object_transfer.hpp, and each outcome goes back to the daemon's loop. The threads start with
// the first request, so an agent that never uploads never loads libcurl.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "ferry/agent/object_client.hpp"
#include "object_transfer.hpp"

namespace ferry::agent {
namespace {

struct Job {
  ObjectRequest request;
  std::chrono::steady_clock::time_point deadline;
  ObjectClient::Done done;
};

ObjectReply to_reply(const upload::TransferOutcome& o) {
  ObjectReply r;
  r.ok = o.ok;
  // Past its deadline it is the daemon's call: it gives up there. An expired URL is asked for
  // again (every retry presigns anew).
  r.retryable = o.cancelled || o.retryable() || o.url_expired();
  r.error = o.ok ? std::string() : o.describe();
  r.error_code = o.error_code;
  r.etag = o.etag;
  r.upload_id = o.upload_id;
  return r;
}

upload::TransferOutcome run(const ObjectRequest& r, const upload::TransferOptions& options) {
  switch (r.kind) {
    case ObjectRequest::Kind::kPut:
      return upload::put_file(r.url, r.file, r.offset, r.length, options);
    case ObjectRequest::Kind::kCreateMultipartUpload:
      return upload::create_multipart_upload(r.url, options);
    case ObjectRequest::Kind::kCompleteMultipartUpload: {
      std::vector<upload::CompletedPart> parts;
      for (const auto& [number, etag] : r.parts) {
        parts.push_back({number, etag});
      }
      return upload::complete_multipart_upload(r.url, parts, options);
    }
    case ObjectRequest::Kind::kAbortMultipartUpload:
      return upload::abort_multipart_upload(r.url, options);
  }
  return {};
}

// What the workers share with the client; it outlives the client while a worker still runs.
struct Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> queue;
  std::atomic<bool> cancel{false};
};

class CurlObjectClient final : public ObjectClient {
 public:
  CurlObjectClient(platform::EventLoop& loop, ObjectClientOptions options)
      : loop_(loop), options_(std::move(options)), shared_(std::make_shared<Shared>()) {}
  ~CurlObjectClient() override { stop(); }
  CurlObjectClient(const CurlObjectClient&) = delete;
  CurlObjectClient& operator=(const CurlObjectClient&) = delete;

  void send(ObjectRequest request, std::chrono::steady_clock::time_point deadline,
            Done done) override {
    if (shared_->cancel) {
      return;
    }
    if (auto loaded = upload::load_curl(); !loaded) {
      ObjectReply r;
      r.error = loaded.error().message;
      boost::asio::post(loop_, [done = std::move(done), r] { done(r); });
      return;
    }
    {
      std::lock_guard lock(shared_->mutex);
      shared_->queue.push_back(Job{std::move(request), deadline, std::move(done)});
    }
    shared_->wake.notify_one();
    while (workers_.size() < std::max<std::size_t>(1, options_.workers)) {
      workers_.emplace_back([this] { work(); });
    }
  }

  void stop() override {
    shared_->cancel = true;
    shared_->wake.notify_all();
    for (auto& w : workers_) {
      w.join();
    }
    workers_.clear();
    std::lock_guard lock(shared_->mutex);
    shared_->queue.clear();
  }

 private:
  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(shared_->mutex);
        shared_->wake.wait(lock, [&] { return shared_->cancel || !shared_->queue.empty(); });
        if (shared_->cancel) {
          return;
        }
        job = std::move(shared_->queue.front());
        shared_->queue.pop_front();
      }
      upload::TransferOptions options;
      options.ca_file = options_.ca_file;
      options.deadline = job.deadline;
      options.cancel = &shared_->cancel;
      ObjectReply reply = to_reply(run(job.request, options));
      // Handed to the loop only while the client runs: stop() drops what is late.
      boost::asio::post(loop_, [shared = shared_, done = std::move(job.done), reply] {
        if (!shared->cancel) {
          done(reply);
        }
      });
    }
  }

  platform::EventLoop& loop_;
  const ObjectClientOptions options_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<ObjectClient> make_curl_object_client(platform::EventLoop& loop,
                                                      ObjectClientOptions options) {
  return std::make_unique<CurlObjectClient>(loop, std::move(options));
}

std::unique_ptr<ObjectClient> make_object_client(platform::EventLoop& loop,
                                                 ObjectClientOptions options) {
  return make_curl_object_client(loop, std::move(options));
}

}  // namespace ferry::agent
