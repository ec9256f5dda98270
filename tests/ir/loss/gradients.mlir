// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true | FileCheck %s

// binary_cross_entropy: aten's backward dy (x - y) / max(x (1 - x), 1e-12),
// finite at probabilities of exactly 0 and 1; the target gets no gradient.
// CHECK-LABEL: func.func @bce_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<3x4xf32> {{.*}}, %[[T:[a-zA-Z0-9_]+]]: tensor<3x4xf32>
// CHECK: %[[OMX:.+]] = nn.sub %{{.+}}, %[[X]] : (tensor<f32>, tensor<3x4xf32>)
// CHECK: %[[VAR:.+]] = nn.mul %[[X]], %[[OMX]]
// CHECK: %[[EPS:.+]] = arith.constant dense<9.99999996E-13> : tensor<f32>
// CHECK: %[[DEN:.+]] = nn.maximum %[[VAR]], %[[EPS]]
// CHECK: %[[DIFF:.+]] = nn.sub %[[X]], %[[T]]
// CHECK: %[[Q:.+]] = nn.div %[[DIFF]], %[[DEN]]
// CHECK: nn.mul %{{.+}}, %[[Q]]
func.func @bce(%x: tensor<3x4xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<3x4xf32> {nn.name = "t", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %l = nn.binary_cross_entropy %x, %t : tensor<3x4xf32>
  %s = nn.sum %l : (tensor<3x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// nll_loss: its backward op with the forward's weight, reduction and
// ignore_index; the target and the weight get no gradient.
// CHECK-LABEL: func.func @nll_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x5x3xf32> {{.*}}, %[[T:[a-zA-Z0-9_]+]]: tensor<2x3xi64>
// CHECK: %[[W:.+]] = arith.constant dense<{{.+}}> : tensor<5xf32>
// CHECK: nn.nll_loss_backward %{{.+}}, %[[X]], %[[T]] weight %[[W]] {ignore_index = 1 : i64} : (tensor<f32>, tensor<2x5x3xf32>, tensor<2x3xi64>, tensor<5xf32>) -> tensor<2x5x3xf32>
func.func @nll(%x: tensor<2x5x3xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2x3xi64> {nn.name = "t", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %w = arith.constant dense<[1.0, 2.0, 0.5, 1.0, 3.0]> : tensor<5xf32>
  %l = nn.nll_loss %x, %t weight %w {ignore_index = 1 : i64} : (tensor<2x5x3xf32>, tensor<2x3xi64>, tensor<5xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
