// The error codes Store implementations return beyond InternalError. They are API-shaped so that
// most pass through unchanged; the registration ones are for the agent gateway to map (it may
// well answer all of them alike, so that a caller without the code's value learns nothing).
#pragma once

namespace ferry::server::store_codes {

inline constexpr const char* kCommandNameDuplicated = "InvalidParameterValue.CommandNameDuplicated";
inline constexpr const char* kCommandNotFound = "ResourceNotFound.CommandNotFound";
inline constexpr const char* kInstanceNotFound = "ResourceNotFound.InstanceNotFound";
inline constexpr const char* kInvocationTaskNotFound = "ResourceNotFound.InvocationTaskNotFound";
inline constexpr const char* kRegisterCodeNotFound = "ResourceNotFound.RegisterCodeNotFound";
// register_instance, checked in this order after the code was found.
inline constexpr const char* kRegisterCodeValueMismatch =
    "OperationDenied.RegisterCodeValueMismatch";
inline constexpr const char* kRegisterCodeDisabled = "OperationDenied.RegisterCodeDisabled";
inline constexpr const char* kRegisterCodeExpired = "OperationDenied.RegisterCodeExpired";
inline constexpr const char* kRegisterLimitExceeded = "OperationDenied.RegisterLimitExceeded";
// The key belonged to an instance that was deleted: deleting an instance revokes its key.
inline constexpr const char* kKeyRevoked = "OperationDenied.KeyRevoked";
// An insert whose id is already taken (ids are generated, so a caller may retry with a new one).
inline constexpr const char* kIdDuplicated = "ResourceInUse.IdDuplicated";

}  // namespace ferry::server::store_codes
