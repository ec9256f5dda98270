# kiln_precompile_mlir_headers(<target> [<extra header>...])
#
# Precompiles cmake/mlir_pch.h, and the extra headers given, for <target>
# (one PCH per target: the libraries differ in flags, e.g. the importer's
# exceptions). On the 2-core CI machine the ~100 MLIR-heavy sources were two
# thirds of the build's compile time, most of it spent parsing the same
# MLIR headers in every source.
option(KILN_PCH "Precompile the MLIR headers of the MLIR-heavy libraries" ON)

function(kiln_precompile_mlir_headers target)
  if(NOT KILN_PCH)
    return()
  endif()
  target_precompile_headers(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${PROJECT_SOURCE_DIR}/cmake/mlir_pch.h>
    ${ARGN})
endfunction()
