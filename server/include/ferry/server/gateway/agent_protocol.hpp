// The agent protocol's wire constants (docs/protocol.md): its version, its request headers and
// its error codes beyond the common ones.
#pragma once

#include <cstdint>

namespace ferry::server {

// The agent protocol version this server speaks; sent back in every reply as ProtocolVersion.
inline constexpr int64_t kAgentProtocolVersion = 1;

// Request headers of the agent protocol (lowercase, as HttpRequest keeps them).
inline constexpr const char* kHeaderInstance = "x-ferry-instance";
inline constexpr const char* kHeaderTimestamp = "x-ferry-timestamp";
inline constexpr const char* kHeaderNonce = "x-ferry-nonce";
inline constexpr const char* kHeaderSignature = "x-ferry-signature";
inline constexpr const char* kHeaderProtocol = "x-ferry-protocol";

// Refusals of a signed request (registration's own are in domain/agent_registration.hpp).
namespace agent_codes {
inline constexpr const char* kInvalidAuthorization = "AuthFailure.InvalidAuthorization";
inline constexpr const char* kInstanceNotFound = "AuthFailure.InstanceNotFound";
inline constexpr const char* kNonceReused = "AuthFailure.NonceReused";
inline constexpr const char* kUnauthorizedOperation = "AuthFailure.UnauthorizedOperation";
inline constexpr const char* kUnsupportedProtocolVersion = "UnsupportedProtocolVersion";
// PresignOutputUpload's refusals (agent_outputs.cpp).
inline constexpr const char* kNoOutputBucket = "FailedOperation.NoOutputBucket";
inline constexpr const char* kTaskFinished = "FailedOperation.TaskFinished";
inline constexpr const char* kBucketCredentials = "FailedOperation.BucketCredentials";
// UploadTaskOutput for a task whose output goes to its bucket.
inline constexpr const char* kOutputBucketNamed = "FailedOperation.OutputBucketNamed";
}  // namespace agent_codes

}  // namespace ferry::server
