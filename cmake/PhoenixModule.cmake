# phoenix_add_module(NAME <m> [SOURCES ...] [PUBLIC_DEPS ...] [PRIVATE_DEPS ...]
#                    [TEST_DEPS ...])
#
# Makes the static library phoenix_<m> (from SOURCES, else every non-test src/*.cpp) with the alias phoenix::<m>, public headers in
# <m>/include, and one CTest (label `unit`) per <m>/src/*.test.cpp, each its own
# executable so a crash in one suite cannot hide the others.
function(phoenix_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(PHOENIX_ENABLE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(PHOENIX_ENABLE_SANITIZERS)
  # ccache 4.7 does not hash the ignorelist's contents: its digest on the command line
  # makes an edit of the list rebuild (and re-cache) every object.
  file(MD5 ${CMAKE_CURRENT_LIST_DIR}/ubsan-ignore.txt phoenix_ubsan_ignore_md5)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${CMAKE_CURRENT_LIST_DIR}/ubsan-ignore.txt)
  add_compile_definitions(PHOENIX_UBSAN_IGNORELIST_MD5=${phoenix_ubsan_ignore_md5})
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined
                      -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/ubsan-ignore.txt)
  add_link_options(-fsanitize=address,undefined)
endif()

# phoenix_add_test(NAME <n> SOURCES ... DEPS ... LABEL <unit|integration|system>)
function(phoenix_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  phoenix_warnings(${T_NAME})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT})
endfunction()

function(phoenix_add_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  set(target phoenix_${M_NAME})
  if(NOT M_SOURCES)
    # Every src/*.cpp that is not a test belongs to the module.
    file(GLOB_RECURSE M_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")
    list(FILTER M_SOURCES EXCLUDE REGEX "\\.test\\.cpp$")
  endif()
  add_library(${target} STATIC ${M_SOURCES})
  add_library(phoenix::${M_NAME} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/include"
    PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
  target_link_libraries(${target} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  phoenix_warnings(${target})

  if(PHOENIX_ENABLE_TESTS)
    file(GLOB_RECURSE tests CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.test.cpp")
    foreach(test_src IN LISTS tests)
      get_filename_component(test_name "${test_src}" NAME)
      string(REPLACE ".test.cpp" "" test_name "${test_name}")
      phoenix_add_test(NAME ${M_NAME}.${test_name} LABEL unit
        SOURCES "${test_src}"
        DEPS ${target} ${M_PRIVATE_DEPS} ${M_TEST_DEPS})
      target_include_directories(${M_NAME}.${test_name} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
    endforeach()
  endif()
endfunction()
