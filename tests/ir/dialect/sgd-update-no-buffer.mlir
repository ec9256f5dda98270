// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// nn.sgd_update without a momentum buffer (momentum = 0): the custom form
// prints and parses back (the buffer is introduced by its keyword, so it
// cannot be confused with the learning rate), and matches the generic form.

// CHECK-LABEL: func.func @sgd_no_buffer
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[LR:[a-zA-Z0-9_]+]]: tensor<f32>, %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64>)
// CHECK: nn.sgd_update %[[P]], %[[G]], lr %[[LR]], step %[[STEP]] : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
// CHECK: nn.sgd_update %[[P]], %[[G]], lr %[[LR]], step %[[STEP]] {maximize, weight_decay = 1.000000e-02 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
// CHECK: nn.sgd_update %[[P]], %[[G]], lr %[[LR]], step %[[STEP]] : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
// GENERIC: "nn.sgd_update"(%arg0, %arg1, %arg2, %arg3) <{dampening = 0.000000e+00 : f64, momentum = 0.000000e+00 : f64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>, weight_decay = 0.000000e+00 : f64}> : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
func.func @sgd_no_buffer(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  %1 = "nn.sgd_update"(%p, %g, %lr, %step) {weight_decay = 0.01 : f64, maximize, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  %2 = nn.sgd_update %p, %g, lr %lr, step %step : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return %0, %1, %2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}
