// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// tanh: dx = dy (1 - y^2), built from nn ops on the forward result.
// CHECK-LABEL: func.func @tanh_grad
// CHECK: %[[Y:.+]] = nn.tanh %[[X:[a-zA-Z0-9_]+]] : tensor<4xf32>
// CHECK: %[[YY:.+]] = nn.mul %[[Y]], %[[Y]]
// CHECK: %[[D:.+]] = nn.sub %{{.+}}, %[[YY]] : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: nn.mul %{{.+}}, %[[D]]
func.func @tanh(%x: tensor<4xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.tanh %x : tensor<4xf32>
  %l = nn.sum %y : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// maximum: the gradient goes to the larger side, half each on ties.
// CHECK-LABEL: func.func @maximum_grad
// CHECK: nn.compare eq
// CHECK: nn.where
// CHECK: nn.compare lt
// CHECK: nn.where
// CHECK: nn.compare gt
// CHECK: nn.where
// CHECK: nn.sum_to_size {{.+}} -> tensor<f32>
func.func @maximum(%x: tensor<4xf32> {nn.name = "x", nn.role = #nn.role<input>}, %s: tensor<f32> {nn.name = "s", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.maximum %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %l = nn.sum %y : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// mean over dim 0 of [3, 4]: dy / 3 reshaped to [1, 4] and broadcast.
// CHECK-LABEL: func.func @mean_grad
// CHECK: nn.div %{{.+}}, %{{.+}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK: nn.reshape %{{.+}} : (tensor<4xf32>) -> tensor<1x4xf32>
// CHECK: nn.broadcast_to %{{.+}} : (tensor<1x4xf32>) -> tensor<3x4xf32>
func.func @mean(%x: tensor<3x4xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %m = nn.mean %x {dims = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
  %l = nn.sum %m : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// permute: the gradient is the inverse permutation of dy.
// CHECK-LABEL: func.func @permute_grad
// CHECK: nn.permute %{{.+}} {dims = array<i64: 1, 2, 0>} : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
func.func @permute(%x: tensor<2x3x4xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %p = nn.permute %x {dims = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %l = nn.sum %p : (tensor<4x2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// pow: d/da = dy (b a^(b-1)), 0 where b == 0; d/db = dy (a^b ln a), 0 where
// a == 0 and b >= 0 (torch's pow_backward_self / _exponent); b's gradient
// summed to its shape [4].
// CHECK-LABEL: func.func @pow_grad
// CHECK: %[[Y:.+]] = nn.pow %[[A:[a-zA-Z0-9_]+]], %[[B:[a-zA-Z0-9_]+]] : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// CHECK: %[[BM1:.+]] = nn.sub %[[B]], %{{.+}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK: %[[P:.+]] = nn.pow %[[A]], %[[BM1]]
// CHECK: %[[BP:.+]] = nn.mul %[[B]], %[[P]]
// CHECK: %[[GA:.+]] = nn.mul %[[DY:.+]], %[[BP]]
// CHECK: %[[B0:.+]] = nn.compare eq, %[[B]], %{{.+}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
// CHECK: nn.where %[[B0]], %{{.+}}, %[[GA]] : (tensor<4xi1>, tensor<f32>, tensor<3x4xf32>) -> tensor<3x4xf32>
// CHECK: %[[LOG:.+]] = nn.log %[[A]]
// CHECK: %[[T:.+]] = nn.mul %[[Y]], %[[LOG]]
// CHECK: %[[BGE:.+]] = nn.compare ge, %[[B]]
// CHECK: %[[IN:.+]] = nn.where %[[BGE]], %{{.+}}, %[[T]]
// CHECK: %[[A0:.+]] = nn.compare eq, %[[A]]
// CHECK: %[[G:.+]] = nn.where %[[A0]], %[[IN]], %[[T]]
// CHECK: %[[GB:.+]] = nn.mul %[[DY]], %[[G]]
// CHECK: nn.sum_to_size %[[GB]] : (tensor<3x4xf32>) -> tensor<4xf32>
func.func @pow(%a: tensor<3x4xf32> {nn.name = "a", nn.role = #nn.role<input>}, %b: tensor<4xf32> {nn.name = "b", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.pow %a, %b : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %l = nn.sum %y : (tensor<3x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
