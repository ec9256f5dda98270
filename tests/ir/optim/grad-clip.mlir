// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step --split-input-file -verify-diagnostics | FileCheck %s

// clip_grad_norm_ (p = 2) between the gradient call and the updates: one
// sqrt(sum(g * g)) per gradient, the norm of the two norms, the clip
// coefficient min((1 / (total + 1e-6)) * max_norm, 1) scaling each
// gradient; with error_if_nonfinite the total norm is the last result,
// marked nn.grad_norm.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: tensor<f32> {nn.grad_norm})
// CHECK: %[[G:.+]]:3 = call @loss_grad
// CHECK: %[[SQ0:.+]] = nn.mul %[[G]]#1, %[[G]]#1
// CHECK: nn.sum %[[SQ0]]
// CHECK: nn.sqrt
// CHECK: %[[SQ1:.+]] = nn.mul %[[G]]#2, %[[G]]#2
// CHECK: nn.sum %[[SQ1]]
// CHECK: nn.sqrt
// CHECK: %[[TOTAL:.+]] = nn.sqrt
// CHECK: %[[SHIFTED:.+]] = nn.add %[[TOTAL]], %{{.+}}
// CHECK: %[[RECIP:.+]] = nn.div %{{.+}}, %[[SHIFTED]]
// CHECK: %[[SCALED:.+]] = nn.mul %[[RECIP]], %{{.+}}
// CHECK: %[[COEF:.+]] = nn.minimum %[[SCALED]], %{{.+}}
// CHECK: %[[CW:.+]] = nn.mul %[[G]]#1, %[[COEF]]
// CHECK: %[[CB:.+]] = nn.mul %[[G]]#2, %[[COEF]]
// CHECK: nn.sgd_update %{{.+}}, %[[CW]]
// CHECK: nn.sgd_update %{{.+}}, %[[CB]]
// CHECK: return {{.+}}, %[[TOTAL]] :
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_norm = {max_norm = 0.5 : f64, norm_type = 2.0 : f64, error_if_nonfinite = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// p = inf: the largest |g| per gradient, the largest of those; no
// nn.grad_norm result without error_if_nonfinite.
// CHECK-LABEL: func.func @train_step
// CHECK-NOT: nn.grad_norm
// CHECK: %[[A0:.+]] = nn.abs
// CHECK: %[[M0:.+]] = nn.amax %[[A0]]
// CHECK: %[[A1:.+]] = nn.abs
// CHECK: %[[M1:.+]] = nn.amax %[[A1]]
// CHECK: nn.maximum %[[M0]], %[[M1]]
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_norm = {max_norm = 0.5 : f64, norm_type = 0x7FF0000000000000 : f64, error_if_nonfinite = false}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// clip_grad_value_: clamp(g, -c, c) as maximum then minimum (NaN stays).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[G:.+]]:3 = call @loss_grad
// CHECK-DAG: %[[LO:.+]] = arith.constant dense<-2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[HI:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[C:.+]] = nn.maximum %[[G]]#1, %[[LO]]
// CHECK: nn.minimum %[[C]], %[[HI]]
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_value = {clip_value = 0.25 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn-build-train-step: nn.clip_grad_norm needs a max_norm > 0}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_norm = {max_norm = 0.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn-build-train-step: nn.clip_grad_norm: norm_type -1 is not supported (a number > 0 or inf)}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_norm = {max_norm = 1.0 : f64, norm_type = -1.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn-build-train-step: nn.clip_grad_value and nn.clip_grad_norm cannot both be given}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}, nn.clip_grad_norm = {max_norm = 1.0 : f64}, nn.clip_grad_value = {clip_value = 1.0 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
