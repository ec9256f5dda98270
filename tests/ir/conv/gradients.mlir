// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// conv: dx and dw are the two adjoint ops with the forward's geometry, db
// sums dy over the batch and the spatial dims.
// CHECK-LABEL: func.func @conv_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x4x9x7xf32> {{.*}}, %[[W:[a-zA-Z0-9_]+]]: tensor<6x2x3x2xf32> {{.*}}, %[[B:[a-zA-Z0-9_]+]]: tensor<6xf32>
// CHECK: %[[Y:.+]] = nn.conv %[[X]], %[[W]], %[[B]]
// CHECK-DAG: nn.conv_backward_input %[[DY:.+]], %[[W]] {dilation = array<i64: 2, 1>, groups = 2 : i64, padding = array<i64: 1, 0, 2, 1>, stride = array<i64: 2, 1>} : (tensor<2x6x4x7xf32>, tensor<6x2x3x2xf32>) -> tensor<2x4x9x7xf32>
// CHECK-DAG: nn.conv_backward_weight %[[X]], %[[DY]] {dilation = array<i64: 2, 1>, groups = 2 : i64, padding = array<i64: 1, 0, 2, 1>, stride = array<i64: 2, 1>} : (tensor<2x4x9x7xf32>, tensor<2x6x4x7xf32>) -> tensor<6x2x3x2xf32>
// CHECK-DAG: nn.sum %[[DY]] {dims = array<i64: 0, 2, 3>} : (tensor<2x6x4x7xf32>) -> tensor<6xf32>
func.func @conv(%x: tensor<2x4x9x7xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<6x2x3x2xf32> {nn.name = "w", nn.role = #nn.role<param>}, %b: tensor<6xf32> {nn.name = "b", nn.role = #nn.role<param>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 1>, padding = array<i64: 1, 0, 2, 1>, dilation = array<i64: 2, 1>, groups = 2 : i64} : (tensor<2x4x9x7xf32>, tensor<6x2x3x2xf32>, tensor<6xf32>) -> tensor<2x6x4x7xf32>
  %l = nn.sum %y : (tensor<2x6x4x7xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Without a bias and with the input inactive, only the weight gradient.
// CHECK-LABEL: func.func @conv_weight_only_grad
// CHECK-NOT: nn.conv_backward_input
// CHECK: nn.conv_backward_weight
// CHECK-NOT: nn.conv_backward_input
// CHECK: return
func.func @conv_weight_only(%x: tensor<1x2x5xf32> {nn.name = "x", nn.role = #nn.role<buffer>}, %w: tensor<3x2x2xf32> {nn.name = "w", nn.role = #nn.role<param>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<1x2x5xf32>, tensor<3x2x2xf32>) -> tensor<1x3x4xf32>
  %l = nn.sum %y : (tensor<1x3x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// conv_backward_input, the transposed convolution (nn.ConvTranspose*d): its
// input (grad_output) gets the convolution of the incoming gradient with the
// same weight and geometry, its weight a conv_backward_weight whose "input"
// is that gradient and whose "grad_output" is the op's own grad_output.
// CHECK-LABEL: func.func @conv_transpose_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x4x3xf32> {{.*}}, %[[W:[a-zA-Z0-9_]+]]: tensor<4x3x3xf32>
// CHECK: nn.conv_backward_input %[[X]], %[[W]]
// CHECK-DAG: nn.conv %[[G:[^,]+]], %[[W]] {dilation = array<i64: 1>, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x3xf32>
// CHECK-DAG: nn.conv_backward_weight %[[G]], %[[X]] {dilation = array<i64: 1>, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<2x3x8xf32>, tensor<2x4x3xf32>) -> tensor<4x3x3xf32>
func.func @conv_transpose(%x: tensor<2x4x3xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<4x3x3xf32> {nn.name = "w", nn.role = #nn.role<param>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.conv_backward_input %x, %w {dilation = array<i64: 1>, groups = 1 : i64, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<2x4x3xf32>, tensor<4x3x3xf32>) -> tensor<2x3x8xf32>
  %l = nn.sum %y : (tensor<2x3x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
