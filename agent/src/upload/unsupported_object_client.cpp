// The object client of the Windows build: there is no libcurl for mingw, and no WinHTTP
// implementation of object_transfer.hpp yet, so every request to an object store fails, for
// good, with a reason the task's OutputUploadCOSErrorInfo carries. The task itself is not
// affected: its result and output excerpt are reported as ever, and the server's own output
// store (UploadTaskOutput) does not go through this client.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>

#include "ferry/agent/object_client.hpp"

namespace ferry::agent {
namespace {

class UnsupportedObjectClient final : public ObjectClient {
 public:
  explicit UnsupportedObjectClient(platform::EventLoop& loop)
      : loop_(loop), stopped_(std::make_shared<std::atomic<bool>>(false)) {}

  void send(ObjectRequest, std::chrono::steady_clock::time_point, Done done) override {
    ObjectReply reply;
    reply.ok = false;
    reply.retryable = false;
    reply.error = "uploads to object stores are not supported on Windows yet";
    // `done` runs later on the loop, never inside send(), and not after stop().
    boost::asio::post(loop_, [stopped = stopped_, done = std::move(done), reply] {
      if (!*stopped) {
        done(reply);
      }
    });
  }

  void stop() override { *stopped_ = true; }

 private:
  platform::EventLoop& loop_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

}  // namespace

std::unique_ptr<ObjectClient> make_object_client(platform::EventLoop& loop, ObjectClientOptions) {
  return std::make_unique<UnsupportedObjectClient>(loop);
}

}  // namespace ferry::agent
