// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of the pooling ops, fixed and adaptive windows, 1-d to 3-d.
// CHECK-LABEL: func.func @pool
// CHECK: nn.max_pool %{{.+}} {ceil_mode, dilation = array<i64: 2>, kernel_size = array<i64: 3>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<2x3x9xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi64>)
// CHECK: nn.max_pool %{{.+}} {output_size = array<i64: 3, 5>} : (tensor<1x4x7x6xf32>) -> (tensor<1x4x3x5xf32>, tensor<1x4x3x5xi64>)
// CHECK: nn.sum_pool %{{.+}} {dilation = array<i64: 1, 1, 1>, kernel_size = array<i64: 2, 2, 2>, padding = array<i64: 1, 0, 1>, stride = array<i64: 2, 2, 2>} : (tensor<1x2x4x4x4xf32>) -> tensor<1x2x3x2x3xf32>
// CHECK: nn.max_pool_backward %{{.+}}, %{{.+}} {ceil_mode, dilation = array<i64: 2>, kernel_size = array<i64: 3>, padding = array<i64: 1>, stride = array<i64: 2>} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x9xf32>
// CHECK: nn.sum_pool_backward %{{.+}} {output_size = array<i64: 3, 5>} : (tensor<1x4x3x5xf32>) -> tensor<1x4x7x6xf32>
// CHECK: nn.max_unpool %{{.+}}, %{{.+}} : (tensor<1x4x3x5xf32>, tensor<1x4x3x5xi64>) -> tensor<1x4x7x6xf32>
// CHECK: nn.max_unpool_backward %{{.+}}, %{{.+}} : (tensor<1x4x7x6xf32>, tensor<1x4x3x5xi64>) -> tensor<1x4x3x5xf32>
func.func @pool(%x1: tensor<2x3x9xf32>, %x2: tensor<1x4x7x6xf32>, %x3: tensor<1x2x4x4x4xf32>) {
  %y1, %i1 = nn.max_pool %x1 {kernel_size = array<i64: 3>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 2>, ceil_mode} : (tensor<2x3x9xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi64>)
  %y2, %i2 = nn.max_pool %x2 {output_size = array<i64: 3, 5>} : (tensor<1x4x7x6xf32>) -> (tensor<1x4x3x5xf32>, tensor<1x4x3x5xi64>)
  %y3 = nn.sum_pool %x3 {kernel_size = array<i64: 2, 2, 2>, stride = array<i64: 2, 2, 2>, padding = array<i64: 1, 0, 1>, dilation = array<i64: 1, 1, 1>} : (tensor<1x2x4x4x4xf32>) -> tensor<1x2x3x2x3xf32>
  %d1 = nn.max_pool_backward %y1, %i1 {kernel_size = array<i64: 3>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 2>, ceil_mode} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x9xf32>
  %d2 = nn.sum_pool_backward %y2 {output_size = array<i64: 3, 5>} : (tensor<1x4x3x5xf32>) -> tensor<1x4x7x6xf32>
  %u = nn.max_unpool %y2, %i2 : (tensor<1x4x3x5xf32>, tensor<1x4x3x5xi64>) -> tensor<1x4x7x6xf32>
  %du = nn.max_unpool_backward %u, %i2 : (tensor<1x4x7x6xf32>, tensor<1x4x3x5xi64>) -> tensor<1x4x3x5xf32>
  return
}

// Fractional max pooling: samples [N, C, r], windows of kernel_size.
// CHECK-LABEL: func.func @fractional
// CHECK: nn.fractional_max_pool %{{.+}}, %{{.+}} {kernel_size = array<i64: 2, 3>, output_size = array<i64: 5, 4>} : (tensor<2x3x9x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
// CHECK: nn.fractional_max_pool %{{.+}}, %{{.+}} {kernel_size = array<i64: 1, 2, 2>, output_size = array<i64: 3, 2, 1>} : (tensor<1x2x4x4x4xf32>, tensor<1x2x3xf32>) -> (tensor<1x2x3x2x1xf32>, tensor<1x2x3x2x1xi64>)
// CHECK: nn.fractional_max_pool_backward %{{.+}}, %{{.+}} : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32>
func.func @fractional(%x2: tensor<2x3x9x8xf32>, %u2: tensor<2x3x2xf32>, %x3: tensor<1x2x4x4x4xf32>, %u3: tensor<1x2x3xf32>) {
  %y2, %i2 = nn.fractional_max_pool %x2, %u2 {kernel_size = array<i64: 2, 3>, output_size = array<i64: 5, 4>} : (tensor<2x3x9x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
  %y3, %i3 = nn.fractional_max_pool %x3, %u3 {kernel_size = array<i64: 1, 2, 2>, output_size = array<i64: 3, 2, 1>} : (tensor<1x2x4x4x4xf32>, tensor<1x2x3xf32>) -> (tensor<1x2x3x2x1xf32>, tensor<1x2x3x2x1xi64>)
  %d2 = nn.fractional_max_pool_backward %y2, %i2 : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32>
  return
}

// The indices of an unbatched input: nn.reshape of i64.
// CHECK-LABEL: func.func @unbatched_indices
// CHECK: nn.reshape %{{.+}} : (tensor<1x3x4xi64>) -> tensor<3x4xi64>
func.func @unbatched_indices(%i: tensor<1x3x4xi64>) -> tensor<3x4xi64> {
  %0 = nn.reshape %i : (tensor<1x3x4xi64>) -> tensor<3x4xi64>
  return %0 : tensor<3x4xi64>
}
