// RUN: kilnc --help | FileCheck %s

// Every documented kilnc flag is listed with its description.
// CHECK: OVERVIEW: kilnc: compile a Kiln model file (JSON) into an object file and a C header
// CHECK: USAGE: kilnc [options] <model.json>
// CHECK-DAG: -O <uint>
// CHECK-DAG: --dump-dir=<dir>
// CHECK-DAG: --emit=<value>
// CHECK-DAG: =nn
// CHECK-DAG: =linalg
// CHECK-DAG: =llvm-dialect
// CHECK-DAG: =llvm
// CHECK-DAG: =asm
// CHECK-DAG: =ptx - the GPU kernels' PTX (--target=cuda)
// CHECK-DAG: =obj
// CHECK-DAG: --mcpu=<string>
// CHECK-DAG: --mode=<value>
// CHECK-DAG: =inference
// CHECK-DAG: =train
// CHECK-DAG: -o <file>
// CHECK-DAG: --print-ir-after-all
// CHECK-DAG: --target=<name>
// CHECK-DAG: --timing
// CHECK-DAG: --remarks
// CHECK-DAG: --memory-report
// CHECK-DAG: --gemm-epilogues

// --emulate-gpu is a testing aid: hidden from --help, listed by --help-hidden.
// RUN: kilnc --help | FileCheck %s --check-prefix=PLAIN
// PLAIN-NOT: --emulate-gpu
// RUN: kilnc --help-hidden | FileCheck %s --check-prefix=HIDDEN
// HIDDEN: --emulate-gpu - With --target=cuda: run the GPU kernels as sequential CPU loops
