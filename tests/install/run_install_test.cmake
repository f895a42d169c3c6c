# Install test: `cmake --install` a built cubist into a temporary prefix, then configure, build and
# run a consumer project that uses find_package(cubist) against that prefix only.
# cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SRC=... [-DGENERATOR=Ninja] [-DCXX_COMPILER=c++] -P run_install_test.cmake
foreach(v BUILD_DIR WORK_DIR CONSUMER_SRC)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install test: ${v} is not set")
  endif()
endforeach()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (exit ${rc})\n${out}\n${err}")
  endif()
  message(STATUS "install test: ${what}: ok")
  set(STEP_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

set(PREFIX ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

step("cmake --install ${BUILD_DIR} --prefix ${PREFIX}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})

# What a user relies on being there.
file(GLOB_RECURSE config_files ${PREFIX}/*/cubistConfig.cmake)
file(GLOB_RECURSE libs ${PREFIX}/*/libcubist.so*)
set(missing)
if(NOT EXISTS ${PREFIX}/include/cubist/cubist.hpp)
  list(APPEND missing include/cubist/cubist.hpp)
endif()
if(NOT EXISTS ${PREFIX}/bin/cubist)
  list(APPEND missing bin/cubist)
endif()
if(NOT config_files)
  list(APPEND missing lib*/cmake/cubist/cubistConfig.cmake)
endif()
if(NOT libs)
  list(APPEND missing lib*/libcubist.so)
endif()
if(missing)
  message(FATAL_ERROR "install test: the install prefix lacks: ${missing}")
endif()

set(gen_args)
if(GENERATOR)
  set(gen_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND gen_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
step("configure the consumer with find_package(cubist)"
  ${CMAKE_COMMAND} -S ${CONSUMER_SRC} -B ${WORK_DIR}/consumer-build ${gen_args}
  -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release)
string(FIND "${STEP_OUTPUT}" "${PREFIX}" found_at)
if(found_at EQUAL -1)
  message(FATAL_ERROR "install test: the consumer did not find cubist in ${PREFIX}:\n${STEP_OUTPUT}")
endif()
step("build the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
# The installed binary runs too (its RPATH points into the prefix).
step("run the installed cubist binary" ${PREFIX}/bin/cubist --version)
execute_process(COMMAND ${WORK_DIR}/consumer-build/app WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install test: the consumer app failed (exit ${rc})\n${err}")
endif()
message(STATUS "install test: the consumer app ran and checked its result: ok")
file(REMOVE_RECURSE ${WORK_DIR})
