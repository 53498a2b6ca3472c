// What the machine says about itself, for registration and heartbeats.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ferry::platform {

// The OS as the agent protocol names it: "Linux" (or "Windows").
std::string os_name();

// The host name; empty when unknown.
std::string host_name();

// The machine's addresses that are up and not loopback (nor IPv6 link-local), IPv4 first, at
// most 32.
std::vector<std::string> local_addresses();

// Names a file to read the machine id from instead of the OS's sources, for tests and for image
// builds that keep their own id (docs/configuration.md).
inline constexpr const char* kMachineIdFileVariable = "FERRY_MACHINE_ID_FILE";

// The machine's stable id, which a clone of a VM image does not share with its original. Linux:
// /etc/machine-id, or where that is missing, empty or "uninitialized" the SMBIOS product UUID
// (/sys/class/dmi/id/product_uuid, readable by root only). Windows: the registry's MachineGuid
// (HKLM\SOFTWARE\Microsoft\Cryptography). Only the file named by FERRY_MACHINE_ID_FILE when it
// is set. Empty when none is known or plausible.
std::string machine_id();

// The first plausible id that one of `files` holds, in order: its content without surrounding
// whitespace, 1 to 128 printable ASCII characters, in lowercase; "uninitialized" (systemd's
// mark of an image not booted yet) and a UUID of only zeros or only Fs (what some hypervisors
// give every machine) are not plausible. Empty when none is.
std::string first_machine_id(const std::vector<std::filesystem::path>& files);

}  // namespace ferry::platform
