// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of the elementwise, reduction and layout ops.
// CHECK-LABEL: func.func @unary
// CHECK: nn.neg %{{.+}} : tensor<4x8xf32>
// CHECK: nn.abs
// CHECK: nn.sign
// CHECK: nn.exp
// CHECK: nn.log
// CHECK: nn.log1p
// CHECK: nn.sqrt
// CHECK: nn.rsqrt
// CHECK: nn.tanh
// CHECK: nn.sigmoid
// CHECK: nn.erf
func.func @unary(%x: tensor<4x8xf32>) {
  %0 = nn.neg %x : tensor<4x8xf32>
  %1 = nn.abs %x : tensor<4x8xf32>
  %2 = nn.sign %x : tensor<4x8xf32>
  %3 = nn.exp %x : tensor<4x8xf32>
  %4 = nn.log %x : tensor<4x8xf32>
  %5 = nn.log1p %x : tensor<4x8xf32>
  %6 = nn.sqrt %x : tensor<4x8xf32>
  %7 = nn.rsqrt %x : tensor<4x8xf32>
  %8 = nn.tanh %x : tensor<4x8xf32>
  %9 = nn.sigmoid %x : tensor<4x8xf32>
  %10 = nn.erf %x : tensor<4x8xf32>
  return
}

// CHECK-LABEL: func.func @binary
// CHECK: nn.div %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: nn.maximum %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
// CHECK: nn.minimum
// CHECK: nn.pow %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: %[[M:.+]] = nn.compare lt, %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
// CHECK: nn.where %[[M]], %{{.+}}, %{{.+}} : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
func.func @binary(%x: tensor<4x8xf32>, %y: tensor<8xf32>, %s: tensor<f32>) {
  %0 = nn.div %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = nn.maximum %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %2 = nn.minimum %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %5 = nn.pow %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %3 = nn.compare lt, %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %4 = nn.where %3, %x, %s : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return
}

// CHECK-LABEL: func.func @tensor_ops
// CHECK: nn.sum %{{.+}} {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
// CHECK: nn.mean %{{.+}} {dims = array<i64: -1, 0>} : (tensor<4x8xf32>) -> tensor<f32>
// CHECK: nn.sum %{{.+}} : (tensor<4x8xf32>) -> tensor<f32>
// CHECK: nn.permute %{{.+}} {dims = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
// CHECK: nn.gelu %{{.+}} approximate tanh : tensor<4x8xf32>
func.func @tensor_ops(%x: tensor<4x8xf32>) {
  %0 = nn.sum %x {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %1 = nn.mean %x {dims = array<i64: -1, 0>} : (tensor<4x8xf32>) -> tensor<f32>
  %2 = nn.sum %x : (tensor<4x8xf32>) -> tensor<f32>
  %3 = nn.permute %x {dims = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %4 = nn.gelu %x approximate tanh : tensor<4x8xf32>
  return
}
