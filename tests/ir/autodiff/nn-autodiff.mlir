// RUN: kiln-opt %s --nn-autodiff --split-input-file | FileCheck %s
// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s --check-prefix=INPUTS

// Two-layer MLP with cross entropy. The gradient function returns the loss
// and the gradient of every param in argument order; the first layer's input
// is not differentiated (no dx matmul against its weight).

// The forward function is kept unchanged.
// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: attributes {nn.differentiate}
// CHECK-NOT: nn.cross_entropy_loss_backward
// CHECK: return

// CHECK-LABEL: func.func @mlp_grad
// CHECK-SAME: (%[[W0:[a-zA-Z0-9_]+]]: tensor<16x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %[[B0:[a-zA-Z0-9_]+]]: tensor<16xf32> {{.*}}, %[[W1:[a-zA-Z0-9_]+]]: tensor<4x16xf32> {{.*}}, %[[B1:[a-zA-Z0-9_]+]]: tensor<4xf32> {{.*}}, %[[X:[a-zA-Z0-9_]+]]: tensor<2x8xf32> {{.*}}, %[[T:[a-zA-Z0-9_]+]]: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>})
// CHECK-SAME: -> (tensor<f32>, tensor<16x8xf32>, tensor<16xf32>, tensor<4x16xf32>, tensor<4xf32>)
// CHECK-NOT: nn.differentiate
// CHECK: %[[H:[a-zA-Z0-9_]+]] = nn.linear %[[X]], %[[W0]], %[[B0]]
// CHECK: %[[A:[a-zA-Z0-9_]+]] = nn.relu %[[H]]
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = nn.linear %[[A]], %[[W1]], %[[B1]]
// CHECK: %[[L:[a-zA-Z0-9_]+]] = nn.cross_entropy_loss %[[Y]], %[[T]]
// CHECK: %[[ONE:[a-zA-Z0-9_]+]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DY:[a-zA-Z0-9_]+]] = nn.cross_entropy_loss_backward %[[ONE]], %[[Y]], %[[T]] : (tensor<f32>, tensor<2x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
// CHECK: %[[DA:[a-zA-Z0-9_]+]] = nn.matmul %[[DY]], %[[W1]] : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
// CHECK: %[[DW1:[a-zA-Z0-9_]+]] = nn.matmul %[[DY]], %[[A]] {transpose_lhs} : (tensor<2x4xf32>, tensor<2x16xf32>) -> tensor<4x16xf32>
// CHECK: %[[DB1:[a-zA-Z0-9_]+]] = nn.sum_to_size %[[DY]] : (tensor<2x4xf32>) -> tensor<4xf32>
// CHECK: %[[DH:[a-zA-Z0-9_]+]] = nn.threshold_backward %[[DA]], %[[H]] : tensor<2x16xf32>
// CHECK-NOT: nn.matmul %[[DH]], %[[W0]]
// CHECK: %[[DW0:[a-zA-Z0-9_]+]] = nn.matmul %[[DH]], %[[X]] {transpose_lhs} : (tensor<2x16xf32>, tensor<2x8xf32>) -> tensor<16x8xf32>
// CHECK: %[[DB0:[a-zA-Z0-9_]+]] = nn.sum_to_size %[[DH]] : (tensor<2x16xf32>) -> tensor<16xf32>
// CHECK-NOT: nn.matmul
// CHECK: return %[[L]], %[[DW0]], %[[DB0]], %[[DW1]], %[[DB1]] : tensor<f32>, tensor<16x8xf32>, tensor<16xf32>, tensor<4x16xf32>, tensor<4xf32>

// With wrt-inputs the input gradient dx = dh W0 is computed and returned last.
// INPUTS-LABEL: func.func @mlp_grad
// INPUTS-SAME: -> (tensor<f32>, tensor<16x8xf32>, tensor<16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<2x8xf32>)
// INPUTS: %[[DH:[a-zA-Z0-9_]+]] = nn.threshold_backward
// INPUTS: %[[DX:[a-zA-Z0-9_]+]] = nn.matmul %[[DH]], %arg0 : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
// INPUTS: return %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[DX]] :
func.func @mlp(%w0: tensor<16x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b0: tensor<16xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %w1: tensor<4x16xf32> {nn.name = "2.weight", nn.role = #nn.role<param>}, %b1: tensor<4xf32> {nn.name = "2.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w0, %b0 : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %a = nn.relu %h : tensor<2x16xf32>
  %y = nn.linear %a, %w1, %b1 : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Fan-out: %h feeds both relu and the residual add, so its adjoint is the
// sum (nn.add) of the two contributions.
// CHECK-LABEL: func.func @fanout_grad
// CHECK: %[[H:[a-zA-Z0-9_]+]] = nn.linear
// CHECK: %[[DS:[a-zA-Z0-9_]+]] = nn.cross_entropy_loss_backward
// CHECK: %[[DR:[a-zA-Z0-9_]+]] = nn.threshold_backward %[[DS]], %[[H]]
// CHECK: %[[DH:[a-zA-Z0-9_]+]] = nn.add %[[DS]], %[[DR]] : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[DW:[a-zA-Z0-9_]+]] = nn.matmul %[[DH]], %arg1 {transpose_lhs}
// CHECK: return %{{.+}}, %[[DW]]
func.func @fanout(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %r = nn.relu %h : tensor<2x4xf32>
  %s = nn.add %r, %h : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %s, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// The same value on both sides of one op: add(h, h) gives dh = g + g.
// CHECK-LABEL: func.func @fanout_same_op_grad
// CHECK: %[[G:[a-zA-Z0-9_]+]] = nn.cross_entropy_loss_backward
// CHECK: %[[DH:[a-zA-Z0-9_]+]] = nn.add %[[G]], %[[G]]
// CHECK: nn.matmul %[[DH]], %arg1 {transpose_lhs}
func.func @fanout_same_op(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %s = nn.add %h, %h : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %s, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Broadcasting operands get their gradient summed back to their shape:
// add's [4] bias over rows, mul's [2, 1] scale over columns (dy * a).
// CHECK-LABEL: func.func @broadcast_grad
// CHECK-SAME: (%[[B:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.role = #nn.role<param>}, %[[S:[a-zA-Z0-9_]+]]: tensor<2x1xf32> {nn.role = #nn.role<param>}
// CHECK: %[[A:[a-zA-Z0-9_]+]] = nn.add %{{.+}}, %[[B]]
// CHECK: %[[G:[a-zA-Z0-9_]+]] = nn.cross_entropy_loss_backward
// CHECK-DAG: %[[GA:[a-zA-Z0-9_]+]] = nn.mul %[[G]], %[[S]] : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
// CHECK-DAG: %[[GSF:[a-zA-Z0-9_]+]] = nn.mul %[[G]], %[[A]] : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-DAG: %[[GS:[a-zA-Z0-9_]+]] = nn.sum_to_size %[[GSF]] : (tensor<2x4xf32>) -> tensor<2x1xf32>
// CHECK-DAG: %[[GB:[a-zA-Z0-9_]+]] = nn.sum_to_size %[[GA]] : (tensor<2x4xf32>) -> tensor<4xf32>
// CHECK: return %{{.+}}, %[[GB]], %[[GS]] : tensor<f32>, tensor<4xf32>, tensor<2x1xf32>
func.func @broadcast(%b: tensor<4xf32> {nn.role = #nn.role<param>}, %s: tensor<2x1xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %a = nn.add %x, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %m = nn.mul %a, %s : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %m, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A param the loss does not depend on gets a zeros gradient, marked
// nn.no_gradient (torch's grad None); a used one is not marked.
// CHECK-LABEL: func.func @unused_param_grad
// CHECK-SAME: -> (tensor<f32>, tensor<4x4xf32>, tensor<3xf32> {nn.no_gradient})
// CHECK: %[[DW:[a-zA-Z0-9_]+]] = nn.matmul
// CHECK: %[[Z:[a-zA-Z0-9_]+]] = arith.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK: return %{{.+}}, %[[DW]], %[[Z]] : tensor<f32>, tensor<4x4xf32>, tensor<3xf32>
func.func @unused_param(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %u: tensor<3xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %h, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// MSE: only the prediction is differentiated, never the float target.
// CHECK-LABEL: func.func @mse_grad
// CHECK-SAME: %[[T:[a-zA-Z0-9_]+]]: tensor<2x3xf32> {nn.role = #nn.role<target>}
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = nn.linear
// CHECK: %[[ONE:[a-zA-Z0-9_]+]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DY:[a-zA-Z0-9_]+]] = nn.mse_loss_backward %[[ONE]], %[[Y]], %[[T]] reduction sum : (tensor<f32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: %[[DW:[a-zA-Z0-9_]+]] = nn.matmul %[[DY]], %{{.+}} {transpose_lhs}
// CHECK: %[[DB:[a-zA-Z0-9_]+]] = nn.sum_to_size %[[DY]]
// CHECK: return %{{.+}}, %[[DW]], %[[DB]] : tensor<f32>, tensor<3x4xf32>, tensor<3xf32>
// INPUTS-LABEL: func.func @mse_grad
// INPUTS-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32>, tensor<2x4xf32>)
func.func @mse(%w: tensor<3x4xf32> {nn.role = #nn.role<param>}, %b: tensor<3xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2x3xf32> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.linear %x, %w, %b : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %l = nn.mse_loss %y, %t reduction sum : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// sub negates the rhs gradient (-1 * g); flatten's gradient is a reshape
// back to the input shape (only computed with wrt-inputs).
// CHECK-LABEL: func.func @sub_flatten_grad
// CHECK: %[[DD:[a-zA-Z0-9_]+]] = nn.matmul %{{.+}}, %arg0 : (tensor<2x4xf32>, tensor<4x12xf32>) -> tensor<2x12xf32>
// CHECK: %[[NEG1:[a-zA-Z0-9_]+]] = arith.constant dense<-1.000000e+00> : tensor<f32>
// CHECK: %[[DC:[a-zA-Z0-9_]+]] = nn.mul %[[DD]], %[[NEG1]] : (tensor<2x12xf32>, tensor<f32>) -> tensor<2x12xf32>
// CHECK-NOT: nn.reshape
// CHECK: return %{{.+}}, %{{.+}}, %[[DC]] : tensor<f32>, tensor<4x12xf32>, tensor<2x12xf32>
// INPUTS-LABEL: func.func @sub_flatten_grad
// INPUTS: %[[DD:[a-zA-Z0-9_]+]] = nn.matmul %{{.+}}, %arg0 : (tensor<2x4xf32>, tensor<4x12xf32>) -> tensor<2x12xf32>
// INPUTS: %[[DX:[a-zA-Z0-9_]+]] = nn.reshape %[[DD]] : (tensor<2x12xf32>) -> tensor<2x3x4xf32>
// INPUTS: return %{{.+}}, %{{.+}}, %{{.+}}, %[[DX]] : tensor<f32>, tensor<4x12xf32>, tensor<2x12xf32>, tensor<2x3x4xf32>
func.func @sub_flatten(%w: tensor<4x12xf32> {nn.role = #nn.role<param>}, %c: tensor<2x12xf32> {nn.role = #nn.role<param>}, %x: tensor<2x3x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %f = nn.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %d = nn.sub %f, %c : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %y = nn.linear %d, %w : (tensor<2x12xf32>, tensor<4x12xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A batched matmul's gradients are batched matmuls with the transpositions
// of the 2-D rule, per item: C = Q K^T gives dQ = dC K and dK = dC^T Q.
// CHECK-LABEL: func.func @attention_scores_grad
// CHECK: %[[S:.+]] = nn.matmul %arg0, %arg1 {transpose_rhs} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
// CHECK: %[[DS:.+]] = nn.mse_loss_backward
// CHECK-DAG: nn.matmul %[[DS]], %arg1 : (tensor<2x3x4x5xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x8xf32>
// CHECK-DAG: nn.matmul %[[DS]], %arg0 {transpose_lhs} : (tensor<2x3x4x5xf32>, tensor<2x3x4x8xf32>) -> tensor<2x3x5x8xf32>
func.func @attention_scores(%q: tensor<2x3x4x8xf32> {nn.role = #nn.role<param>}, %k: tensor<2x3x5x8xf32> {nn.role = #nn.role<param>}, %t: tensor<2x3x4x5xf32> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %s = nn.matmul %q, %k {transpose_rhs} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
  %l = nn.mse_loss %s, %t reduction sum : (tensor<2x3x4x5xf32>, tensor<2x3x4x5xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Functions without nn.differentiate are left alone.
// CHECK-LABEL: func.func @not_differentiated
// CHECK-NOT: func.func @not_differentiated_grad
func.func @not_differentiated(%w: tensor<4x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32>, %t: tensor<2xi64>) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %l = nn.cross_entropy_loss %h, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A frozen parameter (nn.frozen: training.frozen, torch's requires_grad
// False) gets zeros marked nn.no_gradient, and nothing is differentiated
// for its sake: no gradient of the first layer's weight, so no matmul of the
// first layer's backward at all (its input is not differentiated either).
// CHECK-LABEL: func.func @frozen_first_layer_grad
// CHECK-SAME: -> (tensor<f32>, tensor<4x4xf32> {nn.no_gradient}, tensor<3x4xf32>)
// CHECK: %[[H:.+]] = nn.linear %{{.+}}, %{{.+}} : (tensor<2x4xf32>, tensor<4x4xf32>)
// CHECK: %[[DW:.+]] = nn.matmul %{{.+}}, %[[H]] {transpose_lhs}
// CHECK-NOT: nn.matmul
// CHECK: return %{{.+}}, %{{.+}}, %[[DW]]
func.func @frozen_first_layer(%w1: tensor<4x4xf32> {nn.role = #nn.role<param>, nn.frozen}, %w2: tensor<3x4xf32> {nn.role = #nn.role<param>}, %x: tensor<2x4xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate} {
  %h = nn.linear %x, %w1 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %y = nn.linear %h, %w2 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy_loss %y, %t : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
