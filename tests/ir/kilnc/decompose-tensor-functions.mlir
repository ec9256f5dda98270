// RUN: kilnc %S/../Inputs/tiny_tensor_functions.json --emit=nn --mode=inference | FileCheck %s

// The tensor functions of issue 9 (item 5) are built by their registry
// entries from existing ops (frontend/import/Elementwise.cpp, TensorOps.cpp).

// CHECK-LABEL: func.func @forward(
// CHECK: %[[H:.+]] = nn.linear
// clamp(min=-0.5): where(x < min, min, x); no max given, no second select.
// CHECK: %[[MIN:.+]] = arith.constant dense<-5.000000e-01> : tensor<f32>
// CHECK: %[[LT:.+]] = nn.compare lt, %[[H]], %[[MIN]]
// CHECK: %[[C:.+]] = nn.where %[[LT]], %[[MIN]], %[[H]]
// matmul of [2, 3, 4] and a batched [2, 4, 5]: the batch shapes agree, so
// one batched nn.matmul and no broadcast.
// CHECK-NOT: nn.broadcast_to
// CHECK: %[[BM:.+]] = nn.matmul %[[C]], %arg3 : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
// w[-1:] (Python bounds: start -1 is 1), then squeeze(0).
// CHECK: %[[WS:.+]] = nn.slice %arg3 {end = array<i64: 2, 4, 5>, start = array<i64: 1, 0, 0>, step = array<i64: 1, 1, 1>}
// CHECK: %[[W2:.+]] = nn.reshape %[[WS]] : (tensor<1x4x5xf32>) -> tensor<4x5xf32>
// matmul with a 2-D rhs: the lhs's batch folds into rows, one nn.matmul.
// CHECK: %[[ROWS:.+]] = nn.reshape %[[H]] : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK: %[[MM:.+]] = nn.matmul %[[ROWS]], %[[W2]] : (tensor<6x4xf32>, tensor<4x5xf32>) -> tensor<6x5xf32>
// CHECK: %[[MM3:.+]] = nn.reshape %[[MM]] : (tensor<6x5xf32>) -> tensor<2x3x5xf32>
// split([2, 3], -1): one slice per piece.
// CHECK: %[[P0:.+]] = nn.slice %[[MM3]] {end = array<i64: 2, 3, 2>, start = array<i64: 0, 0, 0>, step = array<i64: 1, 1, 1>}
// CHECK: %[[P1:.+]] = nn.slice %[[MM3]] {end = array<i64: 2, 3, 5>, start = array<i64: 0, 0, 2>, step = array<i64: 1, 1, 1>}
// index_select([2, 0, 0]): index 2, then the run 0, 0 (no even step: one
// slice per element), joined by one concat.
// CHECK: %[[I0:.+]] = nn.slice %[[P1]] {end = array<i64: 2, 3, 3>, start = array<i64: 0, 0, 2>
// CHECK: %[[I1:.+]] = nn.slice %[[P1]] {end = array<i64: 2, 3, 1>, start = array<i64: 0, 0, 0>
// CHECK: %[[I2:.+]] = nn.slice %[[P1]] {end = array<i64: 2, 3, 1>, start = array<i64: 0, 0, 0>
// CHECK: %[[IX:.+]] = nn.concat %[[I0]], %[[I1]], %[[I2]] {dim = 2 : i64}
// stack([p0, p0], 1): unsqueeze each, one concat.
// CHECK: %[[S0:.+]] = nn.reshape %[[P0]] : (tensor<2x3x2xf32>) -> tensor<2x1x3x2xf32>
// CHECK: %[[S1:.+]] = nn.reshape %[[P0]] : (tensor<2x3x2xf32>) -> tensor<2x1x3x2xf32>
// CHECK: %[[ST:.+]] = nn.concat %[[S0]], %[[S1]] {dim = 1 : i64} : (tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>) -> tensor<2x2x3x2xf32>
// gt(other=0.0) is a bool mask; masked_fill(value=-1.0) selects with it.
// CHECK: %[[MASK:.+]] = nn.compare gt, %[[IX]], %{{.+}} : (tensor<2x3x3xf32>, tensor<f32>) -> tensor<2x3x3xi1>
// CHECK: %[[FILL:.+]] = arith.constant dense<-1.000000e+00> : tensor<f32>
// CHECK: %[[MF:.+]] = nn.where %[[MASK]], %[[FILL]], %[[IX]]
// transpose(-1, -2) is a permute.
// CHECK: %[[BT:.+]] = nn.permute %[[BM]] {dims = array<i64: 0, 2, 1>} : (tensor<2x3x5xf32>) -> tensor<2x5x3xf32>
// mul(other=0.5): the number as a broadcasting constant.
// CHECK: %[[HALF:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[Y:.+]] = nn.mul %[[MF]], %[[HALF]]
// CHECK: return %[[Y]], %[[BT]], %[[ST]]
