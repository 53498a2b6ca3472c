// The agent's object-store requests (agent/src/upload/object_transfer.hpp) on URLs presigned by
// the server's Presigner, against a real S3-compatible store on loopback (s3_store.hpp),
// and against a canned HTTP server for the answers a store rarely gives.
#include "upload/object_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "canned_http_server.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/server/cos/presigner.hpp"
#include "s3_store.hpp"
#include "test_process.hpp"
#include "upload/curl_library.hpp"

namespace upload = ferry::agent::upload;
namespace fs = std::filesystem;
using ferry::server::cos::BucketCredentials;
using ferry::server::cos::PresignedRequest;
using ferry::server::cos::Presigner;
using ferry::test::S3Store;
using ferry::test::S3StoreOptions;
using ferry::test::TempDir;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using upload::CompletedPart;
using upload::TransferOptions;
using upload::TransferOutcome;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// One store for the tests that do not stop it (starting node costs about half a second).
S3Store& shared_store() {
  static S3Store store;
  return store;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Presigner presigner_for(const S3Store& store, const std::string& bucket = "ferry-test",
                        std::string secret = std::string(S3Store::kSecretAccessKey)) {
  auto url = ferry::server::cos::parse_configured_bucket_url(store.bucket_url(bucket));
  REQUIRE(url.has_value());
  BucketCredentials credentials;
  credentials.credentials.access_key_id = S3Store::kAccessKeyId;
  credentials.credentials.secret_access_key = std::move(secret);
  credentials.region = S3Store::kRegion;
  return Presigner(*url, credentials);
}

std::string url_of(const ferry::Expected<PresignedRequest>& request) {
  REQUIRE(request.has_value());
  return request->url;
}

// `size` bytes of a fixed pseudo-random sequence (xorshift), written 1 MiB at a time.
void write_pattern(const fs::path& path, std::uint64_t size, std::uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  std::uint64_t x = seed | 1;
  std::string chunk;
  for (std::uint64_t done = 0; done < size; done += chunk.size()) {
    chunk.resize(std::min(kMiB, size - done));
    for (auto& c : chunk) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x & 0xFF);
    }
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
  REQUIRE(out.flush());
}

void write_sparse(const fs::path& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  ::close(fd);
}

std::string slice(const fs::path& path, std::uint64_t offset, std::uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  REQUIRE(static_cast<std::uint64_t>(in.gcount()) == length);
  return bytes;
}

std::size_t append_to(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// GET through the agent's own libcurl table: the object's bytes as the store serves them.
std::string get_object(const std::string& url, long& status) {
  auto lib = upload::curl_library();
  REQUIRE(lib.has_value());
  const upload::CurlLibrary& c = **lib;
  CURL* h = c.easy_init();
  REQUIRE(h != nullptr);
  std::string body;
  c.easy_setopt(h, CURLOPT_URL, url.c_str());
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h, CURLOPT_PROXY, "");
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, &append_to);
  c.easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&body));
  const CURLcode rc = c.easy_perform(h);
  status = 0;
  c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  c.easy_cleanup(h);
  REQUIRE(rc == CURLE_OK);
  return body;
}

std::string stored_sha256(const Presigner& p, const std::string& key) {
  long status = 0;
  const std::string body = get_object(url_of(p.get_object(key, unix_now(), 300)), status);
  REQUIRE(status == 200);
  return ferry::sha256_hex(body);
}

// "\"<32 hex>\"": an S3 ETag of a single-part object or a part, quotes as sent.
bool looks_like_etag(const std::string& etag) {
  return etag.size() == 34 && etag.front() == '"' && etag.back() == '"';
}

// The outcome of a failure must not carry the URL anywhere a log or an API answer would show.
void check_no_url(const TransferOutcome& o) {
  for (const std::string& text : {o.describe(), o.transport_error, o.error_message}) {
    INFO(text);
    CHECK(text.find("://") == std::string::npos);
    CHECK(text.find("X-Amz") == std::string::npos);
    CHECK(text.find("127.0.0.1:") == std::string::npos);
  }
}

// Resumes a paused store whatever a test's end.
struct Resume {
  const S3Store& store;
  ~Resume() { store.resume(); }
};

}  // namespace

TEST_CASE("put_file stores 0 bytes, 1 KiB and a 10 MiB range at an offset, byte for byte") {
  S3Store& store = shared_store();
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  const std::uint64_t offset = 3001;
  write_pattern(file, offset + 10 * kMiB + 17, 1);
  const std::int64_t now = unix_now();

  struct Case {
    std::string key;
    std::uint64_t offset;
    std::uint64_t length;
  };
  // Keys as prefixes make them: spaces and UTF-8 must be signed as S3 encodes them.
  for (const Case& c :
       {Case{"out/inv-1/empty.log", 0, 0}, Case{"out/inv 1/caf\xC3\xA9.log", 5, 1024},
        Case{"out/inv-1/invt-1.log", offset, 10 * kMiB}}) {
    INFO(c.key);
    const auto put = upload::put_file(url_of(p.put_object(c.key, now, 300)), file, c.offset,
                                      c.length, TransferOptions{});
    INFO(put.describe());
    REQUIRE(put.ok);
    CHECK(put.http_status == 200);
    CHECK(looks_like_etag(put.etag));
    CHECK_FALSE(put.retryable());
    CHECK(stored_sha256(p, c.key) == ferry::sha256_hex(slice(file, c.offset, c.length)));
  }
}

TEST_CASE("multipart: three parts of one file, then Complete: the object is the file") {
  S3Store& store = shared_store();
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  const std::uint64_t size = 12 * kMiB + 123;
  write_pattern(file, size, 2);
  const std::string key = "out/inv-2/invt-2.log";
  const std::int64_t now = unix_now();

  const auto created = upload::create_multipart_upload(
      url_of(p.create_multipart_upload(key, now, 300)), TransferOptions{});
  INFO(created.describe());
  REQUIRE(created.ok);
  REQUIRE_FALSE(created.upload_id.empty());
  const std::string& id = created.upload_id;

  std::vector<CompletedPart> parts;
  const std::uint64_t bounds[] = {0, 5 * kMiB, 10 * kMiB, size};
  for (int n = 1; n <= 3; ++n) {
    const auto part = upload::put_file(url_of(p.upload_part(key, id, n, now, 300)), file,
                                       bounds[n - 1], bounds[n] - bounds[n - 1], TransferOptions{});
    INFO(part.describe());
    REQUIRE(part.ok);
    REQUIRE(looks_like_etag(part.etag));
    parts.push_back(CompletedPart{n, part.etag});
  }
  const std::string complete_url = url_of(p.complete_multipart_upload(key, id, now, 300));

  SECTION("a wrong ETag is refused: 400 InvalidPart, not retryable") {
    auto wrong = parts;
    wrong[1].etag = "\"00000000000000000000000000000000\"";
    const auto refused = upload::complete_multipart_upload(complete_url, wrong, TransferOptions{});
    CHECK_FALSE(refused.ok);
    CHECK(refused.http_status == 400);
    CHECK(refused.error_code == "InvalidPart");
    CHECK_FALSE(refused.retryable());
  }
  SECTION("parts are listed ascending: a bad list is not even sent") {
    const auto refused = upload::complete_multipart_upload(
        complete_url, {parts[1], parts[0], parts[2]}, TransferOptions{});
    CHECK_FALSE(refused.ok);
    CHECK(refused.http_status == 0);
    CHECK(refused.local_error.find("ascending") != std::string::npos);
    CHECK_FALSE(refused.retryable());
  }
  const auto done = upload::complete_multipart_upload(complete_url, parts, TransferOptions{});
  INFO(done.describe());
  REQUIRE(done.ok);
  CHECK(done.http_status == 200);
  CHECK(ferry::sha256_hex(ferry::test::read_file(store.object_file("ferry-test", key))) ==
        ferry::sha256_hex(ferry::test::read_file(file)));
  CHECK(stored_sha256(p, key) == ferry::sha256_hex(ferry::test::read_file(file)));
}

TEST_CASE("AbortMultipartUpload drops the upload: its parts are refused afterwards") {
  S3Store& store = shared_store();
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  write_pattern(file, 64 * 1024, 3);
  const std::string key = "out/inv-3/invt-3.log";
  const std::int64_t now = unix_now();
  const auto created = upload::create_multipart_upload(
      url_of(p.create_multipart_upload(key, now, 300)), TransferOptions{});
  REQUIRE(created.ok);
  const std::string& id = created.upload_id;
  REQUIRE(upload::put_file(url_of(p.upload_part(key, id, 1, now, 300)), file, 0, 1024,
                           TransferOptions{})
              .ok);

  const auto aborted =
      upload::abort_multipart_upload(url_of(p.abort_multipart_upload(key, id, now, 300)), {});
  INFO(aborted.describe());
  CHECK(aborted.ok);
  CHECK(aborted.http_status == 204);

  const auto late = upload::put_file(url_of(p.upload_part(key, id, 2, now, 300)), file, 0, 1024,
                                     TransferOptions{});
  CHECK_FALSE(late.ok);
  CHECK(late.http_status == 404);
  CHECK(late.error_code == "NoSuchUpload");
  CHECK_FALSE(late.retryable());
  const auto again =
      upload::abort_multipart_upload(url_of(p.abort_multipart_upload(key, id, now, 300)), {});
  CHECK(again.error_code == "NoSuchUpload");
}

TEST_CASE("refusals: wrong secret, no such bucket, an expired URL; none retryable, no URL shown") {
  S3Store& store = shared_store();
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  write_pattern(file, 4096, 4);
  const std::string key = "out/inv-4/invt-4.log";
  const std::int64_t now = unix_now();

  SECTION("a URL signed with the wrong secret: 403 SignatureDoesNotMatch") {
    const auto p = presigner_for(store, "ferry-test", "not-the-secret");
    for (const auto& o :
         {upload::put_file(url_of(p.put_object(key, now, 300)), file, 0, 4096, {}),
          upload::create_multipart_upload(url_of(p.create_multipart_upload(key, now, 300)), {})}) {
      INFO(o.describe());
      CHECK_FALSE(o.ok);
      CHECK(o.http_status == 403);
      CHECK(o.error_code == "SignatureDoesNotMatch");
      CHECK_FALSE(o.retryable());
      CHECK_FALSE(o.url_expired());
      CHECK(o.describe().starts_with("HTTP 403 SignatureDoesNotMatch: The request signature"));
      check_no_url(o);
    }
  }
  SECTION("a bucket that does not exist: 404 NoSuchBucket") {
    const auto p = presigner_for(store, "no-such-bucket");
    const auto o = upload::put_file(url_of(p.put_object(key, now, 300)), file, 0, 4096, {});
    CHECK(o.http_status == 404);
    CHECK(o.error_code == "NoSuchBucket");
    CHECK_FALSE(o.retryable());
    check_no_url(o);
  }
  SECTION("a URL past its expiry: 403 AccessDenied, url_expired") {
    const auto p = presigner_for(store);
    const auto o = upload::put_file(url_of(p.put_object(key, now - 600, 60)), file, 0, 4096, {});
    INFO(o.describe());
    CHECK(o.http_status == 403);
    CHECK(o.error_code == "AccessDenied");
    CHECK(o.url_expired());
    CHECK_FALSE(o.retryable());
    check_no_url(o);
  }
}

TEST_CASE("the store stopped: a transport error, retryable; started again, the upload goes") {
  S3Store store;
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  write_pattern(file, 256 * 1024, 5);
  const std::string key = "out/inv-5/invt-5.log";
  REQUIRE(upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 1024, {}).ok);

  store.stop();
  const auto down =
      upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 256 * 1024, {});
  INFO(down.describe());
  CHECK_FALSE(down.ok);
  CHECK(down.http_status == 0);
  CHECK_FALSE(down.transport_error.empty());
  CHECK(down.retryable());
  CHECK(down.describe().starts_with("transport: "));
  check_no_url(down);

  store.start();
  const auto up =
      upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 256 * 1024, {});
  INFO(up.describe());
  REQUIRE(up.ok);
  CHECK(stored_sha256(p, key) == ferry::sha256_hex(ferry::test::read_file(file)));
}

TEST_CASE("https: the store's certificate is verified; trusted through ca_file, the upload goes") {
  S3StoreOptions tls;
  tls.tls = true;
  S3Store store(tls);
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "output.log";
  write_pattern(file, 6 * kMiB, 8);
  const std::string key = "out/inv-7/invt-7.log";

  const auto untrusted =
      upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 6 * kMiB, {});
  INFO(untrusted.describe());
  CHECK_FALSE(untrusted.ok);
  CHECK(untrusted.http_status == 0);
  CHECK(untrusted.transport_error.find("certificate") != std::string::npos);
  CHECK_FALSE(fs::exists(store.object_file("ferry-test", key)));

  TransferOptions missing_ca;
  missing_ca.ca_file = (dir / "no-such-ca.pem").string();
  const auto misconfigured =
      upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 6 * kMiB, missing_ca);
  INFO(misconfigured.describe());
  CHECK(misconfigured.local_error.find("no-such-ca.pem") != std::string::npos);
  CHECK_FALSE(misconfigured.retryable());

  TransferOptions trusting;
  trusting.ca_file = store.ca_file();
  const auto trusted =
      upload::put_file(url_of(p.put_object(key, unix_now(), 300)), file, 0, 6 * kMiB, trusting);
  INFO(trusted.describe());
  REQUIRE(trusted.ok);
  CHECK(ferry::sha256_hex(ferry::test::read_file(store.object_file("ferry-test", key))) ==
        ferry::sha256_hex(ferry::test::read_file(file)));
}

TEST_CASE("a stalled upload stops within about a second of its cancel flag or its deadline") {
  S3Store& store = shared_store();
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "big.log";
  write_sparse(file, 256 * kMiB);  // far more than the socket buffers hold
  const std::string url = url_of(p.put_object("out/inv-6/invt-6.log", unix_now(), 300));
  store.pause();
  Resume resume{store};

  SECTION("cancel") {
    std::atomic<bool> cancel{false};
    TransferOptions options;
    options.cancel = &cancel;
    TransferOutcome outcome;
    std::thread worker([&] { outcome = upload::put_file(url, file, 0, 256 * kMiB, options); });
    std::this_thread::sleep_for(milliseconds(500));
    const auto cancelled_at = steady_clock::now();
    cancel = true;
    worker.join();
    const auto took = steady_clock::now() - cancelled_at;
    INFO(outcome.describe());
    CHECK(outcome.cancelled);
    CHECK_FALSE(outcome.ok);
    CHECK_FALSE(outcome.retryable());
    CHECK(outcome.describe() == "cancelled: the upload was cancelled");
    CHECK(took < ferry::test::time_bound(milliseconds(2000), milliseconds(5000)));
  }
  SECTION("deadline") {
    TransferOptions options;
    const auto start = steady_clock::now();
    options.deadline = start + milliseconds(700);
    const auto outcome = upload::put_file(url, file, 0, 256 * kMiB, options);
    const auto took = steady_clock::now() - start;
    INFO(outcome.describe());
    CHECK(outcome.cancelled);
    CHECK_FALSE(outcome.retryable());
    CHECK(outcome.describe() == "cancelled: the deadline passed");
    CHECK(took >= milliseconds(650));  // libcurl's clock may be a little ahead of ours
    CHECK(took < ferry::test::time_bound(milliseconds(2700), milliseconds(6000)));
  }
  SECTION("a deadline already passed sends nothing") {
    TransferOptions options;
    options.deadline = steady_clock::now() - milliseconds(1);
    const auto outcome = upload::put_file(url, file, 0, 1024, options);
    CHECK(outcome.cancelled);
    CHECK(outcome.http_status == 0);
  }
}

TEST_CASE("a range past the file's end, or no file, is a local error and sends nothing") {
  ferry::test::CannedHttpServer server({});
  TempDir dir("ferry-upload");
  const fs::path file = dir / "short.log";
  write_pattern(file, 100, 6);
  const std::string url = server.url("/b/k?X-Amz-Signature=secret");
  for (const auto& o :
       {upload::put_file(url, file, 50, 51, {}), upload::put_file(url, file, 101, 0, {}),
        upload::put_file(url, dir / "missing.log", 0, 1, {}),
        upload::put_file(url, dir.path(), 0, 1, {})}) {
    INFO(o.describe());
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.local_error.empty());
    CHECK(o.describe().starts_with("local: "));
    CHECK_FALSE(o.retryable());
  }
  CHECK(upload::put_file(url, file, 100, 0, {}).ok);  // an empty range at the end is fine
  CHECK(server.requests().size() == 1);
  CHECK_FALSE(upload::put_file("ftp://127.0.0.1/x", file, 0, 1, {}).ok);
}

TEST_CASE("the answers a store rarely gives: 200 with an <Error>, no UploadId, a 503 SlowDown") {
  const std::string late_error =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + std::string(2000, ' ') +
      "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try "
      "again.</Message></Error>";
  const std::string slow_down =
      "<Error><Code>SlowDown</Code><Message>Please reduce your request "
      "rate.</Message></Error>" +
      std::string(200 * 1024, ' ');  // past the 64 KiB kept
  ferry::test::CannedHttpServer server({
      {200, {}, late_error},
      {200,
       {},
       "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>"},
      {503, {}, slow_down},
      {200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\""}, ""},
  });
  TempDir dir("ferry-upload");
  const fs::path file = dir / "part.log";
  write_pattern(file, 1024, 7);
  // A proxy in the environment is not used: the answers come from the server itself.
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);

  const std::vector<CompletedPart> parts = {{1, "\"a&b\""}, {2, "\"c\""}};
  const auto complete = upload::complete_multipart_upload(server.url("/b/k?uploadId=u"), parts, {});
  CHECK_FALSE(complete.ok);
  CHECK(complete.http_status == 200);
  CHECK(complete.error_code == "InternalError");
  CHECK(complete.retryable());

  const auto create = upload::create_multipart_upload(server.url("/b/k?uploads"), {});
  CHECK_FALSE(create.ok);
  CHECK(create.describe() == "HTTP 200: the answer carries no UploadId");
  CHECK_FALSE(create.retryable());

  const auto slow = upload::put_file(server.url("/b/k?partNumber=1&uploadId=u"), file, 0, 1024, {});
  CHECK(slow.http_status == 503);
  CHECK(slow.error_code == "SlowDown");
  CHECK(slow.error_message == "Please reduce your request rate.");
  CHECK(slow.retryable());

  const auto put = upload::put_file(server.url("/b/k"), file, 0, 1024, {});
  CHECK(put.ok);
  CHECK(put.etag == "\"d41d8cd98f00b204e9800998ecf8427e\"");
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");

  // What went on the wire: the methods, Content-Length and no Expect, the XML body.
  const auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  const std::string expected_body = *upload::s3_xml::complete_body(parts);
  CHECK(requests[0].head.starts_with("POST /b/k?uploadId=u HTTP/1.1\r\n"));
  CHECK(requests[0].header("content-type") == "application/xml");
  CHECK(requests[0].body == expected_body);
  CHECK(requests[1].head.starts_with("POST /b/k?uploads HTTP/1.1\r\n"));
  CHECK(requests[1].header("content-type").empty());
  CHECK(requests[1].header("content-length") == "0");
  CHECK(requests[3].head.starts_with("PUT /b/k HTTP/1.1\r\n"));
  CHECK(requests[3].header("content-length") == "1024");
  CHECK(requests[3].body == ferry::test::read_file(file));
  for (const auto& r : requests) {
    CHECK(r.header("expect").empty());
    CHECK(r.header("transfer-encoding").empty());
  }
}

// Run by hand (`ferry_agent_upload_tests "[.rss]"`): a 1 GiB part must not grow the resident set.
TEST_CASE("a 1 GiB put keeps the resident set flat", "[.rss]") {
  S3Store& store = shared_store();
  const auto p = presigner_for(store);
  TempDir dir("ferry-upload");
  const fs::path file = dir / "huge.log";
  write_sparse(file, 1024 * kMiB);
  const auto kib = [](const char* field) {
    const std::string status = ferry::test::read_file("/proc/self/status");
    const auto at = status.find(field);
    return at == std::string::npos
               ? 0L
               : std::strtol(status.c_str() + at + std::strlen(field), nullptr, 10);
  };
  const auto hwm_kib = [&] { return kib("VmHWM:"); };
  // Run alone, nothing has loaded libcurl yet: what loading it costs.
  const long rss_unloaded = kib("VmRSS:");
  const long anon_unloaded = kib("RssAnon:");
  REQUIRE(upload::load_curl().has_value());
  WARN("VmRSS " << rss_unloaded << " KiB before libcurl is loaded, " << kib("VmRSS:")
                << " KiB after (RssAnon " << anon_unloaded << " -> " << kib("RssAnon:") << " KiB)");
  const long before = hwm_kib();
  const auto start = steady_clock::now();
  const auto o = upload::put_file(url_of(p.put_object("out/huge.log", unix_now(), 300)), file, 0,
                                  1024 * kMiB, {});
  const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
  const long after = hwm_kib();
  INFO(o.describe());
  REQUIRE(o.ok);
  WARN("VmHWM before " << before << " KiB, after " << after << " KiB; 1 GiB in " << seconds
                       << " s");
  CHECK(after - before < 8 * 1024);
  fs::remove(store.object_file("ferry-test", "out/huge.log"));
}
