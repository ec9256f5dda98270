// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=linalg | FileCheck %s

// --emit=linalg: every nn op is lowered; the entry points are renamed
// <model>__forward / __gradients / __train_step.
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK-LABEL: func.func @tiny_mlp__forward
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK: linalg.matmul
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK-LABEL: func.func @tiny_mlp__gradients
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK: linalg.matmul_transpose_a
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK-LABEL: func.func @tiny_mlp__train_step
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
// CHECK: linalg.generic
// CHECK-NOT: {{^ *(%[^ ]+ = )?nn\.}}
