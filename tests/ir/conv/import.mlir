// RUN: kilnc %S/../Inputs/tiny_conv.json --emit=nn --mode=inference | FileCheck %s

// What the importer builds for Conv1d: an unbatched input convolved as a
// batch of one; padding="same" with an even kernel resolved to torch's
// asymmetric padding (the odd one after); padding_mode="reflect" as
// slices + concat before a convolution with padding 0. Initializers:
// U(+-1/sqrt(in_channels / groups * kernel)).

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[W0:[a-zA-Z0-9_]+]]: tensor<4x3x4xf32> {nn.init = #nn.init<uniform -0.2886751345948129, 0.2886751345948129>, nn.name = "0.weight", nn.role = #nn.role<param>}
// CHECK-SAME: %[[B0:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<uniform -0.2886751345948129, 0.2886751345948129>, nn.name = "0.bias", nn.role = #nn.role<param>}
// CHECK-SAME: %[[W1:[a-zA-Z0-9_]+]]: tensor<2x4x2xf32> {nn.init = #nn.init<uniform -0.35355339059327373, 0.35355339059327373>, nn.name = "1.weight", nn.role = #nn.role<param>}
// CHECK: %[[X:.+]] = nn.reshape %{{.+}} : (tensor<3x7xf32>) -> tensor<1x3x7xf32>
// reflect, kernel 4: one row before (x[1]), two after (x[5], x[4]).
// CHECK: %[[L:.+]] = nn.slice %[[X]] {end = array<i64: 1, 3, 2>, start = array<i64: 0, 0, 1>, step = array<i64: 1, 1, 1>}
// CHECK: %[[R1:.+]] = nn.slice %[[X]] {end = array<i64: 1, 3, 6>, start = array<i64: 0, 0, 5>, step = array<i64: 1, 1, 1>}
// CHECK: %[[R2:.+]] = nn.slice %[[X]] {end = array<i64: 1, 3, 5>, start = array<i64: 0, 0, 4>, step = array<i64: 1, 1, 1>}
// CHECK: %[[P:.+]] = nn.concat %[[L]], %[[X]], %[[R1]], %[[R2]] {dim = 2 : i64} : {{.+}} -> tensor<1x3x10xf32>
// CHECK: nn.conv %[[P]], %[[W0]], %[[B0]] {dilation = array<i64: 1>, padding = array<i64: 0>, stride = array<i64: 1>} : (tensor<1x3x10xf32>, tensor<4x3x4xf32>, tensor<4xf32>) -> tensor<1x4x7xf32>
// zeros, kernel 2: nothing before, one after.
// CHECK: %[[Y:.+]] = nn.conv %{{.+}}, %[[W1]] {dilation = array<i64: 1>, padding = array<i64: 0, 1>, stride = array<i64: 1>} : (tensor<1x4x7xf32>, tensor<2x4x2xf32>) -> tensor<1x2x7xf32>
// CHECK: nn.reshape %[[Y]] : (tensor<1x2x7xf32>) -> tensor<2x7xf32>
