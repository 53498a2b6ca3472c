// fs.hpp on Windows, in part: directories, new and atomically replaced files, reading, removing
// trees, finding programs (PATHEXT), the running executable, OpenFile, and inspect_file (the
// owner SID and the DACL). Not yet (reserve_space succeeds doing nothing, the other is an error):
// reserve_space and overwrite_in_place (NTFS may give back space reserved past the end of a file
// when it is closed, so the state file's disk-full fallback needs its own design).
//
// Files are created private to this account (private_file_security: FileAccess's values both
// mean the owner's alone); DirectoryAccess is not applied yet: a directory gets the ACL it
// inherits from its parent (docs/architecture.md).
#include "ferry/platform/fs.hpp"

#include <algorithm>
#include <cwctype>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "account.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "win32.hpp"
// After windows.h (win32.hpp), which they need.
#include <aclapi.h>
#include <sddl.h>

namespace ferry::platform {
namespace {

namespace stdfs = std::filesystem;
using win32::UniqueHandle;

// Readers let writers and renamers in: a file being read can still be replaced.
constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
constexpr DWORD kMaxIo = DWORD{1} << 30;

Error io_error(std::string_view what, const stdfs::path& path, DWORD err) {
  return win32::windows_error(codes::kInternalError, std::string(what) + " " + win32::display(path),
                              err);
}

// "dir\" names the same directory as "dir".
stdfs::path without_trailing_separator(const stdfs::path& p) {
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) {
    return p.parent_path();
  }
  return p;
}

// What is created belongs to this process's account; setting another owner is not ported.
Status refuse_owner(const std::optional<Account>& owner, const stdfs::path& path) {
  if (owner && owner->native() != nullptr && !owner->same_user(current_account())) {
    return Error{codes::kInternalError,
                 "setting the owner of " + win32::display(path) + " is not supported on Windows"};
  }
  return {};
}

bool is_existing_directory(const stdfs::path& path) {
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

Status write_all(HANDLE file, std::string_view data, const stdfs::path& path) {
  while (!data.empty()) {
    const auto chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), kMaxIo));
    DWORD written = 0;
    if (!::WriteFile(file, data.data(), chunk, &written, nullptr)) {
      return io_error("writing", path, ::GetLastError());
    }
    data.remove_prefix(written);
  }
  return {};
}

// The security descriptor of every file created here. Both FileAccess values mean its owner's
// alone (0600, 0400), so: a protected DACL (nothing inherited from the directory, whose ACL
// under ProgramData lets every user read) with full access for this process's account, SYSTEM
// and the Administrators (who may take any file anyway, as root on POSIX). What inspect_file
// calls private. Made once; nullptr if it cannot be (the file then takes its directory's ACL,
// and inspect_file does not vouch for it).
PSECURITY_DESCRIPTOR private_file_security() {
  static const PSECURITY_DESCRIPTOR descriptor = [] {
    const Account self = current_account();
    PSECURITY_DESCRIPTOR sd = nullptr;
    if (self.native() == nullptr) {
      return sd;
    }
    const std::wstring sddl = L"D:P(A;;FA;;;" + self.native()->sid + L")(A;;FA;;;SY)(A;;FA;;;BA)";
    if (::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd,
                                                               nullptr) == 0) {
      sd = nullptr;
    }
    return sd;  // kept for the process's lifetime
  }();
  return descriptor;
}

// Creates `path`, which must not exist (CREATE_NEW: a link in its place is not followed), for
// writing, private to this account (private_file_security); other processes may read it and
// rename or delete it, not write it.
UniqueHandle create_new(const stdfs::path& path) {
  SECURITY_ATTRIBUTES security{sizeof(SECURITY_ATTRIBUTES), private_file_security(), FALSE};
  return UniqueHandle(::CreateFileW(path.c_str(), GENERIC_WRITE,
                                    FILE_SHARE_READ | FILE_SHARE_DELETE, &security, CREATE_NEW,
                                    FILE_ATTRIBUTE_NORMAL, nullptr));
}

UniqueHandle open_for_reading(const stdfs::path& path) {
  return UniqueHandle(::CreateFileW(path.c_str(), GENERIC_READ, kShareAll, nullptr, OPEN_EXISTING,
                                    FILE_ATTRIBUTE_NORMAL, nullptr));
}

// Reads up to `want` bytes at the file position; 0 at the end of the file.
Expected<std::size_t> read_some(HANDLE file, char* into, std::size_t want,
                                const stdfs::path& path) {
  DWORD got = 0;
  if (!::ReadFile(file, into, static_cast<DWORD>(std::min<std::size_t>(want, kMaxIo)), &got,
                  nullptr)) {
    return io_error("reading", path, ::GetLastError());
  }
  return static_cast<std::size_t>(got);
}

// The rename that replaces a file fails while another process has it open without
// FILE_SHARE_DELETE (an indexer or a virus scanner, for a moment): a few tries, about 0.6 s in
// all, before that is an error.
BOOL replace_file(const stdfs::path& from, const stdfs::path& to, DWORD flags) {
  DWORD pause_ms = 5;
  for (int attempt = 0;; ++attempt) {
    if (::MoveFileExW(from.c_str(), to.c_str(), flags)) {
      return TRUE;
    }
    const DWORD err = ::GetLastError();
    if (attempt == 7 || (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION)) {
      ::SetLastError(err);
      return FALSE;
    }
    ::Sleep(pause_ms);
    pause_ms *= 2;
  }
}

// A directory tree entry still to remove; `expanded` once its children are on the stack.
struct PendingRemoval {
  stdfs::path path;
  DWORD attributes;
  bool expanded;
};

// Puts the entries of `dir` on `stack`.
Status push_children(const stdfs::path& dir, std::vector<PendingRemoval>& stack) {
  WIN32_FIND_DATAW entry{};
  HANDLE find = ::FindFirstFileExW((dir / L"*").c_str(), FindExInfoBasic, &entry,
                                   FindExSearchNameMatch, nullptr, FIND_FIRST_EX_LARGE_FETCH);
  if (find == INVALID_HANDLE_VALUE) {
    const DWORD err = ::GetLastError();
    return err == ERROR_FILE_NOT_FOUND ? Status{} : io_error("listing", dir, err);
  }
  do {
    const std::wstring_view name = entry.cFileName;
    if (name != L"." && name != L"..") {
      stack.push_back({dir / name, entry.dwFileAttributes, false});
    }
  } while (::FindNextFileW(find, &entry));
  const DWORD err = ::GetLastError();
  ::FindClose(find);
  return err == ERROR_NO_MORE_FILES ? Status{} : io_error("listing", dir, err);
}

}  // namespace

Status ensure_directory(const stdfs::path& dir_in, DirectoryAccess /*access*/,
                        const std::optional<Account>& owner) {
  const stdfs::path dir = without_trailing_separator(dir_in);
  if (auto st = refuse_owner(owner, dir); !st) {
    return st;
  }
  if (!::CreateDirectoryW(dir.c_str(), nullptr) && ::GetLastError() != ERROR_ALREADY_EXISTS) {
    return io_error("creating directory", dir, ::GetLastError());
  }
  // The entry itself, not what a symbolic link or junction in its place points at.
  const UniqueHandle handle(
      ::CreateFileW(dir.c_str(), FILE_READ_ATTRIBUTES, kShareAll, nullptr, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
  BY_HANDLE_FILE_INFORMATION info{};
  if (!handle.valid() || !::GetFileInformationByHandle(handle.get(), &info)) {
    return io_error("opening directory", dir, ::GetLastError());
  }
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0 ||
      (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return Error{codes::kInternalError, win32::display(dir) + " is a link or not a directory"};
  }
  return {};
}

Status ensure_directories(const stdfs::path& dir_in, DirectoryAccess access) {
  const stdfs::path dir = without_trailing_separator(dir_in);
  stdfs::path prefix;
  for (const auto& part : dir.parent_path()) {
    prefix /= part;
    // The root ("C:", "C:\", "\\server\share") is there or cannot be made.
    if (prefix.relative_path().empty() || part == "." || part == "..") {
      continue;
    }
    if (!::CreateDirectoryW(prefix.c_str(), nullptr)) {
      const DWORD err = ::GetLastError();
      if (err != ERROR_ALREADY_EXISTS && !is_existing_directory(prefix)) {
        return io_error("creating directory", prefix, err);
      }
    }
  }
  return ensure_directory(dir, access);
}

Status write_new_file(const stdfs::path& path, std::string_view data, FileAccess /*access*/,
                      const std::optional<Account>& owner) {
  if (auto st = refuse_owner(owner, path); !st) {
    return st;
  }
  UniqueHandle file = create_new(path);
  if (!file.valid()) {
    return io_error("creating", path, ::GetLastError());
  }
  Status written = write_all(file.get(), data, path);
  if (written && !::CloseHandle(file.release())) {
    written = io_error("closing", path, ::GetLastError());
  }
  if (!written) {
    file.reset();
    ::DeleteFileW(path.c_str());
  }
  return written;
}

Status write_file_atomic(const stdfs::path& path, std::string_view data, FileAccess /*access*/,
                         Durability durability) {
  const stdfs::path dir = path.has_parent_path() ? path.parent_path() : stdfs::path(".");
  stdfs::path temp;
  UniqueHandle file;
  for (int attempt = 0; attempt < 8 && !file.valid(); ++attempt) {
    auto suffix = random_bytes(6);
    if (!suffix) {
      return suffix.error();
    }
    temp = dir / (L"." + path.filename().native() + L".tmp-" + win32::widen(hex_encode(*suffix)));
    file = create_new(temp);
    if (!file.valid() && ::GetLastError() != ERROR_FILE_EXISTS) {
      return io_error("creating temporary file in", dir, ::GetLastError());
    }
  }
  if (!file.valid()) {
    return io_error("creating temporary file in", dir, ERROR_FILE_EXISTS);
  }
  auto fail = [&](Error e) -> Status {
    file.reset();
    ::DeleteFileW(temp.c_str());
    return e;
  };
  if (auto st = write_all(file.get(), data, temp); !st) {
    return fail(st.error());
  }
  if (durability == Durability::kSynced && !::FlushFileBuffers(file.get())) {
    return fail(io_error("syncing", temp, ::GetLastError()));
  }
  if (!::CloseHandle(file.release())) {
    return fail(io_error("closing", temp, ::GetLastError()));
  }
  // One rename, atomic on NTFS, that takes the new file as it is (ReplaceFileW would give it the
  // old file's attributes and ACL, in several steps). WRITE_THROUGH returns once the rename is
  // on disk: Windows has no directory sync.
  const DWORD flags = MOVEFILE_REPLACE_EXISTING |
                      (durability == Durability::kSynced ? MOVEFILE_WRITE_THROUGH : DWORD{0});
  if (!replace_file(temp, path, flags)) {
    return fail(io_error("renaming temporary file to", path, ::GetLastError()));
  }
  return {};
}

// Nothing is reserved yet: the state file's disk-full fallback (overwrite_in_place) is not
// ported, so there is nothing for the space to be kept for.
Status reserve_space(const stdfs::path& /*path*/, uint64_t /*bytes*/) {
  return {};
}

Status overwrite_in_place(const stdfs::path& path, std::string_view /*data*/) {
  return Error{codes::kInternalError,
               "overwriting " + win32::display(path) + " in place is not supported on Windows yet"};
}

Expected<std::string> read_file(const stdfs::path& path, std::size_t max_bytes) {
  const UniqueHandle file = open_for_reading(path);
  if (!file.valid()) {
    return io_error("opening", path, ::GetLastError());
  }
  auto too_large = [&] {
    return Error{codes::kLimitExceeded,
                 win32::display(path) + " is larger than " + std::to_string(max_bytes) + " bytes"};
  };
  LARGE_INTEGER size{};
  if (::GetFileSizeEx(file.get(), &size) && static_cast<uint64_t>(size.QuadPart) > max_bytes) {
    return too_large();
  }
  // Read to the end rather than trusting the size, which may change meanwhile; one byte past
  // the limit tells "exactly max_bytes" from "larger".
  std::string content;
  constexpr std::size_t kChunk = 64 * 1024;
  for (;;) {
    const std::size_t old_size = content.size();
    const std::size_t want = std::min(kChunk, max_bytes + 1 - old_size);
    content.resize(old_size + want);
    auto got = read_some(file.get(), content.data() + old_size, want, path);
    if (!got) {
      return got.error();
    }
    content.resize(old_size + *got);
    if (content.size() > max_bytes) {
      return too_large();
    }
    if (*got == 0) {
      return content;
    }
  }
}

Expected<std::string> read_file_range(const stdfs::path& path, uint64_t offset,
                                      std::size_t length) {
  if (offset > static_cast<uint64_t>(std::numeric_limits<LONGLONG>::max())) {
    return io_error("reading", path, ERROR_INVALID_PARAMETER);
  }
  const UniqueHandle file = open_for_reading(path);
  if (!file.valid()) {
    return io_error("opening", path, ::GetLastError());
  }
  LARGE_INTEGER position{};
  position.QuadPart = static_cast<LONGLONG>(offset);
  if (!::SetFilePointerEx(file.get(), position, nullptr, FILE_BEGIN)) {
    return io_error("seeking in", path, ::GetLastError());
  }
  // Grown as bytes arrive, so a huge length on a small file costs nothing.
  std::string content;
  constexpr std::size_t kChunk = 64 * 1024;
  while (content.size() < length) {
    const std::size_t old_size = content.size();
    const std::size_t want = std::min(kChunk, length - old_size);
    content.resize(old_size + want);
    auto got = read_some(file.get(), content.data() + old_size, want, path);
    if (!got) {
      return got.error();
    }
    content.resize(old_size + *got);
    if (*got == 0) {
      break;
    }
  }
  return content;
}

// Depth first without recursion (a tree a task made may be deep). A symbolic link or junction
// is removed as a link: what it points at is never entered. Read-only files, which DeleteFileW
// refuses, lose that attribute first.
Status remove_tree(const stdfs::path& path) {
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    const DWORD err = ::GetLastError();
    return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND
               ? Status{}
               : io_error("removing", path, err);
  }
  std::vector<PendingRemoval> stack{{path, attributes, false}};
  while (!stack.empty()) {
    PendingRemoval& top = stack.back();
    const bool directory = (top.attributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    const bool link = (top.attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
    if (directory && !link && !top.expanded) {
      top.expanded = true;
      const stdfs::path dir = top.path;  // push_children may move `top`
      if (auto st = push_children(dir, stack); !st) {
        return st;
      }
      continue;
    }
    if ((top.attributes & FILE_ATTRIBUTE_READONLY) != 0) {
      ::SetFileAttributesW(top.path.c_str(), top.attributes & ~DWORD{FILE_ATTRIBUTE_READONLY});
    }
    const BOOL removed =
        directory ? ::RemoveDirectoryW(top.path.c_str()) : ::DeleteFileW(top.path.c_str());
    if (!removed && ::GetLastError() != ERROR_FILE_NOT_FOUND) {
      return io_error("removing", top.path, ::GetLastError());
    }
    stack.pop_back();
  }
  return {};
}

// Windows' form of find_program (fs.hpp): `search_path` is ';'-separated, and a name without an
// extension is tried with each of PATHEXT's (this process's, else .COM;.EXE;.BAT;.CMD), in
// order, as cmd.exe does. Unlike cmd.exe the current directory is never searched, nor a
// relative entry (as on POSIX: a privileged process must not run what sits in its working
// directory). A name with a separator or a drive is checked as is, extensions added likewise.
Expected<std::string> find_program(std::string_view program, std::string_view search_path) {
  const std::string name(program);
  auto not_found = [&] { return Error{codes::kInternalError, "program '" + name + "' not found"}; };
  if (name.empty() || name.find('\0') != std::string::npos) {
    return not_found();
  }
  const stdfs::path as_given(win32::widen(name));
  std::vector<std::wstring> extensions;
  if (!as_given.has_extension()) {
    std::wstring pathext(1024, L'\0');
    const DWORD n =
        ::GetEnvironmentVariableW(L"PATHEXT", pathext.data(), static_cast<DWORD>(pathext.size()));
    pathext.resize(n > 0 && n < pathext.size() ? n : 0);
    if (pathext.empty()) {
      pathext = L".COM;.EXE;.BAT;.CMD";
    }
    for (std::size_t start = 0; start <= pathext.size();) {
      const auto end = std::min(pathext.find(L';', start), pathext.size());
      if (end > start && pathext[start] == L'.') {
        extensions.push_back(pathext.substr(start, end - start));
      }
      start = end + 1;
    }
  }
  // The first candidate for `base` that is a file (not a directory).
  auto find_in = [&](const stdfs::path& base) -> std::optional<stdfs::path> {
    std::vector<stdfs::path> candidates;
    if (extensions.empty()) {
      candidates.push_back(base);
    }
    for (const auto& ext : extensions) {
      candidates.push_back(base.native() + ext);
    }
    for (const auto& candidate : candidates) {
      const DWORD attributes = ::GetFileAttributesW(candidate.c_str());
      if (attributes == INVALID_FILE_ATTRIBUTES || (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
        continue;
      }
      // The name as the directory spells it ("tool.exe", not PATHEXT's "tool.EXE").
      WIN32_FIND_DATAW data{};
      const HANDLE search = ::FindFirstFileW(candidate.c_str(), &data);
      if (search == INVALID_HANDLE_VALUE) {
        return candidate;
      }
      ::FindClose(search);
      return stdfs::path(candidate).replace_filename(data.cFileName);
    }
    return std::nullopt;
  };
  if (as_given.has_parent_path() || as_given.has_root_name()) {
    const auto found = find_in(as_given);
    if (!found) {
      return Error{codes::kInternalError, "'" + name + "' is not an executable file"};
    }
    std::error_code ec;
    stdfs::path absolute = stdfs::absolute(*found, ec);
    if (ec) {
      absolute = *found;
    }
    return win32::display(absolute.make_preferred());
  }
  while (true) {
    const auto semicolon = search_path.find(';');
    const stdfs::path dir(win32::widen(search_path.substr(0, semicolon)));
    if (dir.is_absolute()) {
      if (const auto found = find_in(dir / as_given)) {
        return win32::display(*found);
      }
    }
    if (semicolon == std::string_view::npos) {
      break;
    }
    search_path.remove_prefix(semicolon + 1);
  }
  return not_found();
}

// The owner is the file's owner SID. Only the owner, SYSTEM (S-1-5-18) and the Administrators
// (S-1-5-32-544) count as the owner's side: an allowed ACE that lets anyone else read or write
// the data makes the file not private, one that lets anyone else write (or change its ACL or
// owner) makes it writable by others. Deny ACEs are not weighed (they only take away), nor ACEs
// that apply to children alone. No DACL at all is full access for everyone.
Expected<FileFacts> inspect_file(const stdfs::path& path, FollowLinks follow) {
  const DWORD flags =
      FILE_FLAG_BACKUP_SEMANTICS | (follow == FollowLinks::kNo ? FILE_FLAG_OPEN_REPARSE_POINT : 0);
  const UniqueHandle file(::CreateFileW(path.c_str(), READ_CONTROL | FILE_READ_ATTRIBUTES,
                                        kShareAll, nullptr, OPEN_EXISTING, flags, nullptr));
  if (!file.valid()) {
    return io_error("inspecting", path, ::GetLastError());
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (::GetFileInformationByHandle(file.get(), &info) == 0) {
    return io_error("inspecting", path, ::GetLastError());
  }
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD err = ::GetSecurityInfo(file.get(), SE_FILE_OBJECT,
                                      OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                      &owner, nullptr, &dacl, nullptr, &sd);
  if (err != ERROR_SUCCESS) {
    return io_error("reading the owner and ACL of", path, err);
  }
  const std::unique_ptr<void, decltype(&::LocalFree)> sd_owner(sd, &::LocalFree);
  const auto sid_text = [](PSID sid) {
    LPWSTR text = nullptr;
    std::wstring out;
    if (::ConvertSidToStringSidW(sid, &text) != 0) {
      out = text;
      ::LocalFree(text);
    }
    return out;
  };
  const std::wstring owner_sid = sid_text(owner);
  if (owner_sid.empty()) {
    return io_error("reading the owner of", path, ::GetLastError());
  }

  FileFacts facts;
  facts.regular_file =
      (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) == 0;
  std::wstring extension = path.extension().native();
  std::transform(extension.begin(), extension.end(), extension.begin(), ::towlower);
  facts.executable = facts.regular_file && (extension == L".exe" || extension == L".com");
  facts.owner = Account(std::make_shared<const Account::Native>(
      Account::Native{owner_sid, win32::narrow(owner_sid)}));
  facts.private_to_owner = dacl != nullptr;
  facts.writable_by_others = dacl == nullptr;
  constexpr ACCESS_MASK kRead = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
  constexpr ACCESS_MASK kWrite =
      FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL;
  for (DWORD i = 0; dacl != nullptr && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (::GetAce(dacl, i, &ace) == 0) {
      return io_error("reading the ACL of", path, ::GetLastError());
    }
    const auto* header = static_cast<const ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || (header->AceFlags & INHERIT_ONLY_ACE) != 0) {
      continue;
    }
    const auto* allowed = static_cast<const ACCESS_ALLOWED_ACE*>(ace);
    const std::wstring who = sid_text(const_cast<DWORD*>(&allowed->SidStart));
    if (who == owner_sid || who == L"S-1-5-18" || who == L"S-1-5-32-544") {
      continue;
    }
    if ((allowed->Mask & (kRead | kWrite)) != 0) {
      facts.private_to_owner = false;
    }
    if ((allowed->Mask & kWrite) != 0) {
      facts.writable_by_others = true;
    }
  }
  return facts;
}

Expected<stdfs::path> current_executable() {
  std::wstring buffer(MAX_PATH, L'\0');
  for (;;) {
    const DWORD n = ::GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0) {
      return io_error("finding", "the running executable", ::GetLastError());
    }
    if (n < buffer.size()) {
      buffer.resize(n);
      return stdfs::path(buffer);
    }
    buffer.resize(buffer.size() * 2);  // truncated
  }
}

OpenFile::OpenFile(OpenFile&& other) noexcept : native_(std::exchange(other.native_, -1)) {}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    const UniqueHandle old(
        reinterpret_cast<HANDLE>(std::exchange(native_, std::exchange(other.native_, -1))));
  }
  return *this;
}

// -1 is INVALID_HANDLE_VALUE, the empty OpenFile.
OpenFile::~OpenFile() {
  const UniqueHandle closing(reinterpret_cast<HANDLE>(native_));
}

Expected<OpenFile> create_file(const stdfs::path& path, FileAccess /*access*/,
                               std::string_view what) {
  UniqueHandle file = create_new(path);
  if (!file.valid()) {
    return win32::windows_error(codes::kInternalError, what, ::GetLastError());
  }
  return OpenFile(reinterpret_cast<std::intptr_t>(file.release()));
}

// FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes at the end of the file, whoever
// else has it open for appending too (kShareAll). FILE_FLAG_OPEN_REPARSE_POINT opens a link
// itself, not what it points to.
Expected<OpenFile> open_append_file(const stdfs::path& path, FileAccess /*access*/,
                                    std::string_view what) {
  UniqueHandle file(::CreateFileW(path.c_str(), FILE_APPEND_DATA | SYNCHRONIZE, kShareAll, nullptr,
                                  OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT,
                                  nullptr));
  if (!file.valid()) {
    return win32::windows_error(codes::kInternalError, what, ::GetLastError());
  }
  return OpenFile(reinterpret_cast<std::intptr_t>(file.release()));
}

Status write_to(const OpenFile& file, std::string_view data, std::string_view what) {
  return write_all(reinterpret_cast<HANDLE>(file.native()), data, stdfs::path(std::string(what)));
}

Expected<std::uint64_t> file_size(const OpenFile& file, std::string_view what) {
  LARGE_INTEGER size{};
  if (!::GetFileSizeEx(reinterpret_cast<HANDLE>(file.native()), &size)) {
    return win32::windows_error(codes::kInternalError, what, ::GetLastError());
  }
  return static_cast<std::uint64_t>(size.QuadPart);
}

}  // namespace ferry::platform
