// RUN: kiln-opt %s --nn-autodiff -split-input-file -verify-diagnostics | FileCheck %s

// A loss with reduction 'none' is not a scalar: nothing to differentiate.
// expected-error @+1 {{nn-autodiff: the first result of 'per_row' must be a scalar float loss (a loss with reduction 'none' cannot be trained)}}
func.func @per_row(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<2xf32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %h, %t reduction none : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %l : tensor<2xf32>
}

// -----

// expected-error @+1 {{nn-autodiff: the first result of 'no_result' must be a scalar float loss (a loss with reduction 'none' cannot be trained)}}
func.func @no_result(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}) attributes {nn.differentiate} {
  return
}

// -----

// threshold_backward has no gradient rule (no double backward).
func.func @through_threshold_backward(%w: tensor<2x4xf32> {nn.role = #nn.role<param>}, %g: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  // expected-error @+1 {{nn-autodiff: 'nn.threshold_backward' has no gradient rule, but 'through_threshold_backward' is differentiated through it}}
  %d = nn.threshold_backward %g, %w : tensor<2x4xf32>
  %l = nn.cross_entropy_loss %d, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

func.func @through_cross_entropy_backward(%x: tensor<2x4xf32> {nn.role = #nn.role<param>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}, %u: tensor<2x4xf32> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %one = arith.constant dense<1.0> : tensor<f32>
  // expected-error @+1 {{nn-autodiff: 'nn.cross_entropy_loss_backward' has no gradient rule, but 'through_cross_entropy_backward' is differentiated through it}}
  %d = nn.cross_entropy_loss_backward %one, %x, %t : (tensor<f32>, tensor<2x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %l = nn.mse_loss %d, %u : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// An op without a rule that does not depend on a param is fine: the target
// side of the graph is never differentiated.
// CHECK-LABEL: func.func @inactive_op_without_rule_grad
// CHECK: nn.mse_loss_backward
// CHECK: return %{{.+}}, %{{.+}} : tensor<f32>, tensor<4x4xf32>
func.func @inactive_op_without_rule(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %g: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2x4xf32> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %d = nn.threshold_backward %g, %t : tensor<2x4xf32>
  %l = nn.mse_loss %h, %d : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
