#include "ferry/server/cos/output_buckets.hpp"

#include <cstdlib>
#include <optional>

namespace ferry::server::cos {

Expected<BucketUrl> parse_output_bucket_url(std::string_view url, const OutputBuckets& buckets) {
  return parse_bucket_url(url, buckets.allow_http_hosts);
}

Expected<UsableBucket> usable_bucket(std::string_view url, const OutputBuckets& buckets) {
  auto parsed = parse_output_bucket_url(url, buckets);
  if (!parsed) {
    return parsed.error();
  }
  auto credentials = resolve_bucket_credentials(*parsed, buckets.credentials, buckets.environment);
  if (!credentials) {
    return credentials.error();
  }
  return UsableBucket{std::move(*parsed), std::move(*credentials)};
}

EnvironmentLookup process_environment() {
  // The server never calls setenv, so reading the environment from any thread is safe.
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

Expected<PresignedRequest> presign_output_download(const OutputBuckets& buckets,
                                                   std::string_view bucket_url,
                                                   std::string_view key_prefix,
                                                   std::string_view invocation_id,
                                                   std::string_view task_id, std::int64_t now) {
  auto bucket = usable_bucket(bucket_url, buckets);
  if (!bucket) {
    return bucket.error();
  }
  return Presigner(bucket->url, bucket->credentials)
      .get_object(object_key(key_prefix, invocation_id, task_id), now, buckets.url_ttl_s);
}

}  // namespace ferry::server::cos
