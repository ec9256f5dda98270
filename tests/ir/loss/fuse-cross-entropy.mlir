// RUN: kiln-opt %s --split-input-file --nn-fuse-cross-entropy=remarks=true --verify-diagnostics | FileCheck %s

// A loss and its backward with a seed constant: one op, where the forward
// stood, both results used.
// CHECK-LABEL: func.func @seed
// CHECK:         %[[ONE:.+]] = arith.constant
// CHECK:         %[[L:.+]], %[[DX:.+]] = nn.cross_entropy_loss_with_grad %[[ONE]], %arg0, %arg1 reduction sum {ignore_index = 1 : i64, label_smoothing = 2.500000e-01 : f64}
// CHECK-NOT:     nn.cross_entropy_loss
// CHECK:         return %[[L]], %[[DX]]
func.func @seed(%x: tensor<4x3xf32>, %t: tensor<4xi64>) -> (tensor<f32>, tensor<4x3xf32>) {
  %one = arith.constant dense<1.0> : tensor<f32>
  // expected-remark@+1 {{fusion: cross_entropy_loss and its backward computed as one op (softmax statistics once)}}
  %l = nn.cross_entropy_loss %x, %t reduction sum {label_smoothing = 0.25 : f64, ignore_index = 1 : i64} : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  %dx = nn.cross_entropy_loss_backward %one, %x, %t reduction sum {label_smoothing = 0.25 : f64, ignore_index = 1 : i64} : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return %l, %dx : tensor<f32>, tensor<4x3xf32>
}

// -----

// The seed is computed after the loss but not from it: the fused op stands
// where the backward stood.
// CHECK-LABEL: func.func @late_seed
// CHECK:         %[[G:.+]] = nn.mul
// CHECK-NEXT:    %{{.+}}, %{{.+}} = nn.cross_entropy_loss_with_grad %[[G]]
func.func @late_seed(%x: tensor<4x3xf32>, %t: tensor<4xi64>, %s: tensor<f32>) -> (tensor<f32>, tensor<4x3xf32>) {
  // expected-remark@+1 {{fusion: cross_entropy_loss and its backward computed as one op}}
  %l = nn.cross_entropy_loss %x, %t : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  %g = nn.mul %s, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %dx = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return %l, %dx : tensor<f32>, tensor<4x3xf32>
}

// -----

// The incoming gradient is computed from the loss: the pair stays.
// CHECK-LABEL: func.func @seed_from_loss
// CHECK:         nn.cross_entropy_loss %
// CHECK:         nn.cross_entropy_loss_backward
func.func @seed_from_loss(%x: tensor<4x3xf32>, %t: tensor<4xi64>) -> (tensor<f32>, tensor<4x3xf32>) {
  %l = nn.cross_entropy_loss %x, %t : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  %g = nn.mul %l, %l : (tensor<f32>, tensor<f32>) -> tensor<f32>
  // expected-remark@+1 {{fusion: cross_entropy_loss_backward not fused with its forward: its incoming gradient is computed from the loss}}
  %dx = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return %g, %dx : tensor<f32>, tensor<4x3xf32>
}

// -----

// Different attributes: two different losses, nothing fused.
// CHECK-LABEL: func.func @other_smoothing
// CHECK:         nn.cross_entropy_loss %
// CHECK:         nn.cross_entropy_loss_backward
func.func @other_smoothing(%x: tensor<4x3xf32>, %t: tensor<4xi64>, %g: tensor<f32>) -> (tensor<f32>, tensor<4x3xf32>) {
  %l = nn.cross_entropy_loss %x, %t {label_smoothing = 0.1 : f64} : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  %dx = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return %l, %dx : tensor<f32>, tensor<4x3xf32>
}
