// The bucket of RunCommand's OutputCOSBucketUrl, and where a task's output goes in it.
//
// Two forms, told apart by the path:
//   virtual-hosted  https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com   (no path:
//                   the bucket is the host's first label; COS, AWS, any store with DNS per bucket)
//   path-style      https://s3.example.internal:9000/bucket   (one path segment: the bucket;
//                   MinIO, Ceph and other self-hosted stores)
// Rules: https, or http to a host:port the server allows (allow_http_bucket_hosts); no user
// information, query or fragment; at most one path segment, a trailing '/' tolerated; the host
// a DNS name or an IP literal ([IPv6] in brackets); a bucket name of 3 to 63 lowercase letters,
// digits, '-' (and '.' in path style), starting and ending with a letter or digit, as S3 and COS
// name buckets. Every refusal is InvalidParameterValue.InvalidOutputCOSBucketUrl.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::server::cos {

inline constexpr const char* kInvalidBucketUrl = "InvalidParameterValue.InvalidOutputCOSBucketUrl";

enum class BucketStyle {
  kVirtualHosted,  // requests go to bucket.endpoint/key
  kPathStyle,      // requests go to endpoint/bucket/key
};

struct BucketUrl {
  std::string scheme;      // "https" or "http"
  std::string host;        // lowercase; an IPv6 address without brackets
  std::uint16_t port = 0;  // 0: the scheme's default (a default port given is stored as 0)
  std::string bucket;
  BucketStyle style = BucketStyle::kVirtualHosted;
  // What the host says: "ap-beijing" for *.cos.ap-beijing.myqcloud.com, "eu-west-1" for
  // *.s3.eu-west-1.amazonaws.com; "" when it says nothing (s3.amazonaws.com, self-hosted).
  std::string region;

  // host[:port] as the Host header carries it: IPv6 in brackets, the port only when not default.
  [[nodiscard]] std::string authority() const;
  // scheme://authority for virtual-hosted buckets, scheme://authority/bucket for path-style: one
  // spelling per bucket, what credentials are looked up by.
  [[nodiscard]] std::string to_string() const;
  // The request path of an object: "/" + key (virtual-hosted) or "/bucket/" + key (path-style),
  // the key encoded as SigV4 and S3 want it (sigv4::uri_encode, '/' kept).
  [[nodiscard]] std::string object_path(std::string_view key) const;
};

// Parses OutputCOSBucketUrl. `allow_http_hosts` are "host:port" entries ("[::1]:9000" for
// IPv6), compared without regard to case with the URL's host and port (80 when none is given);
// only those may be http.
Expected<BucketUrl> parse_bucket_url(std::string_view url,
                                     const std::vector<std::string>& allow_http_hosts);

// A bucket URL of the server's own configuration (a credentials entry): the operator wrote it,
// so http is accepted for any host; every other rule is parse_bucket_url's.
Expected<BucketUrl> parse_configured_bucket_url(std::string_view url);

// The key of a task's output: "{prefix}/{invocation_id}/{task_id}.log", empty parts (and their
// '/') left out, a trailing '/' of the prefix not doubled ("logs/" gives "logs/inv-1/invt-1.log").
std::string object_key(std::string_view prefix, std::string_view invocation_id,
                       std::string_view task_id);

// The object's URL without any signature (TaskResult.OutputUrl): scheme://authority + object_path.
std::string object_url(const BucketUrl& bucket, std::string_view key);

}  // namespace ferry::server::cos
