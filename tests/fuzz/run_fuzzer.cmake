# Runs one libFuzzer target for its fuzz_<name> ctest test:
#   cmake -DFUZZER=<exe> -DCORPUS=<seed dir> -DREGRESSIONS=<dir>
#         -DDICT=<file or empty> -DSCRATCH=<dir> -DRUNS=<n> -DMAX_LEN=<bytes>
#         -P run_fuzzer.cmake
# The seed corpus is copied into SCRATCH/corpus afresh each time, so every run
# starts from the same inputs and never writes to the source tree. Crash files
# land in SCRATCH.
foreach(var FUZZER CORPUS REGRESSIONS SCRATCH RUNS MAX_LEN)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: ${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH}/corpus)
file(GLOB seeds ${CORPUS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${SCRATCH}/corpus)
endif()

set(args -runs=${RUNS} -max_len=${MAX_LEN} -seed=1
    -artifact_prefix=${SCRATCH}/ -print_final_stats=1)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
# The regression inputs are a second corpus directory: libFuzzer runs every
# input of every corpus directory before it starts mutating, and writes only
# to the first.
set(dirs ${SCRATCH}/corpus)
file(GLOB regressions ${REGRESSIONS}/*)
if(regressions)
  list(APPEND dirs ${REGRESSIONS})
endif()

execute_process(COMMAND ${FUZZER} ${args} ${dirs}
                WORKING_DIRECTORY ${SCRATCH}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${result}); inputs in ${SCRATCH}")
endif()
