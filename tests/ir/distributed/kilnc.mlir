// RUN: kilnc %S/../Inputs/tiny_mlp.json --data-parallel --emit=nn | FileCheck %s
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --data-parallel --mode=inference -o %t.o 2>&1 | FileCheck %s --check-prefix=INFER
// RUN: kilnc %S/../Inputs/tiny_mlp.json --data-parallel -o %t.o && llvm-nm %t.o | FileCheck %s --check-prefix=OBJ
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --bucket-bytes=64 -o %t.o 2>&1 | FileCheck %s --check-prefix=BUCKET
// RUN: not kilnc %S/../Inputs/tiny_mlp.json --data-parallel --bucket-bytes=0 -o %t.o 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: kilnc %S/../Inputs/tiny_mlp.json --data-parallel --bucket-bytes=64 --remarks -o %t.o 2>&1 | FileCheck %s --check-prefix=REMARK

// kilnc --data-parallel: train_step and apply average the gradients (one
// bucket of the four) before the update; lowered in buckets (nn-bucket-
// all-reduce), the object starts and waits for them in the runtime.
// CHECK-LABEL: func.func @train_step
// CHECK: nn.all_reduce %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<16x8xf32>, tensor<16xf32>, tensor<3x16xf32>, tensor<3xf32>
// CHECK-LABEL: func.func @apply
// CHECK: nn.all_reduce
// INFER: error: --data-parallel needs a training build
// OBJ-DAG: U kiln_all_reduce_start
// OBJ-DAG: U kiln_all_reduce_wait
// BUCKET: error: --bucket-bytes needs --data-parallel
// ZERO: error: --bucket-bytes must be at least 1
// Each of the four gradients in a bucket of its own (64 bytes or more each).
// REMARK: training.optimizer: remark: all-reduce: bucket 0 of 4 (1 tensor(s),
// REMARK: training.optimizer: remark: all-reduce: bucket 3 of 4 (1 tensor(s),
