# tuttle_embed(TARGET <lib> SYMBOL <name> BASE <dir> FILES <files...>)
#
# Builds a static library <lib> with one C++ function that returns the given files (paths
# relative to BASE, and their bytes) so the `tuttle` binary carries its default rules and sample
# and runs from any directory. The source is regenerated when any embedded file changes.
#
#   #include "tuttle/engine/embedded_file.h"
#   std::span<const tuttle::EmbeddedFile> <name>();
set(_tuttle_embed_script ${CMAKE_CURRENT_LIST_DIR}/TuttleEmbedGenerate.cmake)

function(tuttle_embed)
  cmake_parse_arguments(ARG "" "TARGET;SYMBOL;BASE" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_embedded.cc)
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_embedded.list)
  file(WRITE ${list_file}.tmp "${ARG_FILES}")
  file(COPY_FILE ${list_file}.tmp ${list_file} ONLY_IF_DIFFERENT)
  set(abs_files)
  foreach(f IN LISTS ARG_FILES)
    list(APPEND abs_files ${ARG_BASE}/${f})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${ARG_SYMBOL} -DBASE=${ARG_BASE}
            -DLIST=${list_file} -P ${_tuttle_embed_script}
    DEPENDS ${abs_files} ${list_file} ${_tuttle_embed_script}
    COMMENT "Embedding ${ARG_SYMBOL}"
    VERBATIM)
  add_library(${ARG_TARGET} STATIC ${out})
  target_link_libraries(${ARG_TARGET} PUBLIC tuttle::engine PRIVATE tuttle::options)
endfunction()
