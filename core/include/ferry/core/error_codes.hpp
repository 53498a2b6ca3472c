// The API error codes Ferry uses, spelled exactly as the TAT seeds spell them.
#pragma once

namespace ferry::codes {

inline constexpr const char* kInternalError = "InternalError";
inline constexpr const char* kInvalidParameter = "InvalidParameter";
inline constexpr const char* kInvalidParameterValue = "InvalidParameterValue";
inline constexpr const char* kMissingParameter = "MissingParameter";
inline constexpr const char* kCommandContentInvalid = "InvalidParameterValue.CommandContentInvalid";
inline constexpr const char* kTooLong = "InvalidParameterValue.TooLong";
inline constexpr const char* kRange = "InvalidParameterValue.Range";
inline constexpr const char* kLackOfParameterInfo = "InvalidParameterValue.LackOfParameterInfo";
inline constexpr const char* kParameterKeyContainsInvalidChar =
    "InvalidParameterValue.ParameterKeyContainsInvalidChar";
inline constexpr const char* kParameterKeyLenExceeded =
    "InvalidParameterValue.ParameterKeyLenExceeded";
inline constexpr const char* kParameterNumberExceeded =
    "InvalidParameterValue.ParameterNumberExceeded";
inline constexpr const char* kParameterValueNotString =
    "InvalidParameterValue.ParameterValueNotString";
inline constexpr const char* kParameterInvalidJsonFormat =
    "InvalidParameterValue.ParameterInvalidJsonFormat";
inline constexpr const char* kAgentUnsupportedCommandType =
    "InvalidParameterValue.AgentUnsupportedCommandType";
inline constexpr const char* kInvalidContainerId = "InvalidContainerId.Malformed";
inline constexpr const char* kInvalidContainerName = "InvalidContainerName.Malformed";
inline constexpr const char* kInvalidUsername = "InvalidParameterValue.InvalidUsername";
inline constexpr const char* kInvalidWorkingDirectory =
    "InvalidParameterValue.InvalidWorkingDirectory";
inline constexpr const char* kLimitExceeded = "InvalidParameterValue.LimitExceeded";
inline constexpr const char* kInvalidCronExpression = "InvalidParameterValue.InvalidCronExpression";
inline constexpr const char* kInvalidTimeFormat = "InvalidParameterValue.InvalidTimeFormat";
inline constexpr const char* kInvokeTimeExpired = "InvalidParameterValue.InvokeTimeExpired";
inline constexpr const char* kInvalidInstanceId = "InvalidParameterValue.InvalidInstanceId";
inline constexpr const char* kInvalidCommandId = "InvalidParameterValue.InvalidCommandId";
inline constexpr const char* kInvalidInvokerId = "InvalidParameterValue.InvalidInvokerId";
inline constexpr const char* kOperationDenied = "OperationDenied";
inline constexpr const char* kCommandNotFound = "ResourceNotFound.CommandNotFound";
inline constexpr const char* kInstanceNotFound = "ResourceNotFound.InstanceNotFound";
inline constexpr const char* kInvocationTaskNotFound = "ResourceNotFound.InvocationTaskNotFound";
inline constexpr const char* kRegisterCodeNotFound = "ResourceNotFound.RegisterCodeNotFound";
inline constexpr const char* kInvokerNotFound = "ResourceNotFound.InvokerNotFound";
inline constexpr const char* kCommandNameDuplicated = "InvalidParameterValue.CommandNameDuplicated";
inline constexpr const char* kRegisterCodeValueMismatch =
    "OperationDenied.RegisterCodeValueMismatch";
inline constexpr const char* kRegisterCodeDisabled = "OperationDenied.RegisterCodeDisabled";
inline constexpr const char* kRegisterCodeExpired = "OperationDenied.RegisterCodeExpired";
inline constexpr const char* kRegisterLimitExceeded = "OperationDenied.RegisterLimitExceeded";
inline constexpr const char* kKeyRevoked = "OperationDenied.KeyRevoked";
inline constexpr const char* kIdDuplicated = "ResourceInUse.IdDuplicated";

}  // namespace ferry::codes

// Cloud Assistant (ECS 2014-05-26) codes, spelled as seed 004 spells them.
namespace ferry::codes::acs {

inline constexpr const char* kMissingFrequency = "MissingParam.Frequency";
inline constexpr const char* kInvalidFrequency = "InvalidParam.Frequency";
inline constexpr const char* kInvalidRepeatMode = "InvalidRepeatMode.NotFound";
// Seed 004's "The operation is not permitted": Ferry's answer to stopping or modifying an
// invocation whose schedule has ended.
inline constexpr const char* kOperationForbidden = "Operation.Forbidden";
// The execution settings of a run (Launcher, TerminationMode).
inline constexpr const char* kLauncherLengthLimitExceeded = "InvalidLauncher.LengthLimitExceeded";
inline constexpr const char* kInvalidTerminationMode = "InvalidTerminationMode.NotFound";

}  // namespace ferry::codes::acs

// Authentication error codes of the Tencent Cloud API 3.0 common error set.
namespace ferry::auth_codes {

inline constexpr const char* kSignatureFailure = "AuthFailure.SignatureFailure";
inline constexpr const char* kSignatureExpire = "AuthFailure.SignatureExpire";
inline constexpr const char* kSecretIdNotFound = "AuthFailure.SecretIdNotFound";

}  // namespace ferry::auth_codes
