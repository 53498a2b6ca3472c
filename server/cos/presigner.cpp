#include "ferry/server/cos/presigner.hpp"

#include <algorithm>
#include <utility>

#include "ferry/core/error_codes.hpp"

namespace ferry::server::cos {
namespace {

Error presigner_invalid(std::string_view reason) {
  return Error{codes::kInvalidParameterValue, "presigning: " + std::string(reason)};
}

bool presigner_has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

Status check_upload_id(std::string_view upload_id) {
  if (upload_id.empty() || upload_id.size() > 1024 || presigner_has_control(upload_id)) {
    return presigner_invalid("the upload id must be 1 to 1024 visible characters");
  }
  return {};
}

std::string settle_region(const BucketUrl& bucket, std::string_view configured) {
  return bucket.region.empty() ? std::string(configured) : bucket.region;
}

}  // namespace

Presigner::Presigner(BucketUrl bucket, BucketCredentials credentials)
    : bucket_(std::move(bucket)),
      credentials_(std::move(credentials.credentials)),
      region_(settle_region(bucket_, credentials.region)) {}

Expected<PresignedRequest> Presigner::presign(std::string method, std::string_view key,
                                              std::vector<sigv4::QueryParam> query,
                                              std::int64_t now,
                                              std::int64_t expires_seconds) const {
  if (key.empty() || presigner_has_control(key)) {
    return presigner_invalid("the object key must be non-empty, without control characters");
  }
  if (region_.empty()) {
    return presigner_invalid("no region for bucket " + bucket_.to_string());
  }
  sigv4::PresignRequest r;
  r.method = method;
  r.scheme = bucket_.scheme;
  r.host = bucket_.authority();
  r.path = bucket_.object_path(key);
  r.query = std::move(query);
  r.region = region_;
  r.service = "s3";
  r.timestamp = now;
  r.expires_seconds = expires_seconds;
  r.path_encoding = sigv4::PathEncoding::kS3;
  auto url = sigv4::presign_url(r, credentials_);
  if (!url) {
    return url.error();
  }
  return PresignedRequest{std::move(method), std::move(*url)};
}

Expected<PresignedRequest> Presigner::put_object(std::string_view key, std::int64_t now,
                                                 std::int64_t expires_seconds) const {
  return presign("PUT", key, {}, now, expires_seconds);
}

Expected<PresignedRequest> Presigner::get_object(std::string_view key, std::int64_t now,
                                                 std::int64_t expires_seconds) const {
  return presign("GET", key, {}, now, expires_seconds);
}

Expected<PresignedRequest> Presigner::create_multipart_upload(std::string_view key,
                                                              std::int64_t now,
                                                              std::int64_t expires_seconds) const {
  return presign("POST", key, {{"uploads", ""}}, now, expires_seconds);
}

Expected<PresignedRequest> Presigner::upload_part(std::string_view key, std::string_view upload_id,
                                                  int part_number, std::int64_t now,
                                                  std::int64_t expires_seconds) const {
  if (part_number < 1 || part_number > kMaxPartNumber) {
    return presigner_invalid("the part number must be 1 to 10000, not " +
                             std::to_string(part_number));
  }
  if (auto ok = check_upload_id(upload_id); !ok) {
    return ok.error();
  }
  return presign(
      "PUT", key,
      {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}}, now,
      expires_seconds);
}

Expected<PresignedRequest> Presigner::complete_multipart_upload(
    std::string_view key, std::string_view upload_id, std::int64_t now,
    std::int64_t expires_seconds) const {
  if (auto ok = check_upload_id(upload_id); !ok) {
    return ok.error();
  }
  return presign("POST", key, {{"uploadId", std::string(upload_id)}}, now, expires_seconds);
}

Expected<PresignedRequest> Presigner::abort_multipart_upload(std::string_view key,
                                                             std::string_view upload_id,
                                                             std::int64_t now,
                                                             std::int64_t expires_seconds) const {
  if (auto ok = check_upload_id(upload_id); !ok) {
    return ok.error();
  }
  return presign("DELETE", key, {{"uploadId", std::string(upload_id)}}, now, expires_seconds);
}

Expected<BucketCredentials> resolve_bucket_credentials(const BucketUrl& bucket,
                                                       const BucketCredentialsConfig& config,
                                                       const EnvironmentLookup& environment) {
  const std::string name = bucket.to_string();
  const BucketCredentials* chosen = nullptr;
  for (const auto& [entry, credentials] : config) {
    if (entry == kDefaultBucketEntry) {
      continue;
    }
    const auto parsed = parse_configured_bucket_url(entry);
    if (parsed && parsed->to_string() == name) {
      chosen = &credentials;
      break;
    }
  }
  if (chosen == nullptr) {
    if (const auto d = config.find(std::string(kDefaultBucketEntry)); d != config.end()) {
      chosen = &d->second;
    }
  }
  BucketCredentials out;
  if (chosen != nullptr) {
    out = *chosen;
  } else {
    const auto env = [&](std::string_view variable) {
      return environment ? environment(variable).value_or("") : std::string{};
    };
    out.credentials.access_key_id = env("AWS_ACCESS_KEY_ID");
    out.credentials.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    out.credentials.session_token = env("AWS_SESSION_TOKEN");
    out.region = env("AWS_REGION");
  }
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty()) {
    return Error{kInvalidBucketUrl,
                 "OutputCOSBucketUrl: the server holds no credentials for bucket " + name +
                     " (no entry for it, no default, no AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY)"};
  }
  out.region = settle_region(bucket, out.region);
  if (out.region.empty()) {
    return Error{kInvalidBucketUrl, "OutputCOSBucketUrl: the server knows no region for bucket " +
                                        name +
                                        " (its host names none; set one in its credentials "
                                        "entry or AWS_REGION)"};
  }
  return out;
}

}  // namespace ferry::server::cos
