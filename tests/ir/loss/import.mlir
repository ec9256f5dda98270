// RUN: kilnc %S/Inputs/losses.json --emit=nn --mode=inference | FileCheck %s

// The losses built in frontend/import/LossPointwise.cpp, here as graph
// functions: composites of primitive ops whose branch conditions are the
// comparisons of torch's backward kernels.

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<3x4xf32> {nn.name = "x"
// CHECK-SAME: %[[T:[a-zA-Z0-9_]+]]: tensor<3x4xf32> {nn.name = "t"

// HuberLoss(delta 0.5): |d| < 0.5 ? 0.5 d^2 : 0.5 (|d| - 0.25), per element.
// CHECK: %[[D:.+]] = nn.sub %[[X]], %[[T]]
// CHECK: %[[Z:.+]] = nn.abs %[[D]]
// CHECK: %[[LT:.+]] = nn.compare lt, %[[Z]], %{{.+}}
// CHECK: %[[HUBER:.+]] = nn.where %[[LT]], %{{.+}}, %{{.+}} : (tensor<3x4xi1>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>

// SmoothL1Loss(beta 0) is the L1 loss: no branch.
// CHECK: %[[D2:.+]] = nn.sub %[[X]], %[[T]]
// CHECK-NEXT: %[[L1:.+]] = nn.abs %[[D2]]
// CHECK-NOT: nn.compare

// KLDivLoss(batchmean): xlogy(t, t) - t x summed, divided by the batch size 3.
// CHECK: %[[T0:.+]] = nn.compare eq, %[[T]], %{{.+}}
// CHECK: %[[LOGT:.+]] = nn.log %[[T]]
// CHECK: %[[KLSUM:.+]] = nn.sum %{{.+}} : (tensor<3x4xf32>) -> tensor<f32>
// CHECK: %[[KL:.+]] = nn.div %[[KLSUM]], %{{.+}} : (tensor<f32>, tensor<f32>) -> tensor<f32>

// BCELoss(weight, sum): its own op (clamped gradient), then weight and sum.
// CHECK: %[[BCE:.+]] = nn.binary_cross_entropy %[[X]], %[[T]] : tensor<3x4xf32>
// CHECK: %[[W:.+]] = arith.constant dense<[5.000000e-01, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<4xf32>
// CHECK: %[[BW:.+]] = nn.mul %[[BCE]], %[[W]]
// CHECK: %[[BSUM:.+]] = nn.sum %[[BW]] : (tensor<3x4xf32>) -> tensor<f32>

// MultiLabelSoftMarginLoss(none): one loss per row, the mean over classes.
// CHECK: %[[ROW:.+]] = nn.sum %{{.+}} {dims = array<i64: 1>} : (tensor<3x4xf32>) -> tensor<3xf32>
// CHECK: %[[ML:.+]] = nn.div %[[ROW]], %{{.+}} : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
// CHECK: return %[[HUBER]], %[[L1]], %[[KL]], %[[BSUM]], %[[ML]]
