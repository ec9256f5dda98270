// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// nn.sgd_update without a momentum buffer (momentum = 0). Written in the
// generic form because the custom form `nn.sgd_update %p, %g, %lr, %step`
// does not parse: the optional `, $momentum_buffer` group swallows `, %lr`
// and the parser then wants another ','. sgd-update-no-buffer-roundtrip.mlir
// tracks that bug.

// CHECK-LABEL: func.func @sgd_no_buffer
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[LR:[a-zA-Z0-9_]+]]: tensor<f32>, %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64>)
// CHECK: nn.sgd_update %[[P]], %[[G]], %[[LR]], %[[STEP]] : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
// CHECK: nn.sgd_update %[[P]], %[[G]], %[[LR]], %[[STEP]] {maximize, weight_decay = 0.00999999977 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
// GENERIC: "nn.sgd_update"(%arg0, %arg1, %arg2, %arg3) <{dampening = 0.000000e+00 : f32, momentum = 0.000000e+00 : f32, weight_decay = 0.000000e+00 : f32}> : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
func.func @sgd_no_buffer(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>) {
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  %1 = "nn.sgd_update"(%p, %g, %lr, %step) {weight_decay = 0.01 : f32, maximize} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return %0, %1 : tensor<16xf32>, tensor<16xf32>
}
