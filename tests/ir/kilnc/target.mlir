// --target names a row of the target table (codegen/Backend.cpp); any other
// name is an error that lists the known targets, and --help lists them too.

// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cpu --emit=descriptor | FileCheck %s --check-prefix=DESC
// DESC: name tiny_mlp
// DESC-NEXT: device cpu

// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda --emit=descriptor | FileCheck %s --check-prefix=CUDA
// CUDA: name tiny_mlp
// CUDA-NEXT: device cuda

// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=tpu 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: kilnc: error: --target=tpu is not supported yet (targets: cpu, cuda)

// An architecture LLVM 19's NVPTX target cannot emit, or one for the CPU.
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=cuda:sm_100 2>&1 | FileCheck %s --check-prefix=ARCH
// ARCH: kilnc: error: --target=cuda:sm_100: no PTX for 'sm_100': kilnc emits PTX ISA 8.0 through LLVM 19's NVPTX target, for sm_50, {{.*}}, sm_90, sm_90a (PTX for sm_90 also runs on newer GPUs, JIT-compiled by the driver)
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=cuda:gfx90a 2>&1 | FileCheck %s --check-prefix=ARCH2
// ARCH2: kilnc: error: --target=cuda:gfx90a: no PTX for 'gfx90a'
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=cuda:sm_35 2>&1 | FileCheck %s --check-prefix=ARCH3
// ARCH3: kilnc: error: --target=cuda:sm_35: no PTX for 'sm_35'
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --target=cpu:sm_80 2>&1 | FileCheck %s --check-prefix=CPUARCH
// CPUARCH: kilnc: error: --target=cpu:sm_80: --target=cpu takes no architecture ('cpu:sm_80'); the CPU is chosen with --mcpu

// PTX is the CUDA target's alone.
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --emit=ptx 2>&1 | FileCheck %s --check-prefix=NOPTX
// NOPTX: error: --emit=ptx is not supported by --target=cpu

// RUN: kilnc --help | FileCheck %s --check-prefix=HELP
// HELP: --target=<name> - Target to compile for, <name>[:<arch>] (default: cpu):
// HELP-NEXT: cpu - the host CPU: tiled, vectorized loops on the runtime's thread pool
// HELP-NEXT: cuda - NVIDIA GPUs (cuda[:sm_XX], default sm_90): PTX kernels and cuBLAS calls, launched by host code through libkiln_rt
