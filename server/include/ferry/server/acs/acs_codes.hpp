// The Cloud Assistant API's error codes that its actions answer, spelled as seed 004's table (and
// Alibaba's common codes) spell them; the domain's own (repeat modes) are in core's
// error_codes.hpp, in the same namespace. The HTTP status of each is the envelope's table
// (acs_envelope.cpp).
#pragma once

#include "ferry/core/error_codes.hpp"

namespace ferry::codes::acs {

// Instances, commands, invocations, activations that do not exist.
inline constexpr const char* kInstanceNotFound = "InvalidInstance.NotFound";
inline constexpr const char* kCmdIdNotFound = "InvalidCmdId.NotFound";
inline constexpr const char* kInvokeIdNotFound = "InvalidInvokeId.NotFound";
inline constexpr const char* kActivationNotFound = "InvalidActivationId.NotFound";
inline constexpr const char* kResourceTagInstanceNotFound = "InvalidResourceTag.InstanceNotFound";

// Command fields.
inline constexpr const char* kCmdTypeNotFound = "InvalidCmdType.NotFound";
inline constexpr const char* kCmdContentDecodeError = "CmdContent.DecodeError";
inline constexpr const char* kCmdContentExceedLimit = "CmdContent.ExceedLimit";
inline constexpr const char* kCmdNameExceedLimit = "CmdName.ExceedLimit";
inline constexpr const char* kCmdDescExceedLimit = "CmdDesc.ExceedLimit";
inline constexpr const char* kCmdCountExceedQuota = "CmdCount.ExceedQuota";
inline constexpr const char* kCmdNameDuplicated = "InvalidParameter.Name";
inline constexpr const char* kInvalidWorkingDir = "InvalidParameter.WorkingDir";
inline constexpr const char* kInvalidUsername = "InvalidParameter.Username";
inline constexpr const char* kUsernameExceedLimit = "Username.ExceedLimit";
inline constexpr const char* kWindowsPasswordNameExceedLimit = "WindowsPasswordName.ExceedLimit";
// WindowsPasswordName names a secret in Alibaba's Parameter Store, which this server has not.
inline constexpr const char* kParameterStoreNotSupported = "ParameterStore.NotSupported";
// Control characters or malformed UTF-8 in a command's texts.
inline constexpr const char* kNameCharacter = "InvalidParameterCharacter.CommandName";
inline constexpr const char* kDescriptionCharacter = "InvalidParameterCharacter.CommandDescription";
inline constexpr const char* kWorkingDirCharacter = "InvalidParameterCharacter.CommandWorkingDir";

// Custom parameters: in the command's content, then in an invocation's Parameters.
inline constexpr const char* kCmdParamEmptyKey = "CmdParam.EmptyKey";
inline constexpr const char* kCmdParamInvalidName = "CmdParam.InvalidParamName";
inline constexpr const char* kCmdParamCountExceedLimit = "CmdParamCount.ExceedLimit";
inline constexpr const char* kCmdParamNameExceedLimit = "CmdParamName.ExceedLimit";
inline constexpr const char* kParameterDisabled = "Parameter.Disabled";
inline constexpr const char* kParameterNotMatched = "Parameter.NotMatched";
inline constexpr const char* kParameterKeyDuplicate = "ParameterKey.Duplicate";
inline constexpr const char* kParameterKeyExceedLimit = "ParameterKey.ExceedLimit";
inline constexpr const char* kParameterCountExceedLimit = "ParameterCount.ExceedLimit";
inline constexpr const char* kParameterTypeNotSupported = "ParameterType.NotSupported";
inline constexpr const char* kParametersCharset = "InvalidParameterCharset.Parameters";

// ClientToken.
inline constexpr const char* kInvalidClientToken = "InvalidClientToken.Malformed";
inline constexpr const char* kIdempotentParameterMismatch = "IdempotentParameterMismatch";
inline constexpr const char* kIdempotentProcessing = "IdempotentProcessing";

// Targets.
inline constexpr const char* kMissingInstanceId = "MissingParam.InstanceId";
inline constexpr const char* kInstanceIdsExceedLimit = "InstanceIds.ExceedLimit";
// A command type the instance's system does not run (BAT off Windows, a shell script on it).
inline constexpr const char* kInstanceNotMatch = "InvalidInstance.NotMatch";

// ResourceTag.N: the instances to run on, by their tags.
inline constexpr const char* kNumberExceedResourceTags = "NumberExceed.ResourceTags";
inline constexpr const char* kMissingResourceTagKey = "MissingParameter.ResourceTagKey";
inline constexpr const char* kResourceTagKeyMalformed = "InvalidResourceTagKey.Malformed";
inline constexpr const char* kResourceTagValueMalformed = "InvalidResourceTagValue.Malformed";
inline constexpr const char* kDuplicateResourceTagKey = "Duplicate.ResourceTagKey";
inline constexpr const char* kResourceTagConflict = "InvalidResourceTag.ConflictWithInstanceIds";

// TagResources, UntagResources, ListTagResources.
inline constexpr const char* kResourceTypeNotFound = "InvalidResourceType.NotFound";
inline constexpr const char* kResourceIdNotFound = "InvalidResourceId.NotFound";

// Tags.
inline constexpr const char* kNumberExceedTags = "NumberExceed.Tags";
inline constexpr const char* kDuplicateTagKey = "Duplicate.TagKey";
inline constexpr const char* kMissingTagKey = "MissingParameter.TagKey";
inline constexpr const char* kTagKeyMalformed = "InvalidTagKey.Malformed";
inline constexpr const char* kTagValueMalformed = "InvalidTagValue.Malformed";

}  // namespace ferry::codes::acs
