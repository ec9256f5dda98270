// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of nn.batch_norm and its adjoint, on [N, C] and [N, C, H, W].
// CHECK-LABEL: func.func @batch_norm
// CHECK: nn.batch_norm %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64} : (tensor<8x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<8x3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: %{{.+}}, %[[M:.+]], %[[V:.+]] = nn.batch_norm %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-03 : f64} : (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: nn.batch_norm_backward %{{.+}}, %{{.+}}, %[[M]], %[[V]], %{{.+}} {eps = 1.000000e-03 : f64} : (tensor<2x4x5x6xf32>, tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>)
func.func @batch_norm(%x1: tensor<8x3xf32>, %w1: tensor<3xf32>, %x2: tensor<2x4x5x6xf32>, %w2: tensor<4xf32>) {
  %y1, %m1, %v1 = nn.batch_norm %x1, %w1, %w1 {eps = 1.0e-05 : f64} : (tensor<8x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<8x3xf32>, tensor<3xf32>, tensor<3xf32>)
  %y2, %m2, %v2 = nn.batch_norm %x2, %w2, %w2 {eps = 1.0e-03 : f64} : (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>)
  %dx, %dw, %db = nn.batch_norm_backward %y2, %x2, %m2, %v2, %w2 {eps = 1.0e-03 : f64} : (tensor<2x4x5x6xf32>, tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x5x6xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}
