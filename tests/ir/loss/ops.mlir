// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @bce
// CHECK: nn.binary_cross_entropy %{{.+}}, %{{.+}} : tensor<8x4xf32>
func.func @bce(%p: tensor<8x4xf32>, %t: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %l = nn.binary_cross_entropy %p, %t : tensor<8x4xf32>
  return %l : tensor<8x4xf32>
}

// CHECK-LABEL: func.func @nll
// CHECK: nn.nll_loss %{{.+}}, %{{.+}} weight %{{.+}} reduction sum {ignore_index = 2 : i64} : (tensor<4x5x3xf32>, tensor<4x3xi64>, tensor<5xf32>) -> tensor<f32>
// CHECK: nn.nll_loss %{{.+}}, %{{.+}} reduction none : (tensor<5xf32>, tensor<i64>) -> tensor<f32>
// CHECK: nn.nll_loss_backward %{{.+}}, %{{.+}}, %{{.+}} reduction none : (tensor<4x3xf32>, tensor<4x5x3xf32>, tensor<4x3xi64>) -> tensor<4x5x3xf32>
func.func @nll(%x: tensor<4x5x3xf32>, %t: tensor<4x3xi64>, %w: tensor<5xf32>, %u: tensor<5xf32>, %s: tensor<i64>, %g: tensor<4x3xf32>) -> (tensor<f32>, tensor<f32>, tensor<4x5x3xf32>) {
  %a = nn.nll_loss %x, %t weight %w reduction sum {ignore_index = 2 : i64} : (tensor<4x5x3xf32>, tensor<4x3xi64>, tensor<5xf32>) -> tensor<f32>
  %b = nn.nll_loss %u, %s reduction none : (tensor<5xf32>, tensor<i64>) -> tensor<f32>
  %c = nn.nll_loss_backward %g, %x, %t reduction none : (tensor<4x3xf32>, tensor<4x5x3xf32>, tensor<4x3xi64>) -> tensor<4x5x3xf32>
  return %a, %b, %c : tensor<f32>, tensor<f32>, tensor<4x5x3xf32>
}

// CHECK-LABEL: func.func @ce_with_grad
// CHECK: nn.cross_entropy_loss_with_grad %{{.+}}, %{{.+}}, %{{.+}} reduction none {ignore_index = 2 : i64, label_smoothing = 1.250000e-01 : f64} : (tensor<4xf32>, tensor<4x5xf32>, tensor<4xi64>) -> (tensor<4xf32>, tensor<4x5xf32>)
func.func @ce_with_grad(%g: tensor<4xf32>, %x: tensor<4x5xf32>, %t: tensor<4xi64>) -> (tensor<4xf32>, tensor<4x5xf32>) {
  %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t reduction none {label_smoothing = 0.125 : f64, ignore_index = 2 : i64} : (tensor<4xf32>, tensor<4x5xf32>, tensor<4xi64>) -> (tensor<4xf32>, tensor<4x5xf32>)
  return %l, %dx : tensor<4xf32>, tensor<4x5xf32>
}
