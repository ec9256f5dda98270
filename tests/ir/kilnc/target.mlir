// --target names a row of the target table (codegen/Backend.cpp); any other
// name is an error that lists the known targets, and --help lists them too.

// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cpu --emit=descriptor | FileCheck %s --check-prefix=DESC
// DESC: name tiny_mlp
// DESC-NEXT: device cpu

// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=cuda 2>&1 | FileCheck %s --check-prefix=CUDA
// CUDA: kilnc: error: --target=cuda is not supported yet (targets: cpu)

// RUN: kilnc --help | FileCheck %s --check-prefix=HELP
// HELP: --target=<name> - Target to compile for (default: cpu):
// HELP-NEXT: cpu - the host CPU: tiled, vectorized loops on the runtime's thread pool
