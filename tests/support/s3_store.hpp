// A real S3-compatible store on loopback for tests: tests/s3/s3_store.js (s3rver, made as strict
// as S3 about signatures and multipart; see that file) run with node in a directory of its own.
// Compiled once into ferry_test_support.
//
// Nothing is skipped: when node or the s3rver module is missing, the constructor throws, and the
// test fails saying to run scripts/test's setup (`npm ci --prefix tests/s3`).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "process.hpp"

namespace ferry::test {

struct S3StoreOptions {
  // Created at every start (existing ones are kept, with their objects).
  std::vector<std::string> buckets = {"ferry-test"};
  // Where the objects are kept; empty: a new temporary directory, removed by the destructor.
  std::filesystem::path directory = {};
  // 0: any free port (the same one again after stop() and start()).
  std::uint16_t port = 0;
  // CompleteMultipartUpload refuses parts (but the last) under this size: S3's 5 MiB.
  std::uint64_t min_part_size = 5 * 1024 * 1024;
  // HTTPS with a self-signed certificate for 127.0.0.1 and localhost (ca_file()), made with
  // /usr/bin/openssl once per store.
  bool tls = false;
};

class S3Store {
 public:
  // s3rver's fixed credentials and the region the tests sign for.
  static constexpr std::string_view kAccessKeyId = "S3RVER";
  static constexpr std::string_view kSecretAccessKey = "S3RVER";
  static constexpr std::string_view kRegion = "us-east-1";

  // Starts the store and waits until it listens; throws std::runtime_error saying why it could
  // not (node or s3rver missing, the launcher's stderr otherwise).
  explicit S3Store(S3StoreOptions options = {});
  // Stops it (SIGTERM) and removes a directory it made.
  ~S3Store();
  S3Store(const S3Store&) = delete;
  S3Store& operator=(const S3Store&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" ("https://" with tls)
  [[nodiscard]] std::string endpoint() const;
  // With tls: the certificate clients must trust (PEM); "" otherwise.
  [[nodiscard]] std::string ca_file() const;
  // The path-style bucket URL: "http://127.0.0.1:PORT/bucket".
  [[nodiscard]] std::string bucket_url(std::string_view bucket = "ferry-test") const;
  [[nodiscard]] const std::filesystem::path& directory() const { return directory_; }
  // Where s3rver keeps an object's bytes (tests may compare them directly).
  [[nodiscard]] std::filesystem::path object_file(std::string_view bucket,
                                                  std::string_view key) const;

  // SIGTERM and wait for the end (open connections are dropped): requests then fail to connect.
  void stop();
  // Starts it again on the same port and directory; throws as the constructor does.
  void start();
  [[nodiscard]] bool running() const;
  // SIGSTOP / SIGCONT: the store still accepts connections (the kernel does) but answers nothing
  // and reads nothing, so that a request stalls.
  void pause() const;
  void resume() const;
  [[nodiscard]] pid_t pid() const;

 private:
  void launch();

  S3StoreOptions options_;
  std::filesystem::path log_dir_;  // the launcher's stderr, and the store's default directory
  std::filesystem::path directory_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
  int launches_ = 0;
};

}  // namespace ferry::test
