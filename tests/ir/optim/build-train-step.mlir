// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step --split-input-file -verify-diagnostics | FileCheck %s

// Adam with amsgrad: three state tensors per parameter, named after torch's
// state keys, grouped by state (all exp_avg, then all exp_avg_sq, ...); one
// nn.optimizer_update per parameter with the hyper-parameters minus type
// and lr (lr is the runtime argument).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.weight.exp_avg", nn.role = #nn.role<state>}
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.bias.exp_avg", nn.role = #nn.role<state>}
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.weight.exp_avg_sq", nn.role = #nn.role<state>}
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.bias.exp_avg_sq", nn.role = #nn.role<state>}
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.weight.max_exp_avg_sq", nn.role = #nn.role<state>}
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.bias.max_exp_avg_sq", nn.role = #nn.role<state>}
// CHECK: nn.optimizer_update %{{.+}}, %{{.+}}, states(%{{.+}}, %{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} {hyper = {amsgrad = true, betas = [{{.+}}, {{.+}}], eps = 1.000000e-08 : f64, weight_decay = 0.000000e+00 : f64}, optimizer = "Adam"} : (tensor<4x8xf32>,
// CHECK: nn.optimizer_update {{.+}} : (tensor<4xf32>,
module attributes {nn.optimizer = {type = "Adam", lr = 0.001 : f64, amsgrad = true, betas = [0.8, 0.99], eps = 1.0e-8 : f64, weight_decay = 0.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// torch's constructor checks, for hand-written modules too.
// expected-error @+1 {{nn.optimizer: RMSprop: Invalid alpha value: -0.5}}
module attributes {nn.optimizer = {type = "RMSprop", lr = 0.01 : f64, alpha = -0.5 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Parameter groups: each parameter updated with its group's settings and
// lr argument (lr, then param_groups.1.lr, each with its initial value);
// states laid out by name, then parameter, only where a group has them
// (amsgrad in group 0 only); a parameter in no group keeps its value.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: nn.name = "0.weight.exp_avg"
// CHECK-SAME: nn.name = "0.bias.exp_avg"
// CHECK-SAME: nn.name = "0.weight.exp_avg_sq"
// CHECK-SAME: nn.name = "0.bias.exp_avg_sq"
// CHECK-SAME: nn.name = "0.weight.max_exp_avg_sq"
// CHECK-SAME: %[[LR0:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.001>, nn.name = "lr", nn.role = #nn.role<lr>}
// CHECK-SAME: %[[LR1:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.1>, nn.name = "param_groups.1.lr", nn.role = #nn.role<lr>}
// CHECK: nn.optimizer_update %arg0, %{{.+}}, states(%{{.+}}, %{{.+}}, %{{.+}}), lr %[[LR0]], step %{{.+}} {hyper = {amsgrad = true, {{.*}}weight_decay = 0.000000e+00 : f64}, optimizer = "Adam"}
// CHECK: nn.optimizer_update %arg1, %{{.+}}, states(%{{.+}}, %{{.+}}), lr %[[LR1]], step %{{.+}} {hyper = {amsgrad = false, {{.*}}weight_decay = 5.000000e-01 : f64}, optimizer = "Adam"}
// CHECK-NOT: nn.optimizer_update
// CHECK: return %{{.+}}, %{{.+}}, %{{.+}}, %arg2,
module attributes {nn.optimizer = {type = "Adam", lr = 0.001 : f64, param_groups = [
    {amsgrad = true, lr = 0.001 : f64, weight_decay = 0.0 : f64, params = ["0.weight"]},
    {amsgrad = false, lr = 0.1 : f64, weight_decay = 0.5 : f64, params = ["0.bias"]}]}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %s: tensor<4xf32> {nn.name = "scale", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %z = nn.mul %y, %s : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %z, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// cycle_momentum (a declared CyclicLR / OneCycleLR that cycles it): beta1
// is a runtime scalar per group, after the lrs, starting at the declared
// value, and every update reads it.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[LR:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.001>, nn.name = "lr", nn.role = #nn.role<lr>}
// CHECK-SAME: %[[M:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.8>, nn.name = "momentum", nn.role = #nn.role<momentum>}
// CHECK: nn.optimizer_update {{.+}} lr %[[LR]], step %{{[^ ]+}} cycled_momentum %[[M]] {hyper = {betas = [8.000000e-01, {{.+}}], cycle_momentum = true
// CHECK: nn.optimizer_update {{.+}} lr %[[LR]], step %{{[^ ]+}} cycled_momentum %[[M]]
module attributes {nn.optimizer = {type = "Adam", lr = 0.001 : f64, betas = [0.8, 0.99], cycle_momentum = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// NAdam keeps mu_product as a 0-d f32 state per parameter after its tensor
// states, starting at torch's 1; with a cycled beta1 each update reads the
// runtime scalar and returns the new product.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "0.weight.exp_avg_sq", nn.role = #nn.role<state>}
// CHECK-SAME: %[[MU:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 1.0>, nn.name = "0.weight.mu_product", nn.role = #nn.role<state>}
// CHECK: %new_param, %new_states:3 = nn.optimizer_update {{.+}} states(%{{.+}}, %{{.+}}, %[[MU]]), lr %{{[^ ]+}}, step %{{[^ ]+}} cycled_momentum %{{[^ ]+}} {{.+}} -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<f32>)
module attributes {nn.optimizer = {type = "NAdam", lr = 0.002 : f64, betas = [0.9, 0.999], cycle_momentum = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: Adagrad: cycle_momentum is not supported for this optimizer}}
module attributes {nn.optimizer = {type = "Adagrad", lr = 0.01 : f64, cycle_momentum = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// A sparse embedding (the importer's nn.sparse_rows result: the rows its
// indices read) under SparseAdam, and a dense parameter under Adam, a
// group of its own type (two torch optimizers). The gradient function
// keeps the rows (last), train_step hands them to SparseAdam's update;
// accumulate adds each batch's rows to a rows sum beside the grad sums, and
// apply steps SparseAdam on the rows sum, then zeroes it.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32>, tensor<6x1xf32>, tensor<2xf32>, tensor<6x1xf32> {nn.sparse_rows = "emb.weight"})
// CHECK-LABEL: func.func @train_step
// CHECK: %[[R:.+]]:4 = call @loss_grad
// CHECK: nn.optimizer_update %arg0, %[[R]]#1, states(%{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} rows %[[R]]#3 {hyper = {betas = {{.+}}, eps = {{.+}}, maximize = false}, optimizer = "SparseAdam"}
// CHECK: nn.optimizer_update %arg1, %[[R]]#2, states(%{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} {hyper = {amsgrad = false, {{.*}}}, optimizer = "Adam"}
// CHECK-LABEL: func.func @accumulate
// CHECK-SAME: %[[G0:[^:]+]]: tensor<6x1xf32> {nn.name = "emb.weight", nn.role = #nn.role<grad>}
// CHECK-SAME: %[[ROWS:[^:]+]]: tensor<6x1xf32> {nn.name = "emb.weight.grad_rows", nn.role = #nn.role<sparse_rows>}
// CHECK-SAME: %[[S0:[^:]+]]: tensor<6x1xf32> {nn.init = #nn.init<zeros>, nn.name = "emb.weight.grad", nn.role = #nn.role<grad_sum>}
// CHECK-SAME: %[[RS:[^:]+]]: tensor<6x1xf32> {nn.init = #nn.init<zeros>, nn.name = "emb.weight.grad.rows", nn.role = #nn.role<rows_sum>}
// CHECK: nn.add %[[S0]], %[[G0]]
// CHECK: nn.add %[[RS]], %[[ROWS]]
// CHECK-LABEL: func.func @apply
// CHECK-SAME: %{{[^:]+}}: tensor<6x1xf32> {nn.init = #nn.init<zeros>, nn.name = "emb.weight.grad.rows", nn.role = #nn.role<rows_sum>}
// CHECK: nn.optimizer_update %arg0, %arg9, {{.+}} rows %arg11 {{.+}}optimizer = "SparseAdam"
module attributes {nn.optimizer = {type = "SparseAdam", lr = 0.01 : f64, betas = [0.9, 0.999], eps = 1.0e-8 : f64, maximize = false, param_groups = [
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

// -----

// torch refuses Adam's step on a sparse gradient, so does kilnc.
// expected-error @+1 {{nn.optimizer: parameter 'emb.weight' has a sparse gradient (its embedding has sparse=True): Adam does not support sparse gradients, please consider SparseAdam instead}}
module attributes {nn.optimizer = {type = "Adam", lr = 0.01 : f64}} {
  func.func @loss(%w: tensor<6x1xf32> {nn.name = "emb.weight", nn.role = #nn.role<param>}, %i: tensor<3x1xi64> {nn.name = "idx", nn.role = #nn.role<input>}, %t: tensor<3x1xf32> {nn.name = "target", nn.role = #nn.role<target>}) -> (tensor<f32>, tensor<6x1xf32> {nn.sparse_rows = "emb.weight"}) attributes {nn.differentiate, nn.loss} {
    %e = nn.gather %w, %i {dim = 0 : i64} : (tensor<6x1xf32>, tensor<3x1xi64>) -> tensor<3x1xf32>
    %l = nn.mse_loss %e, %t : (tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<f32>
    %ones = arith.constant dense<1.0> : tensor<3x1xf32>
    %r = nn.gather_backward %ones, %i {dim = 0 : i64} : (tensor<3x1xf32>, tensor<3x1xi64>) -> tensor<6x1xf32>
    return %l, %r : tensor<f32>, tensor<6x1xf32>
  }
}

// -----

// ... and SparseAdam's on a dense one.
// expected-error @+1 {{nn.optimizer: parameter 'w': SparseAdam does not support dense gradients, please consider Adam instead}}
module attributes {nn.optimizer = {type = "SparseAdam", lr = 0.01 : f64}} {
  func.func @loss(%w: tensor<3x2xf32> {nn.name = "w", nn.role = #nn.role<param>}, %t: tensor<3x2xf32> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %l = nn.mse_loss %w, %t : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
