// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// Through the result: one nn.batch_norm_backward gives the input, weight
// and bias gradients from the forward's statistics.
// CHECK-LABEL: func.func @result_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x3x5xf32> {{.+}}, %[[W:[a-zA-Z0-9_]+]]: tensor<3xf32> {{.+}}, %[[B:[a-zA-Z0-9_]+]]: tensor<3xf32>
// CHECK: %{{.+}}, %[[M:.+]], %[[V:.+]] = nn.batch_norm %[[X]], %[[W]], %[[B]] {eps = 1.000000e-05 : f64}
// CHECK: %[[DX:.+]], %[[DW:.+]], %[[DB:.+]] = nn.batch_norm_backward %{{.+}}, %[[X]], %[[M]], %[[V]], %[[W]] {eps = 1.000000e-05 : f64} : (tensor<4x3x5xf32>, tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK-NOT: arith.constant
// CHECK: return %{{.+}}, %[[DX]], %[[DW]], %[[DB]]
func.func @result(%x: tensor<4x3x5xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<3xf32> {nn.name = "w", nn.role = #nn.role<input>}, %b: tensor<3xf32> {nn.name = "b", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>)
  %s = nn.mul %y, %y : (tensor<4x3x5xf32>, tensor<4x3x5xf32>) -> tensor<4x3x5xf32>
  %l = nn.sum %s : (tensor<4x3x5xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Through the statistics alone: d mean / dx = 1 / n (n = 4 * 5 = 20),
// d var / dx = 2 (x - mean) / n; no adjoint op and no weight gradient.
// CHECK-LABEL: func.func @statistics_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x3x5xf32>
// CHECK-NOT: nn.batch_norm_backward
// CHECK: %{{.+}}, %[[M:.+]], %{{.+}} = nn.batch_norm
// CHECK: %[[INV:.+]] = arith.constant dense<5.000000e-02> : tensor<f32>
// CHECK: %[[DM:.+]] = nn.mul %{{.+}}, %[[INV]] : (tensor<1x3x1xf32>, tensor<f32>) -> tensor<1x3x1xf32>
// CHECK: %[[MEANTERM:.+]] = nn.broadcast_to %[[DM]] : (tensor<1x3x1xf32>) -> tensor<4x3x5xf32>
// CHECK: %[[MV:.+]] = nn.reshape %[[M]] : (tensor<3xf32>) -> tensor<1x3x1xf32>
// CHECK: %[[CENTERED:.+]] = nn.sub %[[X]], %[[MV]] : (tensor<4x3x5xf32>, tensor<1x3x1xf32>) -> tensor<4x3x5xf32>
// CHECK: %[[TWO:.+]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[K:.+]] = nn.mul %[[INV]], %[[TWO]]
// CHECK: %[[SCALE:.+]] = nn.mul %{{.+}}, %[[K]] : (tensor<1x3x1xf32>, tensor<f32>) -> tensor<1x3x1xf32>
// CHECK: %[[VARTERM:.+]] = nn.mul %[[CENTERED]], %[[SCALE]]
// CHECK: %[[DX:.+]] = nn.add %[[MEANTERM]], %[[VARTERM]] : (tensor<4x3x5xf32>, tensor<4x3x5xf32>) -> tensor<4x3x5xf32>
// CHECK: return %{{.+}}, %[[DX]]
func.func @statistics(%x: tensor<4x3x5xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<f32> attributes {nn.differentiate} {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>)
  %t = nn.add %m, %v : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %l = nn.sum %t : (tensor<3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
