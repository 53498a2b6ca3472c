// Presigned URLs for a task's output object (AWS Signature Version 4, query-presigned, which COS
// and every S3-compatible store accept), made by ferry-server so that the agent uploads without
// ever holding the bucket's secret, and the credentials each bucket is signed with.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/core/sigv4.hpp"
#include "ferry/server/cos/bucket_url.hpp"

namespace ferry::server::cos {

// The most parts of one multipart upload (S3 and COS).
inline constexpr int kMaxPartNumber = 10000;

// What a bucket is signed with. The secret and the token never go into a message or a log.
struct BucketCredentials {
  sigv4::Credentials credentials;
  std::string region;  // "" when the configuration leaves it to the bucket's host
};

// A request the agent may send once, until the URL expires.
struct PresignedRequest {
  std::string method;  // "PUT", "POST", "DELETE" or "GET"
  std::string url;
};

// Signs requests on the objects of one bucket. The region is the one the bucket's host names
// (cos.<region>.myqcloud.com, s3.<region>.amazonaws.com), else the credentials' own; with
// neither, every request is refused. Each call takes the signing time (Unix seconds) and the
// URL's lifetime (1 s to seven days); keys are object keys as stored ("out/inv-1/invt-1.log"),
// encoded here. Errors: InvalidParameterValue ("SigV4: ..." from the signer, or a bad part
// number or upload id), never with a secret in them.
class Presigner {
 public:
  Presigner(BucketUrl bucket, BucketCredentials credentials);

  [[nodiscard]] const std::string& region() const { return region_; }

  // PUT Object: the whole output in one request.
  [[nodiscard]] Expected<PresignedRequest> put_object(std::string_view key, std::int64_t now,
                                                      std::int64_t expires_seconds) const;
  // GET Object (reading an output back; the S3 documentation's published presign example).
  [[nodiscard]] Expected<PresignedRequest> get_object(std::string_view key, std::int64_t now,
                                                      std::int64_t expires_seconds) const;
  // CreateMultipartUpload: POST /key?uploads.
  [[nodiscard]] Expected<PresignedRequest> create_multipart_upload(
      std::string_view key, std::int64_t now, std::int64_t expires_seconds) const;
  // UploadPart: PUT /key?partNumber=N&uploadId=U, N in 1..10000.
  [[nodiscard]] Expected<PresignedRequest> upload_part(std::string_view key,
                                                       std::string_view upload_id, int part_number,
                                                       std::int64_t now,
                                                       std::int64_t expires_seconds) const;
  // CompleteMultipartUpload: POST /key?uploadId=U (the body lists the parts' ETags).
  [[nodiscard]] Expected<PresignedRequest> complete_multipart_upload(
      std::string_view key, std::string_view upload_id, std::int64_t now,
      std::int64_t expires_seconds) const;
  // AbortMultipartUpload: DELETE /key?uploadId=U.
  [[nodiscard]] Expected<PresignedRequest> abort_multipart_upload(
      std::string_view key, std::string_view upload_id, std::int64_t now,
      std::int64_t expires_seconds) const;

 private:
  [[nodiscard]] Expected<PresignedRequest> presign(std::string method, std::string_view key,
                                                   std::vector<sigv4::QueryParam> query,
                                                   std::int64_t now,
                                                   std::int64_t expires_seconds) const;

  BucketUrl bucket_;
  sigv4::Credentials credentials_;
  std::string region_;
};

// The server's credentials configuration: a bucket URL (as parse_configured_bucket_url reads it,
// matched in its normal form BucketUrl::to_string()) or "default", to the credentials it is
// signed with.
using BucketCredentialsConfig = std::map<std::string, BucketCredentials>;
// The environment, injected: the value of a variable, or nullopt when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view)>;

inline constexpr std::string_view kDefaultBucketEntry = "default";

// The credentials of `bucket`, in this order: the entry of that bucket, the "default" entry,
// then AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, AWS_REGION) from
// `environment`. The region is then settled as Presigner does it (the host's, else the entry's
// or AWS_REGION); a bucket with no credentials or no region is refused.
//
// The refusal's code is InvalidParameterValue.InvalidOutputCOSBucketUrl (kInvalidBucketUrl):
// RunCommand will answer it for the OutputCOSBucketUrl the caller gave, and the caller's remedy
// is to name another bucket (or ask the operator to configure this one). The seeds have no code
// for "the server holds no key for this bucket": ResourceNotFound.CosBucketNotFoundCode would
// claim the bucket does not exist, which the server does not know, and UnauthorizedOperation.*
// speaks of the caller's own CAM rights. The message names the bucket, never a key.
Expected<BucketCredentials> resolve_bucket_credentials(const BucketUrl& bucket,
                                                       const BucketCredentialsConfig& config,
                                                       const EnvironmentLookup& environment);

}  // namespace ferry::server::cos
