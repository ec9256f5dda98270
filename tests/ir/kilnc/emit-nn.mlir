// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=nn --mode=inference | FileCheck %s --check-prefix=INFER
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=nn | kiln-opt | FileCheck %s --check-prefix=REPARSE
// Plain SGD (momentum 0, no buffer) prints IR that parses back too.
// RUN: kilnc %S/../../parity/models/sgd_plain_basic.json --emit=nn | kiln-opt | FileCheck %s --check-prefix=PLAIN
// PLAIN-COUNT-4: nn.sgd_update %{{[^,]+}}, %{{[^,]+}}, lr %{{[^,]+}}, step %{{[^ ]+}} : (

// --emit=nn: the imported model after autodiff and train-step assembly
// (inlined): forward, loss_grad and train_step.

// CHECK: module attributes {nn.model_name = "tiny_mlp", nn.optimizer = {{{.*}}momentum = 9.000000e-01 : f64{{.*}}type = "SGD"
// CHECK-LABEL: func.func @forward
// CHECK-SAME: {nn.init = #nn.init<uniform {{.+}}>, nn.name = "0.weight", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<4x3xf32>
// CHECK: nn.linear
// CHECK: nn.relu
// CHECK: nn.linear
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: {nn.name = "target", nn.role = #nn.role<target>}) -> (tensor<f32>, tensor<16x8xf32>, tensor<16xf32>, tensor<3x16xf32>, tensor<3xf32>)
// CHECK: nn.cross_entropy_loss_backward
// CHECK: nn.threshold_backward
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: nn.name = "0.weight.momentum_buffer", nn.role = #nn.role<state>
// CHECK-SAME: nn.name = "step", nn.role = #nn.role<step>
// CHECK-SAME: nn.name = "lr", nn.role = #nn.role<lr>
// CHECK-NOT: call
// CHECK-COUNT-4: nn.sgd_update {{.+}} {momentum = 9.000000e-01 : f64}
// CHECK: arith.addi

// INFER-LABEL: func.func @forward
// INFER-NOT: func.func @loss_grad
// INFER-NOT: func.func @train_step
// INFER-NOT: nn.optimizer

// The printed IR parses back (this model uses momentum; see
// dialect/sgd-update-no-buffer-roundtrip.mlir for momentum = 0).
// REPARSE-LABEL: func.func @train_step
