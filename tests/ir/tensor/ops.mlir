// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip of the slicing and joining ops.
// CHECK-LABEL: func.func @slice
// CHECK: nn.slice %{{.+}} {end = array<i64: 4, 7>, start = array<i64: 0, 1>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<4x3xf32>
// CHECK: nn.slice_backward %{{.+}} {end = array<i64: 4, 7>, start = array<i64: 0, 1>, step = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x8xf32>
// CHECK: nn.slice %{{.+}} {end = array<i64: 0>, start = array<i64: 0>, step = array<i64: 1>} : (tensor<8xf32>) -> tensor<0xf32>
func.func @slice(%x: tensor<4x8xf32>, %v: tensor<8xf32>) {
  %0 = nn.slice %x {start = array<i64: 0, 1>, end = array<i64: 4, 7>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<4x3xf32>
  %1 = nn.slice_backward %0 {start = array<i64: 0, 1>, end = array<i64: 4, 7>, step = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x8xf32>
  %2 = nn.slice %v {start = array<i64: 0>, end = array<i64: 0>, step = array<i64: 1>} : (tensor<8xf32>) -> tensor<0xf32>
  return
}

// CHECK-LABEL: func.func @concat
// CHECK: nn.concat %{{.+}}, %{{.+}} {dim = -1 : i64} : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
// CHECK: nn.concat %{{.+}}, %{{.+}}, %{{.+}} {dim = 0 : i64} : (tensor<4x3xf32>, tensor<1x3xf32>, tensor<4x3xf32>) -> tensor<9x3xf32>
// CHECK: nn.concat %{{.+}} {dim = 1 : i64} : (tensor<4x3xf32>) -> tensor<4x3xf32>
func.func @concat(%a: tensor<4x3xf32>, %b: tensor<4x5xf32>, %c: tensor<1x3xf32>) {
  %0 = nn.concat %a, %b {dim = -1 : i64} : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
  %1 = nn.concat %a, %c, %a {dim = 0 : i64} : (tensor<4x3xf32>, tensor<1x3xf32>, tensor<4x3xf32>) -> tensor<9x3xf32>
  %2 = nn.concat %a {dim = 1 : i64} : (tensor<4x3xf32>) -> tensor<4x3xf32>
  return
}

// CHECK-LABEL: func.func @amax_amin
// CHECK: nn.amax %{{.+}} {dims = array<i64: -1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
// CHECK: nn.amin %{{.+}} : (tensor<4x8xf32>) -> tensor<f32>
func.func @amax_amin(%x: tensor<4x8xf32>) -> (tensor<4x1xf32>, tensor<f32>) {
  %0 = nn.amax %x {dims = array<i64: -1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %1 = nn.amin %x : (tensor<4x8xf32>) -> tensor<f32>
  return %0, %1 : tensor<4x1xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @detach
// CHECK: nn.detach %{{.+}} : tensor<4x8xf32>
func.func @detach(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = nn.detach %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
