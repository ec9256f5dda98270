// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step --split-input-file -verify-diagnostics | FileCheck %s

// nn.data_parallel: train_step averages every gradient in one bucket
// before the update; apply averages the grad sums the same way.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[G:[a-zA-Z0-9_]+]]:3 = call @loss_grad
// CHECK: %[[R:[a-zA-Z0-9_]+]]:2 = nn.all_reduce %[[G]]#1, %[[G]]#2 : tensor<4x8xf32>, tensor<4xf32>
// CHECK: nn.sgd_update %{{.+}}, %[[R]]#0,
// CHECK: nn.sgd_update %{{.+}}, %[[R]]#1,
// CHECK: return %[[G]]#0, %[[R]]#0, %[[R]]#1,
// CHECK-LABEL: func.func @apply
// CHECK: %[[S:[a-zA-Z0-9_]+]]:2 = nn.all_reduce
// CHECK: nn.sgd_update %{{.+}}, %[[S]]#0,
module attributes {nn.data_parallel, nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = 0.9 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// LBFGS: the runtime's driver averages each closure's loss and gradients
// (runtime/lib/lbfgs.cpp); no collective is compiled and no step built.
// CHECK-LABEL: func.func @loss_grad
// CHECK-NOT: nn.all_reduce
// CHECK-NOT: func.func @train_step
module attributes {nn.data_parallel, nn.optimizer = {type = "LBFGS", lr = 1.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// A sparse embedding under SparseAdam, data-parallel: its rows (> 0 where
// the sparse gradient has an entry) are averaged in the same all-reduce as
// the gradients, so each process's lazy update sees the union of the
// processes' entries; train_step and apply alike.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[R:.+]]:4 = call @loss_grad
// CHECK: %[[A:.+]]:3 = nn.all_reduce %[[R]]#1, %[[R]]#2, %[[R]]#3 : tensor<6x1xf32>, tensor<2xf32>, tensor<6x1xf32>
// CHECK: nn.optimizer_update %arg0, %[[A]]#0, {{.+}} rows %[[A]]#2 {{.+}}optimizer = "SparseAdam"
// CHECK: nn.optimizer_update %arg1, %[[A]]#1, {{.+}}optimizer = "Adam"
// CHECK-LABEL: func.func @apply
// CHECK: %[[S:.+]]:3 = nn.all_reduce %arg9, %arg10, %arg11 :
// CHECK: nn.optimizer_update %arg0, %[[S]]#0, {{.+}} rows %[[S]]#2 {{.+}}optimizer = "SparseAdam"
module attributes {nn.data_parallel, nn.optimizer = {type = "SparseAdam", lr = 0.01 : f64, betas = [0.9, 0.999], eps = 1.0e-8 : f64, maximize = false, param_groups = [
    {type = "SparseAdam", lr = 0.01 : f64, betas = [0.9, 0.999], eps = 1.0e-8 : f64, maximize = false, params = ["emb.weight"]},
    {type = "Adam", lr = 0.001 : f64, amsgrad = false, betas = [0.9, 0.999], eps = 1.0e-8 : f64, weight_decay = 0.0 : f64, maximize = false, params = ["scale"]}]}} {
  func.func @loss(%w: tensor<6x1xf32> {nn.name = "emb.weight", nn.role = #nn.role<param>}, %s: tensor<2xf32> {nn.name = "scale", nn.role = #nn.role<param>}, %i: tensor<3x1xi64> {nn.name = "idx", nn.role = #nn.role<input>}, %t: tensor<3x2xf32> {nn.name = "target", nn.role = #nn.role<target>}) -> (tensor<f32>, tensor<6x1xf32> {nn.sparse_rows = "emb.weight"}) attributes {nn.differentiate, nn.loss} {
    %e = nn.gather %w, %i {dim = 0 : i64} : (tensor<6x1xf32>, tensor<3x1xi64>) -> tensor<3x1xf32>
    %y = nn.mul %e, %s : (tensor<3x1xf32>, tensor<2xf32>) -> tensor<3x2xf32>
    %l = nn.mse_loss %y, %t : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<f32>
    %ones = arith.constant dense<1.0> : tensor<3x1xf32>
    %r = nn.gather_backward %ones, %i {dim = 0 : i64} : (tensor<3x1xf32>, tensor<3x1xi64>) -> tensor<6x1xf32>
    return %l, %r : tensor<f32>, tensor<6x1xf32>
  }
}
