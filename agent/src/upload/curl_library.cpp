#include "curl_library.hpp"

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <optional>

#include "ferry/core/error_codes.hpp"

namespace ferry::agent::upload {
namespace {

// dlsym gives an object pointer; copying its bytes is how POSIX says to make it a function
// pointer without a cast the compiler may warn about.
template <typename Fn>
bool resolve(void* handle, const char* name, Fn& fn) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    return false;
  }
  static_assert(sizeof(Fn) == sizeof(symbol));
  std::memcpy(&fn, &symbol, sizeof fn);
  return true;
}

std::string version_text(unsigned num) {
  return std::to_string((num >> 16) & 0xFF) + "." + std::to_string((num >> 8) & 0xFF) + "." +
         std::to_string(num & 0xFF);
}

Expected<CurlLibrary> resolve_all(void* handle, const std::string& soname) {
  CurlLibrary lib;
  lib.loaded_from = soname;
  const char* missing = nullptr;
  auto need = [&](const char* name, auto& fn) {
    if (missing == nullptr && !resolve(handle, name, fn)) {
      missing = name;
    }
  };
  need("curl_global_init", lib.global_init);
  need("curl_version_info", lib.version_info);
  need("curl_easy_init", lib.easy_init);
  need("curl_easy_cleanup", lib.easy_cleanup);
  need("curl_easy_setopt", lib.easy_setopt);
  need("curl_easy_perform", lib.easy_perform);
  need("curl_easy_getinfo", lib.easy_getinfo);
  need("curl_easy_strerror", lib.easy_strerror);
  need("curl_slist_append", lib.slist_append);
  need("curl_slist_free_all", lib.slist_free_all);
  if (missing != nullptr) {
    return Error{codes::kInternalError, soname + " lacks " + missing + ": not a usable libcurl"};
  }
  const curl_version_info_data* info = lib.version_info(CURLVERSION_NOW);
  if (info == nullptr) {
    return Error{codes::kInternalError, soname + " does not tell its version"};
  }
  lib.version = version_text(info->version_num);
  if (info->version_num < kMinCurlVersion) {
    return Error{codes::kInternalError, soname + " is libcurl " + lib.version + "; " +
                                            version_text(kMinCurlVersion) +
                                            " or later is needed to upload outputs"};
  }
  if ((info->features & CURL_VERSION_SSL) == 0) {
    return Error{codes::kInternalError,
                 soname + " was built without TLS: it cannot upload to https"};
  }
  return lib;
}

}  // namespace

Expected<CurlLibrary> open_curl_library(const std::vector<std::string>& sonames) {
  std::string reasons;
  for (const auto& soname : sonames) {
    // RTLD_LOCAL: libcurl's symbols (and its libssl's) serve libcurl only.
    void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();  // names the file: "libcurl.so.4: cannot open ..."
      reasons += (reasons.empty() ? "" : "; ");
      reasons += why != nullptr ? why : soname.c_str();
      continue;
    }
    auto lib = resolve_all(handle, soname);
    if (!lib) {
      ::dlclose(handle);
      reasons += (reasons.empty() ? "" : "; ") + lib.error().message;
      continue;
    }
    return lib;
  }
  return Error{codes::kInternalError,
               "libcurl is not installed: apt-get install libcurl4 (" + reasons + ")"};
}

Expected<const CurlLibrary*> curl_library() {
  static std::once_flag once;
  static std::optional<CurlLibrary> library;
  static Error failure;
  std::call_once(once, [] {
    auto lib = open_curl_library(kCurlSonames);
    if (!lib) {
      failure = lib.error();
      return;
    }
    // Not thread-safe in libcurl before 7.84, so done here, once, before any transfer.
    const CURLcode rc = lib->global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      failure =
          Error{codes::kInternalError,
                "libcurl " + lib->version + " failed to initialise: " + lib->easy_strerror(rc)};
      return;
    }
    library = std::move(*lib);
  });
  if (!library) {
    return failure;
  }
  return &*library;
}

}  // namespace ferry::agent::upload
