// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// slice: dy placed into zeros of the input's shape at the same bounds.
// CHECK-LABEL: func.func @slice_grad
// CHECK: nn.slice_backward %{{.+}} {end = array<i64: 4, 7>, start = array<i64: 1, 1>, step = array<i64: 1, 2>} : (tensor<3x3xf32>) -> tensor<4x8xf32>
func.func @slice(%x: tensor<4x8xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.slice %x {start = array<i64: 1, 1>, end = array<i64: 4, 7>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<3x3xf32>
  %l = nn.sum %y : (tensor<3x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// concat: each input's gradient is its slice of dy; the second input's
// slice starts where the first ends.
// CHECK-LABEL: func.func @concat_grad
// CHECK-DAG: nn.slice %[[DY:.+]] {end = array<i64: 4, 3>, start = array<i64: 0, 0>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x3xf32>
// CHECK-DAG: nn.slice %[[DY]] {end = array<i64: 4, 8>, start = array<i64: 0, 3>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x5xf32>
func.func @concat(%a: tensor<4x3xf32> {nn.name = "a", nn.role = #nn.role<input>}, %b: tensor<4x5xf32> {nn.name = "b", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.concat %a, %b {dim = -1 : i64} : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
  %l = nn.sum %y : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// slice_backward is linear: its gradient is the slice with the same bounds.
// CHECK-LABEL: func.func @slice_backward_grad
// CHECK: nn.slice %{{.+}} {end = array<i64: 8>, start = array<i64: 0>, step = array<i64: 2>} : (tensor<8xf32>) -> tensor<4xf32>
func.func @slice_backward(%g: tensor<4xf32> {nn.name = "g", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.slice_backward %g {start = array<i64: 0>, end = array<i64: 8>, step = array<i64: 2>} : (tensor<4xf32>) -> tensor<8xf32>
  %l = nn.sum %y : (tensor<8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// amax: dy shared evenly among the elements equal to the maximum (torch's
// amax backward): where(x == y, dy / count, 0).
// CHECK-LABEL: func.func @amax_grad
// CHECK: %[[Y:.+]] = nn.amax %[[X:[a-z0-9]+]] {dims = array<i64: 1>}
// CHECK: %[[YB:.+]] = nn.broadcast_to %{{.+}} : (tensor<4x1xf32>) -> tensor<4x8xf32>
// CHECK: %[[EQ:.+]] = nn.compare eq, %[[X]], %[[YB]]
// CHECK: %[[ONES:.+]] = nn.where %[[EQ]]
// CHECK: %[[COUNT:.+]] = nn.sum %[[ONES]] {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
// CHECK: %[[SHARE:.+]] = nn.div %{{.+}}, %[[COUNT]]
// CHECK: %[[SB:.+]] = nn.broadcast_to %[[SHARE]]
// CHECK: nn.where %[[EQ]], %[[SB]]
func.func @amax(%x: tensor<4x8xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.amax %x {dims = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %l = nn.sum %y : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// detach: x reaches the loss twice, once through nn.detach; only the direct
// use contributes (dx = dy * y, no second term), as torch's x.detach().
// CHECK-LABEL: func.func @detach_grad
// CHECK-NOT: nn.add
// CHECK: return
func.func @detach(%x: tensor<4xf32> {nn.name = "x", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %d = nn.detach %x : tensor<4xf32>
  %y = nn.mul %x, %d : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %l = nn.sum %y : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
