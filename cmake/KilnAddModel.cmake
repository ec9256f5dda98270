# kiln_add_model(<name> SOURCES <dsl sources...> [MODE train|inference] [KILNC_FLAGS ...]
#                [PROGRAM_ARGS ...])
# kiln_add_model(<name> JSON <model.json>          [MODE train|inference] [KILNC_FLAGS ...])
#
# In the spirit of Halide's add_halide_library: builds the DSL program from
# SOURCES (linked against kiln_frontend), runs it to write <name>.json, runs
# kilnc on it, and defines the static library target <name> that carries the
# object file, links libkiln_rt, and exposes <name>.h on its include path.
# The DSL program is run as `<program> <output.json> [PROGRAM_ARGS...]` (one
# DSL source can so describe variants of a model, e.g. another input size).
#
# KILN_KILNC names an existing kilnc to run instead of this build's target,
# so that a build of the runtime and its tests with other flags (ThreadSanitizer:
# scripts/build-and-test.sh --tsan) compiles its models without building, let
# alone instrumenting, the compiler. Models depend on that file: a newer kilnc
# recompiles them.
set(KILN_KILNC "" CACHE FILEPATH
    "kilnc for kiln_add_model to run instead of building this tree's (empty: build it)")

function(kiln_add_model name)
  cmake_parse_arguments(ARG "" "JSON;MODE" "SOURCES;KILNC_FLAGS;PROGRAM_ARGS" ${ARGN})
  if(NOT ARG_MODE)
    set(ARG_MODE train)
  endif()
  set(outdir ${CMAKE_CURRENT_BINARY_DIR}/${name}.kiln)
  if(ARG_SOURCES)
    add_executable(${name}_model_program ${ARG_SOURCES})
    target_link_libraries(${name}_model_program PRIVATE kiln_frontend)
    set(json ${outdir}/${name}.json)
    add_custom_command(OUTPUT ${json}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${outdir}
      COMMAND $<TARGET_FILE:${name}_model_program> ${json} ${ARG_PROGRAM_ARGS}
      DEPENDS ${name}_model_program
      COMMENT "Tracing model ${name}")
  elseif(ARG_JSON)
    get_filename_component(json ${ARG_JSON} ABSOLUTE)
  else()
    message(FATAL_ERROR "kiln_add_model(${name}): give SOURCES or JSON")
  endif()
  if(KILN_KILNC)
    set(kilnc ${KILN_KILNC})
    set(kilnc_dependency ${KILN_KILNC})
  else()
    set(kilnc $<TARGET_FILE:kilnc>)
    set(kilnc_dependency kilnc)
  endif()
  set(obj ${outdir}/${name}.o)
  set(hdr ${outdir}/${name}.h)
  add_custom_command(OUTPUT ${obj} ${hdr}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${outdir}
    COMMAND ${kilnc} ${json} -o ${obj} --mode=${ARG_MODE} ${ARG_KILNC_FLAGS}
    DEPENDS ${kilnc_dependency} ${json}
    COMMENT "Compiling model ${name} with kilnc")
  add_library(${name} STATIC ${obj})
  set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C)
  target_include_directories(${name} INTERFACE ${outdir})
  target_link_libraries(${name} INTERFACE kiln_rt)
  add_custom_target(${name}_generated DEPENDS ${obj} ${hdr})
  add_dependencies(${name} ${name}_generated)
endfunction()

# kiln_add_model_renamed(<name> JSON <model.json> FROM <its model name>
#                        [DIR <directory>] [MODE train|inference] [KILNC_FLAGS ...])
#
# The model file once more under model name <name> (its symbols, header and
# library follow the name), written to DIR (default: this binary directory)
# at configure time and compiled like kiln_add_model: to build one model
# with other kilnc flags beside the original. A file without the model name
# `FROM` is a configure error (it would define the same symbols twice).
function(kiln_add_model_renamed name)
  cmake_parse_arguments(ARG "" "JSON;FROM;DIR;MODE" "KILNC_FLAGS" ${ARGN})
  if(NOT ARG_DIR)
    set(ARG_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  if(NOT ARG_MODE)
    set(ARG_MODE train)
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ARG_JSON})
  file(READ ${ARG_JSON} text)
  string(REPLACE "\"name\": \"${ARG_FROM}\"" "\"name\": \"${name}\"" renamed "${text}")
  if(renamed STREQUAL text)
    message(FATAL_ERROR "kiln_add_model_renamed(${name}): ${ARG_JSON} names no model ${ARG_FROM}")
  endif()
  file(CONFIGURE OUTPUT ${ARG_DIR}/${name}.json CONTENT "${renamed}" @ONLY)
  kiln_add_model(${name} JSON ${ARG_DIR}/${name}.json MODE ${ARG_MODE}
                 KILNC_FLAGS ${ARG_KILNC_FLAGS})
endfunction()
