# Checks that an installed entitle works for a consumer project:
#   1. cmake --install <build> --prefix <scratch prefix>
#   2. configure and build tests/consumer against that prefix
#   3. run the consumer program
# With -DBUILD_TREE=ON, step 1 is skipped and the consumer finds entitle in
# the build tree itself (its export()ed package files).
# Run by ctest (test "install_consumer") as:
#   cmake -DENTITLE_BUILD_DIR=... -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=...
#         [-DGENERATOR=...] [-DCXX_COMPILER=...] [-DCONFIG=...] -P install_consumer.cmake
cmake_minimum_required(VERSION 3.16)

foreach(var ENTITLE_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run step)
  message(STATUS "install_consumer: ${step}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${step} failed (${rc})")
  endif()
endfunction()

set(config_args)
set(build_type_arg)
if(DEFINED CONFIG AND NOT CONFIG STREQUAL "")
  set(config_args --config ${CONFIG})
  set(build_type_arg -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
set(generator_args)
if(DEFINED GENERATOR AND NOT GENERATOR STREQUAL "")
  set(generator_args -G ${GENERATOR})
endif()
set(compiler_args)
if(DEFINED CXX_COMPILER AND NOT CXX_COMPILER STREQUAL "")
  set(compiler_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

if(BUILD_TREE)
  set(find_args -Dentitle_DIR=${ENTITLE_BUILD_DIR})
else()
  run(install ${CMAKE_COMMAND} --install ${ENTITLE_BUILD_DIR} --prefix ${prefix}
      ${config_args})
  set(find_args -DCMAKE_PREFIX_PATH=${prefix})
endif()
run(configure ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build}
    ${generator_args} ${compiler_args} ${build_type_arg} ${find_args}
    -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON)
run(build ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})

set(consumer_exe)
foreach(dir ${consumer_build} ${consumer_build}/${CONFIG})
  foreach(name entitle_consumer entitle_consumer.exe)
    if(NOT consumer_exe AND EXISTS ${dir}/${name})
      set(consumer_exe ${dir}/${name})
    endif()
  endforeach()
endforeach()
if(NOT consumer_exe)
  message(FATAL_ERROR "install_consumer: no entitle_consumer in ${consumer_build}")
endif()
run(run ${consumer_exe})
message(STATUS "install_consumer: ok")
