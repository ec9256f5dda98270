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
