// RUN: kilnc %S/../Inputs/tiny_rearrange.json --emit=nn | FileCheck %s

// Issue 9's layers are composites the registry entries build from existing
// ops (frontend/import/Vision.cpp, Dropout.cpp).

// Upsample(size (9, 5), bilinear, align_corners) below: torch's weights as
// constant [out, in] matrices (6 -> 5 with align_corners: source 1.25 o,
// rows (1), (0.75, 0.25), (0.5, 0.5), ...).
// CHECK-LABEL: func.func @forward(
// CHECK-DAG: %[[W9:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [3.750000e-01, 6.250000e-01, {{.+}}> : tensor<9x6xf32>
// CHECK-DAG: %[[W5:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 7.500000e-01, 2.500000e-01, {{.+}}> : tensor<5x6xf32>

// PixelShuffle(2) of [2, 8, 3, 3]: [B, C, r, r, H, W] -> (0, 1, 4, 2, 5, 3).
// CHECK: nn.reshape %{{.+}} : (tensor<2x8x3x3xf32>) -> tensor<2x2x2x2x3x3xf32>
// CHECK-NEXT: nn.permute %{{.+}} {dims = array<i64: 0, 1, 4, 2, 5, 3>} : (tensor<2x2x2x2x3x3xf32>) -> tensor<2x2x3x2x3x2xf32>
// CHECK-NEXT: nn.reshape %{{.+}} : (tensor<2x2x3x2x3x2xf32>) -> tensor<2x2x6x6xf32>

// Upsample: one nn.linear per spatial dimension, the last first; the other
// dimension is moved last and back.
// CHECK: nn.linear %{{.+}}, %[[W5]] : (tensor<2x2x6x6xf32>, tensor<5x6xf32>) -> tensor<2x2x6x5xf32>
// CHECK-NEXT: nn.permute %{{.+}} {dims = array<i64: 0, 1, 3, 2>}
// CHECK-NEXT: nn.linear %{{.+}}, %[[W9]] : (tensor<2x2x5x6xf32>, tensor<9x6xf32>) -> tensor<2x2x5x9xf32>
// CHECK-NEXT: nn.permute %{{.+}} {dims = array<i64: 0, 1, 3, 2>}
// Dropout2d is the identity in eval mode.
// CHECK-NOT: nn.random_uniform
// CHECK: return
// CHECK-LABEL: func.func @forward_train(

// Dropout2d in train mode: one draw per (n, c), broadcast over H and W;
// the backward multiplies by the same noise.
// CHECK-LABEL: func.func @loss_grad(
// CHECK: %[[U:.+]] = nn.random_uniform %{{.+}} {offset = 0 : i64} : (tensor<2xi64>) -> tensor<2x2x1x1xf32>
// CHECK: %[[K:.+]] = nn.compare lt, %[[U]]
// CHECK: %[[N:.+]] = nn.where %[[K]]
// CHECK: nn.mul %{{.+}}, %[[N]] : (tensor<2x2x9x5xf32>, tensor<2x2x1x1xf32>) -> tensor<2x2x9x5xf32>
// CHECK: nn.mse_loss_backward
// CHECK-NEXT: nn.mul %{{.+}}, %[[N]] : (tensor<2x2x9x5xf32>, tensor<2x2x1x1xf32>) -> tensor<2x2x9x5xf32>
