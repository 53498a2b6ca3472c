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
target_compile_definitions(ferry_options INTERFACE FERRY_VERSION="${PROJECT_VERSION}")

# Every function and object in its own section, so that a binary linked with --gc-sections
# (ferry-agent, which stays resident on every machine) carries only the code it can reach.
target_compile_options(ferry_options INTERFACE -ffunction-sections -fdata-sections)
