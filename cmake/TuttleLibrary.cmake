# tuttle_library(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
#
# One library per folder: `engine/` becomes tuttle::engine with public headers under
# engine/include/tuttle/engine. Third-party packages are PRIVATE unless they appear in the
# folder's public headers, so the link graph is the architecture.
function(tuttle_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(tuttle_${name} STATIC ${ARG_SOURCES})
  add_library(tuttle::${name} ALIAS tuttle_${name})
  target_include_directories(tuttle_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                            PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(tuttle_${name} PUBLIC ${ARG_PUBLIC_DEPS}
                                       PRIVATE tuttle::options ${ARG_PRIVATE_DEPS})
endfunction()
