// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of the convolution ops, 1-d to 3-d.
// CHECK-LABEL: func.func @conv
// CHECK: nn.conv %{{.+}}, %{{.+}}, %{{.+}} {dilation = array<i64: 1>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<2x3x9xf32>, tensor<4x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
// CHECK: nn.conv %{{.+}}, %{{.+}} {dilation = array<i64: 2, 1>, groups = 2 : i64, padding = array<i64: 1, 0, 2, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x7x6xf32>, tensor<6x2x3x2xf32>) -> tensor<1x6x6x6xf32>
// CHECK: nn.conv %{{.+}}, %{{.+}} {dilation = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0>, stride = array<i64: 1, 1, 1>} : (tensor<1x2x4x4x4xf32>, tensor<3x2x2x2x2xf32>) -> tensor<1x3x3x3x3xf32>
// CHECK: nn.conv_backward_input %{{.+}}, %{{.+}} {dilation = array<i64: 1>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x3x9xf32>
// CHECK: nn.conv_backward_weight %{{.+}}, %{{.+}} {dilation = array<i64: 1>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<2x3x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
func.func @conv(%x1: tensor<2x3x9xf32>, %w1: tensor<4x3x3xf32>, %b1: tensor<4xf32>,
                %x2: tensor<1x4x7x6xf32>, %w2: tensor<6x2x3x2xf32>,
                %x3: tensor<1x2x4x4x4xf32>, %w3: tensor<3x2x2x2x2xf32>) {
  %0 = nn.conv %x1, %w1, %b1 {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x3x9xf32>, tensor<4x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  %1 = nn.conv %x2, %w2 {stride = array<i64: 1, 1>, padding = array<i64: 1, 0, 2, 1>, dilation = array<i64: 2, 1>, groups = 2 : i64} : (tensor<1x4x7x6xf32>, tensor<6x2x3x2xf32>) -> tensor<1x6x6x6xf32>
  %2 = nn.conv %x3, %w3 {stride = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0>, dilation = array<i64: 1, 1, 1>} : (tensor<1x2x4x4x4xf32>, tensor<3x2x2x2x2xf32>) -> tensor<1x3x3x3x3xf32>
  %3 = nn.conv_backward_input %0, %w1 {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x3x9xf32>
  %4 = nn.conv_backward_weight %x1, %0 {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x3x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
  return
}
