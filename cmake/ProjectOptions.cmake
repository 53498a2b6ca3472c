# Warnings and sanitizer options live on one INTERFACE target that every Ferry target links,
# never in global flags, so that third-party headers and find_package targets are untouched.
include(${CMAKE_CURRENT_LIST_DIR}/CompilerWarnings.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/Sanitizers.cmake)

add_library(ferry_options INTERFACE)
add_library(ferry::options ALIAS ferry_options)
ferry_set_warnings(ferry_options ${FERRY_WARNINGS_AS_ERRORS})
if(FERRY_SANITIZE)
  ferry_enable_sanitizers(ferry_options)
endif()
if(FERRY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FERRY_FUZZ needs clang (libFuzzer): use the fuzz preset or scripts/fuzz")
  endif()
  # libFuzzer's coverage instrumentation in every Ferry target; the harnesses add the fuzzer's
  # main at link time (tests/fuzz/CMakeLists.txt).
  target_compile_options(ferry_options INTERFACE -fsanitize=fuzzer-no-link)
  # clang 14's -fsanitize=function check (part of UBSan) cannot be emitted for C++20 coroutines
  # (the Asio sessions): "Cannot represent a difference across sections".
  target_compile_options(ferry_options INTERFACE -fno-sanitize=function)
  target_link_options(ferry_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
target_compile_definitions(ferry_options INTERFACE FERRY_VERSION="${PROJECT_VERSION}")

# Debian's hardening flags (dpkg-buildflags with hardening=+all), as lintian checks them in the
# packages: stack protector, fortified libc calls where the code is optimized (glibc warns at
# -O0), read-only relocations bound at start.
option(FERRY_HARDENING "Build with Debian's hardening flags" ON)
if(FERRY_HARDENING)
  target_compile_options(ferry_options INTERFACE -fstack-protector-strong -fcf-protection)
  # Windows probes every stack frame larger than a page itself (__chkstk), and GCC 12's mingw
  # target fails with an internal error on this option.
  if(NOT WIN32)
    target_compile_options(ferry_options INTERFACE -fstack-clash-protection)
  endif()
  target_compile_definitions(ferry_options INTERFACE
                             $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
  if(WIN32)
    # PE has no RELRO (binutils marks the .exe dynamicbase, high-entropy-va and nxcompat by
    # itself); the checks of the stack protector and of the fortified calls are in libssp, which
    # GCC links when the linker gets the option too.
    target_link_options(ferry_options INTERFACE -fstack-protector-strong)
  else()
    target_link_options(ferry_options INTERFACE -Wl,-z,relro -Wl,-z,now)
  endif()
endif()

# Every function and object in its own section, so that a binary linked with --gc-sections
# (ferry-agent, which stays resident on every machine) carries only the code it can reach.
target_compile_options(ferry_options INTERFACE -ffunction-sections -fdata-sections)

# One Ferry library: the target, its ferry:: alias (ferry_core -> ferry::core), its include/
# directory as the public one (NO_INCLUDE_DIR: the headers come with a dependency; INCLUDE_DIR:
# another directory) and ferry::options, privately. SOURCES may be empty when target_sources()
# adds them (per OS in platform/).
#   ferry_add_library(ferry_core SOURCES src/a.cpp ... PUBLIC deps... PRIVATE deps...)
function(ferry_add_library name)
  cmake_parse_arguments(L "NO_INCLUDE_DIR" "INCLUDE_DIR" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} ${L_SOURCES})
  string(REGEX REPLACE "^ferry_" "ferry::" alias ${name})
  add_library(${alias} ALIAS ${name})
  if(NOT L_NO_INCLUDE_DIR)
    if(NOT L_INCLUDE_DIR)
      set(L_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/include)
    endif()
    target_include_directories(${name} PUBLIC ${L_INCLUDE_DIR})
  endif()
  target_link_libraries(${name} PUBLIC ${L_PUBLIC} PRIVATE ferry::options ${L_PRIVATE})
endfunction()
