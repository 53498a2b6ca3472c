# What the Windows cross build (cmake/toolchains/mingw-w64.cmake) uses in place of the Linux
# build's find_package() calls. Debian has no mingw build of Boost, nlohmann_json, spdlog, fmt,
# CLI11 or Catch2, but all are header-only: their Linux headers are used through a folder of
# links to just those directories (the whole /usr/include would bring glibc's headers in), and
# each gets the imported target the Linux build's find_package() would have made.
set(FERRY_LINUX_HEADERS ${CMAKE_BINARY_DIR}/linux-headers)
file(MAKE_DIRECTORY ${FERRY_LINUX_HEADERS})
foreach(dir boost nlohmann spdlog fmt CLI catch2)
  if(NOT IS_DIRECTORY /usr/include/${dir})
    message(FATAL_ERROR "Windows build: /usr/include/${dir} is missing; run scripts/deps")
  endif()
  file(CREATE_LINK /usr/include/${dir} ${FERRY_LINUX_HEADERS}/${dir} SYMBOLIC)
endforeach()

# Windows 10 and later; no fmt or spdlog library exists for mingw, so both are header-only
# everywhere (one definition of each in every program).
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 FMT_HEADER_ONLY SPDLOG_HEADER_ONLY)

function(ferry_linux_headers_target name)
  add_library(${name} INTERFACE IMPORTED)
  # An imported target's include directories are -isystem ones.
  set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${FERRY_LINUX_HEADERS})
endfunction()
ferry_linux_headers_target(nlohmann_json::nlohmann_json)
ferry_linux_headers_target(fmt::fmt-header-only)
ferry_linux_headers_target(spdlog::spdlog_header_only)
ferry_linux_headers_target(CLI11::CLI11)
ferry_linux_headers_target(Catch2::Catch2)
# Asio needs Winsock.
ferry_linux_headers_target(Boost::headers)
set_target_properties(Boost::headers PROPERTIES INTERFACE_LINK_LIBRARIES "ws2_32;mswsock")

find_package(Threads REQUIRED)

# libgcrypt and libgpg-error from Debian's mingw packages, as static archives.
find_path(FERRY_GCRYPT_INCLUDE_DIR gcrypt.h)
find_library(FERRY_GCRYPT_LIBRARY NAMES libgcrypt.a)
find_library(FERRY_GPG_ERROR_LIBRARY NAMES libgpg-error.a)
if(NOT FERRY_GCRYPT_INCLUDE_DIR OR NOT FERRY_GCRYPT_LIBRARY OR NOT FERRY_GPG_ERROR_LIBRARY)
  message(FATAL_ERROR "Windows build: libgcrypt for mingw not found; run scripts/deps "
                      "(packages libgcrypt-mingw-w64-dev, libgpg-error-mingw-w64-dev)")
endif()
add_library(ferry_gcrypt INTERFACE)
add_library(ferry::gcrypt ALIAS ferry_gcrypt)
target_include_directories(ferry_gcrypt SYSTEM INTERFACE ${FERRY_GCRYPT_INCLUDE_DIR})
# libgpg-error's streams and logging can use sockets.
target_link_libraries(ferry_gcrypt INTERFACE ${FERRY_GCRYPT_LIBRARY} ${FERRY_GPG_ERROR_LIBRARY}
                                             ws2_32)
