// RUN: kilnc %S/Inputs/fusion.json --emit=nn | FileCheck %s

// torch.nn.utils.fuse_conv_bn_weights / fuse_linear_bn_weights
// (frontend/import/Fusion.cpp): elementwise ops in torch's order, the
// transposed convolution's scale on dimension 1, a missing conv bias as
// -running_mean and a missing bn bias left out, both results detached
// (torch returns new leaves).
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[CW:[a-z0-9]+]]: tensor<3x4x2xf32> {nn.name = "cw"
// CHECK-SAME: %[[LW:[a-z0-9]+]]: tensor<4x5xf32> {nn.name = "lw"
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<4xf32> {nn.name = "b"
// CHECK-SAME: %[[RM:[a-z0-9]+]]: tensor<4xf32> {nn.name = "rm"
// CHECK-SAME: %[[RV:[a-z0-9]+]]: tensor<4xf32> {nn.name = "rv"
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<4xf32> {nn.name = "g"
// CHECK-SAME: %[[BETA:[a-z0-9]+]]: tensor<4xf32> {nn.name = "beta"
// CHECK: %[[EPS:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[SUM:.+]] = nn.add %[[RV]], %[[EPS]]
// CHECK: %[[RSQRT:.+]] = nn.rsqrt %[[SUM]]
// CHECK: %[[SCALE:.+]] = nn.mul %[[G]], %[[RSQRT]]
// CHECK: %[[VIEW:.+]] = nn.reshape %[[SCALE]] : (tensor<4xf32>) -> tensor<1x4x1xf32>
// CHECK: %[[W:.+]] = nn.mul %[[CW]], %[[VIEW]] : (tensor<3x4x2xf32>, tensor<1x4x1xf32>) -> tensor<3x4x2xf32>
// CHECK: %[[NEG:.+]] = nn.neg %[[RM]]
// CHECK: %[[B1:.+]] = nn.mul %[[NEG]], %[[RSQRT]]
// CHECK: %[[B2:.+]] = nn.mul %[[B1]], %[[G]]
// CHECK-NOT: nn.add %[[B2]]
// CHECK: %[[FW:.+]] = nn.detach %[[W]]
// CHECK: %[[FB:.+]] = nn.detach %[[B2]]
// fuse_linear_bn_weights: scale = g * rsqrt(rv + eps) first.
// CHECK: %[[EPS2:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[LSUM:.+]] = nn.add %[[RV]], %[[EPS2]]
// CHECK: %[[LRSQRT:.+]] = nn.rsqrt %[[LSUM]]
// CHECK: %[[LSCALE:.+]] = nn.mul %[[G]], %[[LRSQRT]]
// CHECK: %[[LVIEW:.+]] = nn.reshape %[[LSCALE]] : (tensor<4xf32>) -> tensor<4x1xf32>
// CHECK: %[[LW2:.+]] = nn.mul %[[LW]], %[[LVIEW]]
// CHECK: %[[C:.+]] = nn.sub %[[B]], %[[RM]]
// CHECK: %[[CS:.+]] = nn.mul %[[C]], %[[LSCALE]]
// CHECK: %[[LB:.+]] = nn.add %[[CS]], %[[BETA]]
// CHECK: nn.detach %[[LW2]]
// CHECK: nn.detach %[[LB]]
