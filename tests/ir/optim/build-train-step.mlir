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
