// RUN: kilnc %S/Inputs/batchnorm2d_cma.json --emit=nn --mode=train | FileCheck %s --check-prefix=BN
// RUN: kilnc %S/Inputs/instancenorm1d_tracking.json --emit=nn --mode=train | FileCheck %s --check-prefix=IN

// What the importer builds for the normalization layers and their buffers
// (frontend/import/BatchNorm.cpp, InstanceNorm.cpp): nn.batch_norm for the
// batch statistics (instance norm's of the [1, N * C, L] view).

// BatchNorm2d(3, momentum=None): eval mode normalises with the running
// statistics; train mode with the batch's (biased variance over N, H, W),
// counts the batch and blends the running statistics with factor
// 1 / num_batches_tracked (torch's cumulative moving average), the variance
// unbiased (n / (n - 1) = 40 / 39).
// BN-LABEL: func.func @forward(
// BN-SAME: nn.name = "0.running_mean", nn.role = #nn.role<buffer>
// BN-SAME: nn.name = "0.num_batches_tracked", nn.role = #nn.role<buffer>
// BN-NOT: nn.mean
// BN: return
// BN-LABEL: func.func @forward_train(
// BN-SAME: %[[RM:[a-zA-Z0-9_]+]]: tensor<3xf32> {nn.init = #nn.init<zeros>, nn.name = "0.running_mean"
// BN-SAME: %[[RV:[a-zA-Z0-9_]+]]: tensor<3xf32> {nn.init = #nn.init<ones>, nn.name = "0.running_var"
// BN-SAME: %[[NBT:[a-zA-Z0-9_]+]]: tensor<i64> {nn.init = #nn.init<zeros>, nn.name = "0.num_batches_tracked"
// BN-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<2x3x4x5xf32> {nn.name = "x"
// BN-DAG: %[[UNBIASED:.+]] = arith.constant dense<1.02564108> : tensor<f32>
// BN-DAG: %[[ONE:.+]] = arith.constant dense<1.000000e+00> : tensor<f32>
// BN-DAG: %[[ONEI:.+]] = arith.constant dense<1> : tensor<i64>
// BN: %[[Y:.+]], %[[MEAN:.+]], %[[VAR:.+]] = nn.batch_norm %[[X]], %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64} : (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>)
// BN: %[[COUNT:.+]] = arith.addi %[[NBT]], %[[ONEI]] : tensor<i64>
// BN: %[[STEPS:.+]] = arith.sitofp %[[COUNT]] : tensor<i64> to tensor<f32>
// BN: %[[F:.+]] = nn.div %[[ONE]], %[[STEPS]]
// BN: %[[KEEP:.+]] = nn.sub %[[ONE]], %[[F]]
// BN: nn.mul %[[RM]], %[[KEEP]]
// BN: nn.mul %[[MEAN]], %[[F]]
// BN: %[[NEWMEAN:.+]] = nn.add
// BN: nn.mul %[[VAR]], %[[UNBIASED]]
// BN: nn.mul %[[RV]], %[[KEEP]]
// BN: %[[NEWVAR:.+]] = nn.add
// BN: return %[[Y]], %[[NEWMEAN]], %[[NEWVAR]], %[[COUNT]] : tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>

// InstanceNorm1d(4, track_running_stats=True, momentum=0.25): statistics
// per (sample, channel) over L; the running statistics take the batch
// average of the instance statistics (variance unbiased over L: 5 / 4), and
// num_batches_tracked is never counted (torch's instance_norm does not).
// IN-LABEL: func.func @forward_train(
// IN-SAME: %[[RM:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<zeros>, nn.name = "0.running_mean"
// IN-SAME: %[[RV:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<ones>, nn.name = "0.running_var"
// IN-DAG: %[[UNBIASED:.+]] = arith.constant dense<1.250000e+00> : tensor<f32>
// IN-DAG: %[[M:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// IN-DAG: %[[ZEROS:.+]] = arith.constant dense<0.000000e+00> : tensor<8xf32>
// IN-DAG: %[[ONES:.+]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
// IN: %[[VIEW:.+]] = nn.reshape %{{.+}} : (tensor<2x4x5xf32>) -> tensor<1x8x5xf32>
// IN: %{{.+}}, %[[M8:.+]], %[[V8:.+]] = nn.batch_norm %[[VIEW]], %[[ONES]], %[[ZEROS]] {eps = 1.000000e-05 : f64} : (tensor<1x8x5xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x8x5xf32>, tensor<8xf32>, tensor<8xf32>)
// IN: %[[MEAN:.+]] = nn.reshape %[[M8]] : (tensor<8xf32>) -> tensor<2x4x1xf32>
// IN: %[[VAR:.+]] = nn.reshape %[[V8]] : (tensor<8xf32>) -> tensor<2x4x1xf32>
// IN: nn.mean %[[MEAN]] {dims = array<i64: 0>, keepdim} : (tensor<2x4x1xf32>) -> tensor<1x4x1xf32>
// IN: nn.mean %[[VAR]] {dims = array<i64: 0>, keepdim} : (tensor<2x4x1xf32>) -> tensor<1x4x1xf32>
// IN: nn.mul %[[RM]],
// IN: nn.mul %[[RV]],
// IN-NOT: arith.addi
// IN: return %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>
