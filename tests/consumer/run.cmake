# Installs the built clusteraccess into a private prefix, then configures,
# builds and runs the consumer project against it with find_package.
#
#   cmake -DBUILD_DIR=<parent build> -DSOURCE_DIR=<this folder> -DWORK_DIR=<scratch>
#         -DGENERATOR=<generator> [-DCONFIG=<config>] [-DCXX_COMPILER=<path>]
#         [-DMAKE_PROGRAM=<path>] -P run.cmake
cmake_minimum_required(VERSION 3.20)

foreach(required BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${required} is not set")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(config_args)
if(DEFINED CONFIG AND NOT CONFIG STREQUAL "")
  set(config_args --config "${CONFIG}")
endif()

# 1. cmake --install into the private prefix.
run_step("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

# 2. Configure the consumer with the same generator and compiler, seeing only that prefix.
set(configure_args
  -S "${SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON)
if(DEFINED CXX_COMPILER AND NOT CXX_COMPILER STREQUAL "")
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(DEFINED MAKE_PROGRAM AND NOT MAKE_PROGRAM STREQUAL "")
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(DEFINED CONFIG AND NOT CONFIG STREQUAL "")
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
run_step("configuring the consumer" "${CMAKE_COMMAND}" ${configure_args})

# The package must come from the prefix just installed, not from elsewhere.
file(STRINGS "${consumer_build}/CMakeCache.txt" package_dir REGEX "^clusteraccess_DIR:")
string(REGEX REPLACE "^clusteraccess_DIR:[A-Z]+=" "" package_dir "${package_dir}")
file(REAL_PATH "${prefix}" real_prefix)
file(REAL_PATH "${package_dir}" real_package_dir)
string(FIND "${real_package_dir}" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "clusteraccess was found at ${package_dir}, not under ${prefix}")
endif()

# 3. Build it.
run_step("building the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

# 4. Run it.
set(program "${consumer_build}/consumer")
if(NOT EXISTS "${program}" AND DEFINED CONFIG)
  set(program "${consumer_build}/${CONFIG}/consumer")
endif()
run_step("running the consumer" "${program}")
message(STATUS "${step_output}")
if(NOT step_output MATCHES "^OK: ")
  message(FATAL_ERROR "the consumer did not report OK:\n${step_output}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
