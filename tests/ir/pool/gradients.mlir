// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// max_pool: dx routes dy to the argmax through max_pool_backward with the
// forward's windows and indices; the indices get no adjoint.
// CHECK-LABEL: func.func @max_pool_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x3x9x7xf32>
// CHECK: %[[Y:.+]], %[[I:.+]] = nn.max_pool %[[X]]
// CHECK: nn.max_pool_backward %{{.+}}, %[[I]] {ceil_mode, dilation = array<i64: 2, 1>, kernel_size = array<i64: 3, 2>, padding = array<i64: 1, 0>, stride = array<i64: 2, 1>} : (tensor<2x3x4x6xf32>, tensor<2x3x4x6xi64>) -> tensor<2x3x9x7xf32>
func.func @max_pool(%x: tensor<2x3x9x7xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 3, 2>, stride = array<i64: 2, 1>, padding = array<i64: 1, 0>, dilation = array<i64: 2, 1>, ceil_mode} : (tensor<2x3x9x7xf32>) -> (tensor<2x3x4x6xf32>, tensor<2x3x4x6xi64>)
  %l = nn.sum %y : (tensor<2x3x4x6xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// sum_pool (adaptive windows): the transposed window sum.
// CHECK-LABEL: func.func @sum_pool_grad
// CHECK: nn.sum_pool_backward %{{.+}} {output_size = array<i64: 3>} : (tensor<1x2x3xf32>) -> tensor<1x2x7xf32>
func.func @sum_pool(%x: tensor<1x2x7xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.sum_pool %x {output_size = array<i64: 3>} : (tensor<1x2x7xf32>) -> tensor<1x2x3xf32>
  %l = nn.sum %y : (tensor<1x2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// max_unpool: dx gathers dy at the indices; the indices get no gradient.
// CHECK-LABEL: func.func @max_unpool_grad
// CHECK: %[[Y:.+]], %[[I:.+]] = nn.max_pool
// CHECK: nn.max_unpool %[[Y]], %[[I]]
// CHECK: %[[DU:.+]] = nn.max_unpool_backward %{{.+}}, %[[I]] : (tensor<1x2x4xf32>, tensor<1x2x2xi64>) -> tensor<1x2x2xf32>
// CHECK: nn.max_pool_backward %[[DU]], %[[I]]
func.func @max_unpool(%x: tensor<1x2x4xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>, stride = array<i64: 2>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<1x2x4xf32>) -> (tensor<1x2x2xf32>, tensor<1x2x2xi64>)
  %u = nn.max_unpool %y, %i : (tensor<1x2x2xf32>, tensor<1x2x2xi64>) -> tensor<1x2x4xf32>
  %l = nn.sum %u : (tensor<1x2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// fractional_max_pool: dx scatter-adds dy at the forward's indices; the
// samples and the indices get no gradient (the samples' is zero).
// CHECK-LABEL: func.func @fractional_grad
// CHECK: %[[Y:.+]], %[[I:.+]] = nn.fractional_max_pool
// CHECK: %[[DX:.+]] = nn.fractional_max_pool_backward %{{.+}}, %[[I]] : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32>
// CHECK: %[[DU:.+]] = arith.constant dense<0.000000e+00> : tensor<2x3x2xf32>
// CHECK: return %{{.+}}, %[[DX]], %[[DU]]
func.func @fractional(%x: tensor<2x3x9x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %u: tensor<2x3x2xf32> {nn.name = "u", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 3>, output_size = array<i64: 5, 4>} : (tensor<2x3x9x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
  %l = nn.sum %y : (tensor<2x3x5x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
