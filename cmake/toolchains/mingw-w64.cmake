# Cross-building Ferry for 64-bit Windows with Debian's mingw-w64 (the `windows` preset).
# The -posix compilers: the default -win32 thread model has no std::thread in GCC 12.
# Tests run under wine, which ctest puts in front of every test command.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_ferry_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_ferry_mingw}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_ferry_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_ferry_mingw}-windres)

# Libraries and headers of the target come from the mingw tree only (never the host's
# /usr/include): the header-only libraries are added one by one (cmake/Windows.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${_ferry_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Debian's `wine` picks wine64 for these programs (it warns that the 32-bit wine is missing
# unless WINEDEBUG=-all, which scripts/windows-test sets).
find_program(FERRY_WINE NAMES wine NO_CMAKE_FIND_ROOT_PATH)
if(FERRY_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FERRY_WINE})
else()
  message(FATAL_ERROR "mingw-w64 toolchain: wine not found; the Windows tests run under wine. "
                      "Install it with scripts/deps (packages wine and wine64).")
endif()
