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

// expected-error @+1 {{data parallelism (kilnc --data-parallel) does not support LBFGS yet}}
module attributes {nn.data_parallel, nn.optimizer = {type = "LBFGS", lr = 1.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
