// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step --split-input-file | FileCheck %s

// SGD with momentum: one momentum buffer per param becomes a state argument
// (after the params, before step and lr), each nn.sgd_update takes and
// returns its buffer, and nesterov / weight_decay / maximize propagate. The
// gradients the update used come right after the loss (torch's param.grad).
// CHECK-LABEL: func.func @loss_grad
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>},
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>},
// CHECK-SAME: %[[WBUF:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "0.weight.momentum_buffer", nn.role = #nn.role<state>},
// CHECK-SAME: %[[BBUF:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<zeros>, nn.name = "0.bias.momentum_buffer", nn.role = #nn.role<state>},
// CHECK-SAME: %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64> {nn.name = "step", nn.role = #nn.role<step>},
// CHECK-SAME: %[[LR:[a-zA-Z0-9_]+]]: tensor<f32> {nn.init = #nn.init<constant {{.+}}>, nn.name = "lr", nn.role = #nn.role<lr>},
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>},
// CHECK-SAME: %[[T:[a-zA-Z0-9_]+]]: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>})
// CHECK-SAME: -> (tensor<f32>, tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<i64>)
// CHECK: %[[G:[a-zA-Z0-9_]+]]:3 = call @loss_grad(%[[W]], %[[B]], %[[X]], %[[T]])
// CHECK: %[[NW:[a-zA-Z0-9_]+]], %[[NWBUF:[a-zA-Z0-9_]+]] = nn.sgd_update %[[W]], %[[G]]#1, momentum_buffer %[[WBUF]], lr %[[LR]], step %[[STEP]] {maximize, momentum = 9.000000e-01 : f64, nesterov, weight_decay = 1.000000e-04 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<f32>, tensor<i64>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: %[[NB:[a-zA-Z0-9_]+]], %[[NBBUF:[a-zA-Z0-9_]+]] = nn.sgd_update %[[B]], %[[G]]#2, momentum_buffer %[[BBUF]], lr %[[LR]], step %[[STEP]] {maximize, momentum = 9.000000e-01 : f64, nesterov, weight_decay = 1.000000e-04 : f64}
// CHECK: %[[ONE:[a-zA-Z0-9_]+]] = arith.constant dense<1> : tensor<i64>
// CHECK: %[[NEXT:[a-zA-Z0-9_]+]] = arith.addi %[[STEP]], %[[ONE]] : tensor<i64>
// CHECK: return %[[G]]#0, %[[G]]#1, %[[G]]#2, %[[NW]], %[[NB]], %[[NWBUF]], %[[NBBUF]], %[[NEXT]]
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = 0.9 : f64, nesterov = true, weight_decay = 1.0e-4 : f64, maximize = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "0.bias", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Momentum 0 (an integer is accepted): no state arguments, no buffers.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>},
// CHECK-SAME: %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64> {nn.name = "step", nn.role = #nn.role<step>},
// CHECK-SAME: %[[LR:[a-zA-Z0-9_]+]]: tensor<f32> {nn.init = #nn.init<constant {{.+}}>, nn.name = "lr", nn.role = #nn.role<lr>},
// CHECK-SAME: -> (tensor<f32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<i64>)
// CHECK-NOT: nn.role = #nn.role<state>
// CHECK: %[[G:[a-zA-Z0-9_]+]]:2 = call @loss_grad
// CHECK: %[[NW:[a-zA-Z0-9_]+]] = nn.sgd_update %[[W]], %[[G]]#1, lr %[[LR]], step %[[STEP]] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<f32>, tensor<i64>) -> tensor<4x8xf32>
// CHECK: return %[[G]]#0, %[[G]]#1, %[[NW]], %{{.+}} : tensor<f32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<i64>
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = 0 : i64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "0.weight", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Dampening propagates; params keep their order even when an input comes
// first, and the call puts every argument back in the loss's order.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>},
// CHECK-SAME: %[[WBUF:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "w.momentum_buffer", nn.role = #nn.role<state>},
// CHECK-SAME: %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64> {{.*}}, %[[LR:[a-zA-Z0-9_]+]]: tensor<f32> {{.*}}, %[[X:[a-zA-Z0-9_]+]]: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %[[T:[a-zA-Z0-9_]+]]: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>})
// CHECK: %[[G:[a-zA-Z0-9_]+]]:2 = call @loss_grad(%[[X]], %[[W]], %[[T]])
// CHECK: nn.sgd_update %[[W]], %[[G]]#1, momentum_buffer %[[WBUF]], lr %[[LR]], step %[[STEP]] {dampening = 5.000000e-01 : f64, momentum = 5.000000e-01 : f64}
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64, momentum = 0.5 : f64, dampening = 0.5 : f64}} {
  func.func @loss(%x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// No nn.loss function: an inference-only module is left as it is.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: func.func @train_step
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64}} {
  func.func @forward(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}) -> tensor<2x4xf32> {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    return %y : tensor<2x4xf32>
  }
}

// -----

// A train-mode loss that also returns a buffer's next value (nn.next): the
// gradient function passes it through after the gradients, undifferentiated,
// and train_step returns it after the new step, attribute and all. Buffers
// and the rng state are "other" arguments, after step and lr.
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32> {nn.next = "bn.running_mean"})
// CHECK: %[[MEAN:.*]] = nn.mean
// CHECK: return %{{.*}}, %{{.*}}, %[[MEAN]]
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %{{.*}}: tensor<3x4xf32> {nn.name = "w", nn.role = #nn.role<param>}, %{{.*}}: tensor<i64> {nn.name = "step", nn.role = #nn.role<step>}, %{{.*}}: tensor<f32> {nn.init = #nn.init<constant {{.+}}>, nn.name = "lr", nn.role = #nn.role<lr>}, %{{.*}}: tensor<3xf32> {nn.name = "bn.running_mean", nn.role = #nn.role<buffer>}, %{{.*}}: tensor<2x4xf32> {nn.name = "x", nn.role = #nn.role<input>}, %{{.*}}: tensor<2x3xf32> {nn.name = "t", nn.role = #nn.role<target>}, %{{.*}}: tensor<2xi64> {nn.name = "rng", nn.role = #nn.role<rng>})
// CHECK-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<i64>, tensor<3xf32> {nn.next = "bn.running_mean"})
// CHECK-SAME: attributes {nn.mode = "train", nn.rng_counters = 6 : i64}
// CHECK: %[[G:.*]]:3 = call @loss_grad
// CHECK: return %[[G]]#0, %[[G]]#1, %{{.*}}, %{{.*}}, %[[G]]#2
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64}} {
  func.func @loss(%w: tensor<3x4xf32> {nn.name = "w", nn.role = #nn.role<param>}, %rm: tensor<3xf32> {nn.name = "bn.running_mean", nn.role = #nn.role<buffer>}, %x: tensor<2x4xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2x3xf32> {nn.name = "t", nn.role = #nn.role<target>}, %rng: tensor<2xi64> {nn.name = "rng", nn.role = #nn.role<rng>}) -> (tensor<f32>, tensor<3xf32> {nn.next = "bn.running_mean"}) attributes {nn.differentiate, nn.loss, nn.mode = "train", nn.rng_counters = 6 : i64} {
    %h = nn.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
    %u = nn.random_uniform %rng {offset = 0 : i64} : (tensor<2xi64>) -> tensor<2x3xf32>
    %d = nn.mul %h, %u : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %m = nn.mean %d {dims = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
    %l = nn.mse_loss %d, %t : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<f32>
    return %l, %m : tensor<f32>, tensor<3xf32>
  }
}

// -----

// Gradient accumulation (step 4): accumulate adds each gradient (named like
// its parameter, role grad) to its grad sum (`<param>.grad`); apply is
// train_step's clipping and update on the grad sums, the step + 1, then
// zeros as the next grad sums, and the checked norm last like train_step's.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: tensor<f32> {nn.grad_norm})
// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME: %[[GW:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<grad>},
// CHECK-SAME: %[[GB:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.name = "b", nn.role = #nn.role<grad>},
// CHECK-SAME: %[[SW:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "w.grad", nn.role = #nn.role<grad_sum>},
// CHECK-SAME: %[[SB:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<zeros>, nn.name = "b.grad", nn.role = #nn.role<grad_sum>})
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<4xf32>)
// CHECK: %[[AW:.+]] = nn.add %[[SW]], %[[GW]]
// CHECK: %[[AB:.+]] = nn.add %[[SB]], %[[GB]]
// CHECK: return %[[AW]], %[[AB]]
// CHECK-LABEL: func.func @apply(
// CHECK-SAME: %[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>},
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.name = "b", nn.role = #nn.role<param>},
// CHECK-SAME: %[[WBUF:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "w.momentum_buffer", nn.role = #nn.role<state>},
// CHECK-SAME: %[[BBUF:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<zeros>, nn.name = "b.momentum_buffer", nn.role = #nn.role<state>},
// CHECK-SAME: %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64> {nn.name = "step", nn.role = #nn.role<step>},
// CHECK-SAME: %[[LR:[a-zA-Z0-9_]+]]: tensor<f32> {nn.init = #nn.init<constant {{.+}}>, nn.name = "lr", nn.role = #nn.role<lr>},
// CHECK-SAME: %[[SW2:[a-zA-Z0-9_]+]]: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "w.grad", nn.role = #nn.role<grad_sum>},
// CHECK-SAME: %[[SB2:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<zeros>, nn.name = "b.grad", nn.role = #nn.role<grad_sum>})
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<i64>, tensor<4x8xf32>, tensor<4xf32>, tensor<f32> {nn.grad_norm})
// CHECK-NOT: call
// CHECK: nn.mul %[[SW2]], %[[SW2]]
// CHECK: nn.mul %[[SB2]], %[[SB2]]
// CHECK: nn.sqrt
// CHECK: %[[TOTAL:.+]] = nn.sqrt
// CHECK: %[[CW:.+]] = nn.mul %[[SW2]], %[[COEF:[a-zA-Z0-9_]+]] : (tensor<4x8xf32>, tensor<f32>)
// CHECK: %[[CB:.+]] = nn.mul %[[SB2]], %[[COEF]]
// CHECK: %[[NW:[a-zA-Z0-9_]+]], %[[NWBUF:[a-zA-Z0-9_]+]] = nn.sgd_update %[[W]], %[[CW]], momentum_buffer %[[WBUF]], lr %[[LR]], step %[[STEP]]
// CHECK: %[[NB:[a-zA-Z0-9_]+]], %[[NBBUF:[a-zA-Z0-9_]+]] = nn.sgd_update %[[B]], %[[CB]], momentum_buffer %[[BBUF]], lr %[[LR]], step %[[STEP]]
// CHECK: %[[NEXT:.+]] = arith.addi %[[STEP]]
// CHECK-DAG: %[[ZW:.+]] = arith.constant dense<0.000000e+00> : tensor<4x8xf32>
// CHECK-DAG: %[[ZB:.+]] = arith.constant dense<0.000000e+00> : tensor<4xf32>
// CHECK: return %[[NW]], %[[NB]], %[[NWBUF]], %[[NBBUF]], %[[NEXT]], %[[ZW]], %[[ZB]], %[[TOTAL]]
module attributes {nn.optimizer = {type = "SGD", lr = 0.1 : f64, momentum = 0.5 : f64}, nn.clip_grad_norm = {max_norm = 1.0 : f64, norm_type = 2.0 : f64, error_if_nonfinite = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %b: tensor<4xf32> {nn.name = "b", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// A parameter the loss does not reach (nn.no_gradient: torch's grad None)
// is in no group, as torch's step skips it: no state, no update (weight
// decay would change it), returned as it came; the used one is updated.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %{{.+}}: tensor<4x8xf32> {nn.init = #nn.init<zeros>, nn.name = "w.momentum_buffer", nn.role = #nn.role<state>}
// CHECK-NOT: nn.name = "u.momentum_buffer"
// CHECK: %[[G:[a-zA-Z0-9_]+]]:3 = call @loss_grad
// CHECK: %[[NW:[a-zA-Z0-9_]+]], %{{.+}} = nn.sgd_update %{{.+}}, %[[G]]#1,
// CHECK-NOT: nn.sgd_update
// CHECK: return %[[G]]#0, %[[G]]#1, %[[G]]#2, %[[NW]], %arg1,
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = 0.9 : f64, weight_decay = 0.1 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %u: tensor<3xf32> {nn.name = "u", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.name = "target", nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
