# Precompiled headers: nlohmann/json alone takes ~2 s of CPU to parse and nearly every file includes
# it (through cubist/coordinate.hpp), so parsing the same third-party and standard headers was a
# large share of every build (most of a -O0 sanitizer build). Only headers that never change with
# the project's code go in: editing a cubist header must not rebuild files that do not include it.
#
# A precompiled header is only valid for compiles with the same flags, and CMake makes executables
# -fPIE but libraries -fPIC, so there are two, each built once by a tiny owner target and reused:
#   cubist_pch_lib   the layers' object libraries and the CLI's sources
#   cubist_pch_test  the test_<layer> binaries (adds GoogleTest)
option(CUBIST_PCH "Precompile the common third-party and standard headers" ON)

set(CUBIST_PCH_HEADERS
  <algorithm> <array> <atomic> <cmath> <cstdint> <cstring> <filesystem> <functional> <limits> <map>
  <memory> <mutex> <optional> <set> <span> <string> <string_view> <unordered_map> <utility> <vector>
  <fmt/format.h> <nlohmann/json.hpp>)
set(CUBIST_PCH_TEST_HEADERS ${CUBIST_PCH_HEADERS} <fstream> <sstream> <thread> <gtest/gtest.h>)

# cubist_pch_owner(NAME PIE HEADERS...): an object library that compiles nothing but the header.
function(cubist_pch_owner name pie)
  set(src ${CMAKE_CURRENT_BINARY_DIR}/${name}.cpp)
  if(NOT EXISTS ${src})
    file(WRITE ${src} "// Owner of a precompiled header (cmake/precompiled_headers.cmake).\n")
  endif()
  add_library(${name} OBJECT ${src})
  if(pie)  # compiled like an executable's sources
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${name} PRIVATE ${CMAKE_CXX_COMPILE_OPTIONS_PIE})
  endif()
  target_precompile_headers(${name} PRIVATE ${ARGN})
endfunction()

# cubist_use_pch(TARGET lib|test|exe): lib and test reuse an owner's header; exe (an executable
# with several sources, the CLI) gets its own, since no other -fPIE target shares its flags.
function(cubist_use_pch target kind)
  if(NOT CUBIST_PCH)
    return()
  endif()
  if(kind STREQUAL "lib")
    target_precompile_headers(${target} REUSE_FROM cubist_pch_lib)
  elseif(kind STREQUAL "test")
    target_precompile_headers(${target} REUSE_FROM cubist_pch_test)
  else()
    target_precompile_headers(${target} PRIVATE ${CUBIST_PCH_HEADERS})
  endif()
endfunction()
