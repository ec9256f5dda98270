// RUN: kilnc %S/Inputs/tiny_pad.json --emit=nn --mode=inference | FileCheck %s

// What the importer builds for the padding layers on an unbatched [3, 5]
// input: torch's padding order (last dimension first), each padded
// dimension one nn.concat of side pieces; ReflectionPad one slice per
// padded row (x[2], x[1] | x | x[3]); ReplicationPad the edge row
// broadcast; ConstantPad's negative side a slice (cropping) and its value a
// broadcast scalar; ZeroPad2d on a 2-D input pads dimension 0.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<3x5xf32>
// ReflectionPad1d((2, 1)).
// CHECK: %[[L2:.+]] = nn.slice %[[X]] {end = array<i64: 3, 3>, start = array<i64: 0, 2>, step = array<i64: 1, 1>}
// CHECK: %[[L1:.+]] = nn.slice %[[X]] {end = array<i64: 3, 2>, start = array<i64: 0, 1>, step = array<i64: 1, 1>}
// CHECK: %[[R3:.+]] = nn.slice %[[X]] {end = array<i64: 3, 4>, start = array<i64: 0, 3>, step = array<i64: 1, 1>}
// CHECK: %[[P0:.+]] = nn.concat %[[L2]], %[[L1]], %[[X]], %[[R3]] {dim = 1 : i64} : {{.+}} -> tensor<3x8xf32>
// ReplicationPad1d((1, 0)): the first column, once before.
// CHECK: %[[E:.+]] = nn.slice %[[P0]] {end = array<i64: 3, 1>, start = array<i64: 0, 0>, step = array<i64: 1, 1>}
// CHECK: %[[EB:.+]] = nn.broadcast_to %[[E]] : (tensor<3x1xf32>) -> tensor<3x1xf32>
// CHECK: %[[P1:.+]] = nn.concat %[[EB]], %[[P0]] {dim = 1 : i64} : {{.+}} -> tensor<3x9xf32>
// ConstantPad1d((-1, 2), 0.5): crop one column before, two columns of 0.5 after.
// CHECK: %[[C:.+]] = nn.slice %[[P1]] {end = array<i64: 3, 9>, start = array<i64: 0, 1>, step = array<i64: 1, 1>} : (tensor<3x9xf32>) -> tensor<3x8xf32>
// CHECK: %[[V:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[VB:.+]] = nn.broadcast_to %[[V]] : (tensor<f32>) -> tensor<3x2xf32>
// CHECK: %[[P2:.+]] = nn.concat %[[C]], %[[VB]] {dim = 1 : i64} : {{.+}} -> tensor<3x10xf32>
// ZeroPad2d((0, 0, 1, 0)): one row of zeros on top.
// CHECK: %[[Z:.+]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[ZB:.+]] = nn.broadcast_to %[[Z]] : (tensor<f32>) -> tensor<1x10xf32>
// CHECK: %[[Y:.+]] = nn.concat %[[ZB]], %[[P2]] {dim = 0 : i64} : {{.+}} -> tensor<4x10xf32>
// CHECK: return %[[Y]]
