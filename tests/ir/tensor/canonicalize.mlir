// RUN: kiln-opt %s --canonicalize --split-input-file | FileCheck %s

// reshape(reshape(x)) -> one reshape; back to x's own type -> x.
// CHECK-LABEL: func.func @reshape_reshape
// CHECK-SAME: (%[[X:.+]]: tensor<4x6xf32>)
// CHECK-NEXT: %[[R:.+]] = nn.reshape %[[X]] : (tensor<4x6xf32>) -> tensor<3x8xf32>
// CHECK-NEXT: return %[[R]], %[[X]]
func.func @reshape_reshape(%x: tensor<4x6xf32>) -> (tensor<3x8xf32>, tensor<4x6xf32>) {
  %0 = nn.reshape %x : (tensor<4x6xf32>) -> tensor<24xf32>
  %1 = nn.reshape %0 : (tensor<24xf32>) -> tensor<3x8xf32>
  %2 = nn.reshape %0 : (tensor<24xf32>) -> tensor<4x6xf32>
  return %1, %2 : tensor<3x8xf32>, tensor<4x6xf32>
}

// -----

// Ops that keep the type and move nothing fold to their input.
// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NOT: nn.
// CHECK: return %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.broadcast_to %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = nn.sum_to_size %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = nn.permute %x {dims = array<i64: -2, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Ops that do something stay: a real permutation, a broadcast.
// CHECK-LABEL: func.func @not_identities
// CHECK: nn.permute
// CHECK: nn.broadcast_to
func.func @not_identities(%x: tensor<8x8xf32>, %v: tensor<8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %0 = nn.permute %x {dims = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %2 = nn.broadcast_to %v : (tensor<8xf32>) -> tensor<8x8xf32>
  return %0, %2 : tensor<8x8xf32>, tensor<8x8xf32>
}
