// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step --split-input-file -verify-diagnostics | FileCheck %s

// LBFGS: the runtime runs torch's step around the gradient function (its
// closure), so nn-build-train-step builds no train_step, accumulate or apply
// and leaves loss_grad for the gradients kernel.
// CHECK-LABEL: func.func @loss_grad
// CHECK-NOT: func.func @train_step
// CHECK-NOT: func.func @accumulate
// CHECK-NOT: func.func @apply
module attributes {nn.optimizer = {type = "LBFGS", lr = 1.0 : f64, max_iter = 20 : i64, tolerance_grad = 1.0e-7 : f64, tolerance_change = 1.0e-9 : f64, history_size = 10 : i64, line_search_fn = "strong_wolfe"}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// torch refuses parameter groups for LBFGS; hand-written modules too.
// expected-error @+1 {{nn.optimizer: LBFGS: LBFGS doesn't support per-parameter options (parameter groups)}}
module attributes {nn.optimizer = {type = "LBFGS", lr = 1.0 : f64, param_groups = [{params = ["0.weight"]}]}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: LBFGS: only 'strong_wolfe' is supported as line_search_fn}}
module attributes {nn.optimizer = {type = "LBFGS", lr = 1.0 : f64, line_search_fn = "backtracking"}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: LBFGS: 'history_size' must be an integer in [1, 2^31)}}
module attributes {nn.optimizer = {type = "LBFGS", lr = 1.0 : f64, history_size = 0 : i64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: LBFGS: gradient clipping is not supported}}
module attributes {nn.clip_grad_value = {clip_value = 0.5 : f64}, nn.optimizer = {type = "LBFGS", lr = 1.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
