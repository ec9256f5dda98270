// RUN: kilnc %S/Inputs/tiny_pool.json --emit=nn --mode=inference | FileCheck %s

// What the importer builds for the pooling layers on an unbatched [2, 5]
// input: a batch dimension of 1 around each layer; AvgPool1d as a sum pool
// over a constant divisor per output position (here count_include_pad off
// and ceil_mode's clipped last window: windows [-1, 2), [1, 4), [3, 6) hold
// 2, 3 and 2 input elements); MaxPool1d's options left out are torch's
// defaults (stride None: its kernel size; padding 0, dilation 1);
// LPPool1d is torch's formula over avg_pool(x^p); AdaptiveAvgPool1d
// divides by its window lengths.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<2x5xf32>
// CHECK: %[[XB:.+]] = nn.reshape %[[X]] : (tensor<2x5xf32>) -> tensor<1x2x5xf32>
// CHECK: %[[S:.+]] = nn.sum_pool %[[XB]] {ceil_mode, dilation = array<i64: 1>, kernel_size = array<i64: 3>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<1x2x5xf32>) -> tensor<1x2x3xf32>
// CHECK: %[[D:.+]] = arith.constant dense<[2.000000e+00, 3.000000e+00, 2.000000e+00]> : tensor<3xf32>
// CHECK: nn.div %[[S]], %[[D]] : (tensor<1x2x3xf32>, tensor<3xf32>) -> tensor<1x2x3xf32>
// CHECK: %{{.+}}, %{{.+}} = nn.max_pool %{{.+}} {ceil_mode, dilation = array<i64: 1>, kernel_size = array<i64: 2>, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<1x2x3xf32>) -> (tensor<1x2x2xf32>, tensor<1x2x2xi64>)
// CHECK: %[[P:.+]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[XP:.+]] = nn.pow %{{.+}}, %[[P]]
// CHECK: %[[LS:.+]] = nn.sum_pool %[[XP]] {dilation = array<i64: 1>, kernel_size = array<i64: 2>, padding = array<i64: 0>, stride = array<i64: 1>}
// CHECK: %[[AVG:.+]] = nn.div %[[LS]]
// CHECK: %[[SIGN:.+]] = nn.sign %[[AVG]]
// CHECK: %[[ABS:.+]] = nn.abs %[[AVG]]
// CHECK: %[[RELU:.+]] = nn.relu %[[ABS]]
// CHECK: %[[M:.+]] = nn.mul %[[SIGN]], %[[RELU]]
// CHECK: %[[K:.+]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[MK:.+]] = nn.mul %[[M]], %[[K]]
// CHECK: %[[INV:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: nn.pow %[[MK]], %[[INV]]
// CHECK: %[[AS:.+]] = nn.sum_pool %{{.+}} {output_size = array<i64: 3>} : (tensor<1x2x1xf32>) -> tensor<1x2x3xf32>
// CHECK: %[[AD:.+]] = arith.constant dense<1.000000e+00> : tensor<3xf32>
// CHECK: %[[Y:.+]] = nn.div %[[AS]], %[[AD]]
// CHECK: %[[YU:.+]] = nn.reshape %[[Y]] : (tensor<1x2x3xf32>) -> tensor<2x3xf32>
// CHECK: return %[[YU]]
