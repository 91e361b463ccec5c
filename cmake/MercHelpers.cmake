# Build helpers shared by the library, tests, benchmarks and fuzzers.

function(merc_use_ccache)
  find_program(MERC_CCACHE ccache)
  if(MERC_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${MERC_CCACHE} PARENT_SCOPE)
    set(CMAKE_C_COMPILER_LAUNCHER ${MERC_CCACHE} PARENT_SCOPE)
  endif()
endfunction()

function(merc_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(MERC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(merc_set_sanitizers target)
  if(MERC_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# merc_add_test(NAME name SOURCES a.cpp b.cpp [LABELS unit])
# One executable per test area (not per file): each torch-including TU is expensive to compile.
function(merc_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE merc_lib merc_test_main GTest::gtest GTest::gmock)
  target_compile_definitions(${T_NAME} PRIVATE MERC_FIXTURE_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
                                               MERC_SHARED_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data")
  set_target_properties(${T_NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # -O0 and merc_test_main's precompiled header: tests/CMakeLists.txt says why.
  target_compile_options(${T_NAME} PRIVATE -O0)
  target_precompile_headers(${T_NAME} REUSE_FROM merc_test_main)
  merc_set_warnings(${T_NAME})
  merc_set_sanitizers(${T_NAME})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # One CTest entry per executable and label, not per test: every process start loads libtorch
  # (~1 s), which would dominate a per-test registration. Labels come from the test sources
  # (MERC_SLOW_TEST, tests/support/test_labels.h), never from a substring of a test's name.
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --merc_label=unit --gtest_brief=1)
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  add_test(NAME ${T_NAME}.slow COMMAND ${T_NAME} --merc_label=slow)
  set_tests_properties(${T_NAME}.slow PROPERTIES LABELS slow)
  # One OpenBLAS kernel on every x86-64 machine: the AVX-512 kernels sum in another order, and the
  # parity fixtures' Adam steps on elements whose gradient is near Adam's eps (MomkeParity) move by
  # 1.5e-5 instead of 1.5e-6 under them. scripts/results.sh runs with the same kernel.
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set_tests_properties(${T_NAME} ${T_NAME}.slow PROPERTIES ENVIRONMENT "OPENBLAS_CORETYPE=Haswell")
  endif()
endfunction()
