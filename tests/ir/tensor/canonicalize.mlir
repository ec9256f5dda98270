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
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.broadcast_to %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = nn.sum_to_size %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = nn.permute %x {dims = array<i64: -2, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = nn.slice %x {start = array<i64: 0, 0>, end = array<i64: 4, 8>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = nn.slice_backward %x {start = array<i64: 0, 0>, end = array<i64: 4, 8>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %5 = nn.concat %x {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Ops that do something stay: a real permutation, a strided slice of a
// size-8 dim, a broadcast.
// CHECK-LABEL: func.func @not_identities
// CHECK: nn.permute
// CHECK: nn.slice
// CHECK: nn.broadcast_to
func.func @not_identities(%x: tensor<8x8xf32>, %v: tensor<8xf32>) -> (tensor<8x8xf32>, tensor<8x4xf32>, tensor<8x8xf32>) {
  %0 = nn.permute %x {dims = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %1 = nn.slice %x {start = array<i64: 0, 0>, end = array<i64: 8, 8>, step = array<i64: 1, 2>} : (tensor<8x8xf32>) -> tensor<8x4xf32>
  %2 = nn.broadcast_to %v : (tensor<8xf32>) -> tensor<8x8xf32>
  return %0, %1, %2 : tensor<8x8xf32>, tensor<8x4xf32>, tensor<8x8xf32>
}

// -----

// A chain of concats along one dim (how the DSL records torch.cat of three
// tensors) becomes one; a concat along another dim stays separate.
// CHECK-LABEL: func.func @nested_concat
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<2x4xf32>, %[[C:.+]]: tensor<2x5xf32>)
// CHECK: %[[J:.+]] = nn.concat %[[A]], %[[B]], %[[C]] {dim = 1 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x5xf32>) -> tensor<2x12xf32>
// CHECK: %[[K:.+]] = nn.concat %[[J]], %[[J]] {dim = 0 : i64}
// CHECK: return %[[J]], %[[K]]
func.func @nested_concat(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>, %c: tensor<2x5xf32>) -> (tensor<2x12xf32>, tensor<4x12xf32>) {
  %0 = nn.concat %a, %b {dim = -1 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x7xf32>
  %1 = nn.concat %0, %c {dim = 1 : i64} : (tensor<2x7xf32>, tensor<2x5xf32>) -> tensor<2x12xf32>
  %2 = nn.concat %1, %1 {dim = 0 : i64} : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<4x12xf32>
  return %1, %2 : tensor<2x12xf32>, tensor<4x12xf32>
}

// -----

// slice(slice(x)): one slice of x. Columns 1, 3, 5, 7 then every other of
// those from the second: columns 3 and 7 (end 8 is one past the last).
// CHECK-LABEL: func.func @slice_slice
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[S:.+]] = nn.slice %[[X]] {end = array<i64: 4, 8>, start = array<i64: 1, 3>, step = array<i64: 1, 4>} : (tensor<4x8xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: %[[E:.+]] = nn.slice %[[X]] {end = array<i64: 1, 1>, start = array<i64: 1, 1>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<0x0xf32>
// CHECK-NEXT: return %[[S]], %[[E]]
func.func @slice_slice(%x: tensor<4x8xf32>) -> (tensor<3x2xf32>, tensor<0x0xf32>) {
  %0 = nn.slice %x {start = array<i64: 0, 1>, end = array<i64: 4, 8>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<4x4xf32>
  %1 = nn.slice %0 {start = array<i64: 1, 1>, end = array<i64: 4, 4>, step = array<i64: 1, 2>} : (tensor<4x4xf32>) -> tensor<3x2xf32>
  %2 = nn.slice %0 {start = array<i64: 1, 0>, end = array<i64: 1, 0>, step = array<i64: 1, 1>} : (tensor<4x4xf32>) -> tensor<0x0xf32>
  return %1, %2 : tensor<3x2xf32>, tensor<0x0xf32>
}
