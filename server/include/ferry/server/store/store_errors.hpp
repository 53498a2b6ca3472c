// The error codes a Store returns, in the store's own terms: no API's codes, so that every
// implementation (SQLite, PostgreSQL) returns the same ones and each API dialect maps them onto
// its wire codes (tat/tat_envelope.hpp for TAT and the agent protocol). Messages name the
// record ("command cmd-xxxxxxxx not found") and are safe to show to the caller.
#pragma once

namespace ferry::server::store_codes {

// The database failed: I/O, a lock held past the busy timeout, a malformed stored row.
inline constexpr const char* kFailed = "Store.Failed";
// Records that do not exist.
inline constexpr const char* kCommandNotFound = "Store.CommandNotFound";
inline constexpr const char* kInstanceNotFound = "Store.InstanceNotFound";
inline constexpr const char* kInvocationTaskNotFound = "Store.TaskNotFound";
inline constexpr const char* kRegisterCodeNotFound = "Store.RegisterCodeNotFound";
inline constexpr const char* kInvokerNotFound = "Store.InvokerNotFound";
inline constexpr const char* kInvocationNotFound = "Store.InvocationNotFound";
// A saved command already has the name.
inline constexpr const char* kCommandNameDuplicated = "Store.CommandNameTaken";
// register_instance, checked in this order after the code was found.
inline constexpr const char* kRegisterCodeValueMismatch = "Store.RegisterCodeValueMismatch";
inline constexpr const char* kRegisterCodeDisabled = "Store.RegisterCodeDisabled";
inline constexpr const char* kRegisterCodeExpired = "Store.RegisterCodeExpired";
inline constexpr const char* kRegisterLimitExceeded = "Store.RegisterLimitExceeded";
// The key belonged to an instance that was deleted: deleting an instance revokes its key.
inline constexpr const char* kKeyRevoked = "Store.KeyRevoked";
// An insert whose id is already taken (ids are generated, so a caller may retry with a new one).
inline constexpr const char* kIdDuplicated = "Store.IdTaken";

}  // namespace ferry::server::store_codes
