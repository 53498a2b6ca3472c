// What ferry-server knows about the output buckets as a whole (its configuration keys `buckets`,
// `allow_http_bucket_hosts` and `output_url_ttl_s`), and the two checks an OutputCOSBucketUrl
// passes: its syntax whenever a command names it, and at RunCommand / InvokeCommand (and an
// invoker's firing) also that the server can sign for it, so that a task never starts with a
// bucket nobody can upload to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/sigv4.hpp"
#include "ferry/server/cos/bucket_url.hpp"
#include "ferry/server/cos/presigner.hpp"

namespace ferry::server::cos {

// The lifetime of the presigned URLs the agents get (output_url_ttl_s): one hour by default,
// from a minute (a slow part must still be sendable) to the seven days SigV4 allows.
inline constexpr std::int64_t kDefaultUrlTtlSeconds = 3600;
inline constexpr std::int64_t kMinUrlTtlSeconds = 60;
inline constexpr std::int64_t kMaxUrlTtlSeconds = sigv4::kMaxExpiresSeconds;

struct OutputBuckets {
  // By bucket URL in its normal form (BucketUrl::to_string()) or "default" (kDefaultBucketEntry).
  BucketCredentialsConfig credentials;
  // "host:port" entries that may be reached over http (parse_bucket_url).
  std::vector<std::string> allow_http_hosts;
  // The AWS_* fallback of resolve_bucket_credentials. Empty: no environment (the tests' default);
  // ferry-server gives process_environment().
  EnvironmentLookup environment;
  std::int64_t url_ttl_s = kDefaultUrlTtlSeconds;
};

// OutputCOSBucketUrl as this server accepts it: parse_bucket_url with its http hosts.
// InvalidParameterValue.InvalidOutputCOSBucketUrl.
Expected<BucketUrl> parse_output_bucket_url(std::string_view url, const OutputBuckets& buckets);

// A bucket a task may upload to: the URL accepted, and credentials with a region held for it.
struct UsableBucket {
  BucketUrl url;
  BucketCredentials credentials;  // secret: never in a message or a log
};
// parse_output_bucket_url, then resolve_bucket_credentials. Refusals are
// InvalidParameterValue.InvalidOutputCOSBucketUrl; those of the credentials name the bucket,
// never a key.
Expected<UsableBucket> usable_bucket(std::string_view url, const OutputBuckets& buckets);

// A presigned GET of a task's output object, valid url_ttl_s from `now` (Unix seconds): the
// DownloadUrl of DescribeInvocationTaskOutput, so that `ferry output` reads a bucket it holds no
// key of. The bucket is checked as for an upload; the key is the one the agent uploaded to.
Expected<PresignedRequest> presign_output_download(const OutputBuckets& buckets,
                                                   std::string_view bucket_url,
                                                   std::string_view key_prefix,
                                                   std::string_view invocation_id,
                                                   std::string_view task_id, std::int64_t now);

// The process environment (getenv): the AWS_* variables ferry-server was started with.
EnvironmentLookup process_environment();

}  // namespace ferry::server::cos
