// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of nn.gather and its adjoint, and nn.broadcast_to of indices.
// CHECK-LABEL: func.func @index_ops
// CHECK: %[[B:.+]] = nn.broadcast_to %{{.+}} : (tensor<3x1xi64>) -> tensor<3x5xi64>
// CHECK: %[[G:.+]] = nn.gather %{{.+}}, %[[B]] {dim = 0 : i64} : (tensor<10x5xf32>, tensor<3x5xi64>) -> tensor<3x5xf32>
// CHECK: nn.gather_backward %[[G]], %[[B]] {dim = 0 : i64} : (tensor<3x5xf32>, tensor<3x5xi64>) -> tensor<10x5xf32>
func.func @index_ops(%w: tensor<10x5xf32>, %i: tensor<3x1xi64>) -> tensor<10x5xf32> {
  %b = nn.broadcast_to %i : (tensor<3x1xi64>) -> tensor<3x5xi64>
  %g = nn.gather %w, %b {dim = 0 : i64} : (tensor<10x5xf32>, tensor<3x5xi64>) -> tensor<3x5xf32>
  %d = nn.gather_backward %g, %b {dim = 0 : i64} : (tensor<3x5xf32>, tensor<3x5xi64>) -> tensor<10x5xf32>
  return %d : tensor<10x5xf32>
}

// -----

// argmax along a dim (dropped or kept), of the flattened input, of a scalar.
// CHECK-LABEL: func.func @argmax
// CHECK: nn.argmax %{{.+}} {dim = -1 : i64} : (tensor<4x10xf32>) -> tensor<4xi64>
// CHECK: nn.argmax %{{.+}} {dim = 0 : i64, keepdim} : (tensor<4x10xf32>) -> tensor<1x10xi64>
// CHECK: nn.argmax %{{.+}} : (tensor<4x10xf32>) -> tensor<i64>
// CHECK: nn.argmax %{{.+}} {keepdim} : (tensor<4x10xf32>) -> tensor<1x1xi64>
// CHECK: nn.argmax %{{.+}} {dim = 0 : i64} : (tensor<f32>) -> tensor<i64>
func.func @argmax(%x: tensor<4x10xf32>, %s: tensor<f32>) -> (tensor<4xi64>, tensor<1x10xi64>, tensor<i64>, tensor<1x1xi64>, tensor<i64>) {
  %a = nn.argmax %x {dim = -1 : i64} : (tensor<4x10xf32>) -> tensor<4xi64>
  %b = nn.argmax %x {dim = 0 : i64, keepdim} : (tensor<4x10xf32>) -> tensor<1x10xi64>
  %c = nn.argmax %x : (tensor<4x10xf32>) -> tensor<i64>
  %d = nn.argmax %x {keepdim} : (tensor<4x10xf32>) -> tensor<1x1xi64>
  %e = nn.argmax %s {dim = 0 : i64} : (tensor<f32>) -> tensor<i64>
  return %a, %b, %c, %d, %e : tensor<4xi64>, tensor<1x10xi64>, tensor<i64>, tensor<1x1xi64>, tensor<i64>
}
