# check_selftest.cmake - minicrit's own test: runs each case of selftest.c
# alone (through EMU, the cross build's emulator, when set) and checks the
# exit code and the report.
#   cmake -DEMU=wine -DEXE=minicrit_selftest.exe -P check_selftest.cmake
# With -DSANITIZE=... (COLO_SANITIZE), a fault is the sanitizer's to report
# (minicrit leaves SIGSEGV to it): the check then wants its report and a
# non-zero exit instead of minicrit's.

set(failures 0)

# run(FILTER EXIT_CODE REGEX...): every REGEX must match the output.
function(run filter want)
  execute_process(COMMAND ${EMU} ${EXE} --filter=${filter}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  set(all "${out}${err}")
  set(ok TRUE)
  if(want STREQUAL "nonzero" AND NOT rc STREQUAL "0" AND rc MATCHES "^[0-9]+$")
    set(want ${rc})
  endif()
  if(NOT rc STREQUAL "${want}")
    set(ok FALSE)
    message("minicrit selftest: ${filter}: exit ${rc}, want ${want}")
  endif()
  foreach(re ${ARGN})
    if(NOT all MATCHES "${re}")
      set(ok FALSE)
      message("minicrit selftest: ${filter}: no match for: ${re}")
    endif()
  endforeach()
  if(NOT ok)
    message("---- output of ${filter}:\n${all}----")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  else()
    message("minicrit selftest: ${filter}: exit ${rc} as wanted")
  endif()
endfunction()

set(S "\\[====\\] Synthesis: Tested: ")
run(passing_case 0 "\\[PASS\\] selftest::passing_case_passes" "${S}1 \\| Passing: 1 \\| Failing: 0 \\| Crashing: 0")
run(failing_case 1 "Assertion failed: .*arithmetic is broken" "\\[FAIL\\] selftest::failing_case_fails"
    "${S}1 \\| Passing: 0 \\| Failing: 1 \\| Crashing: 0")
run(skipping_case 0 "\\[SKIP\\] selftest::skipping_case_skips_with_its_reason: the reason 42"
    "${S}0 \\| Passing: 0 \\| Failing: 0 \\| Crashing: 0")
if(SANITIZE)
  run(crashing_case nonzero "Sanitizer: SEGV")
else()
  run(crashing_case 70 "\\[CRASH\\] selftest::crashing_case_crashes" "CRASH: (signal|exception) 0x"
      "${S}1 \\| Passing: 0 \\| Failing: 0 \\| Crashing: 1")
endif()
run(aborting_case 70 "\\[CRASH\\] selftest::aborting_case_crashes" "${S}1 \\| Passing: 0 \\| Failing: 0 \\| Crashing: 1")
run(failing_on_another 1 "on the other thread" "\\[FAIL\\] selftest::failing_on_another_thread_fails"
    "${S}1 \\| Passing: 0 \\| Failing: 1 \\| Crashing: 0")
# A whole run: the crash ends it, and says how many did not run.
if(SANITIZE)
  run(selftest:: nonzero "\\[PASS\\] selftest::passing_case_passes" "\\[FAIL\\] selftest::failing_case_fails"
      "Sanitizer: SEGV")
else()
  run(selftest:: 70 "\\[PASS\\] selftest::passing_case_passes" "\\[FAIL\\] selftest::failing_case_fails"
      "Crashing: 1" "did not run")
endif()

if(failures)
  message(FATAL_ERROR "minicrit selftest: ${failures} check(s) failed")
endif()
