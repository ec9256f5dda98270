// RUN: kiln-opt %s --split-input-file | kiln-opt --split-input-file | FileCheck %s

// nn.optimizer_update round-trips with its name, hyper-parameters and any
// number of states (none for a stateless rule, three for Adam's amsgrad).
// CHECK-LABEL: func.func @adam
// CHECK: nn.optimizer_update %arg0, %arg1, states(%arg2, %arg3), lr %arg4, step %arg5 {hyper = {amsgrad = false, betas = [9.000000e-01, {{.+}}], eps = 1.000000e-08 : f64}, optimizer = "Adam"} : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32>, tensor<i64>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>)
func.func @adam(%p: tensor<4x3xf32>, %g: tensor<4x3xf32>, %m: tensor<4x3xf32>, %v: tensor<4x3xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "Adam", hyper = {amsgrad = false, betas = [0.9, 0.999], eps = 1.0e-8 : f64}} : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32>, tensor<i64>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>)
  return %0#0, %0#1, %0#2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @no_states
// CHECK: nn.optimizer_update %arg0, %arg1, states(), lr %arg2, step %arg3 {hyper = {}, optimizer = "Custom"}
func.func @no_states(%p: tensor<5xf32>, %g: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<5xf32> {
  %0 = nn.optimizer_update %p, %g, states(), lr %lr, step %step {optimizer = "Custom", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<i64>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// SparseAdam's `rows` (> 0 where the sparse gradient has entries),
// broadcast along the embedding's rows.
// CHECK-LABEL: func.func @sparse_rows
// CHECK: nn.optimizer_update %arg0, %arg1, states(%arg2, %arg3), lr %arg4, step %arg5 rows %arg6 {hyper = {}, optimizer = "SparseAdam"} : (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<f32>, tensor<i64>, tensor<6x1xf32>)
func.func @sparse_rows(%p: tensor<6x3xf32>, %g: tensor<6x3xf32>, %m: tensor<6x3xf32>, %v: tensor<6x3xf32>, %lr: tensor<f32>, %step: tensor<i64>, %rows: tensor<6x1xf32>) -> tensor<6x3xf32> {
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step rows %rows {optimizer = "SparseAdam", hyper = {}} : (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<f32>, tensor<i64>, tensor<6x1xf32>) -> (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>)
  return %0#0 : tensor<6x3xf32>
}
