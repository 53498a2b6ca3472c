# -Wnull-dereference is left out on purpose: at -O2 it reports false positives inside
# Boost.Asio's own headers, which -Werror would turn into build failures.
function(ferry_set_warnings target as_errors)
  set(warnings
      -Wall                 # the common set
      -Wextra               # and the reasonable extras
      -Wshadow              # a local hides an outer name
      -Wnon-virtual-dtor    # polymorphic class without a virtual destructor
      -Wold-style-cast      # C casts hide what they do
      -Wcast-align          # casts that raise alignment
      -Wunused              # anything unused
      -Woverloaded-virtual  # an overload hides a virtual
      -Wpedantic            # non-standard C++
      -Wconversion          # implicit narrowing
      -Wsign-conversion     # implicit sign changes
      -Wdouble-promotion    # float promoted to double implicitly
      -Wformat=2            # format string security
      -Wimplicit-fallthrough # a switch case falls through silently
      -Wmisleading-indentation
  )
  # GCC's own; clang (the fuzz preset) has no such options.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND warnings -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wuseless-cast)
  endif()
  if(as_errors)
    list(APPEND warnings -Werror)
  endif()
  target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${warnings}>)
endfunction()
