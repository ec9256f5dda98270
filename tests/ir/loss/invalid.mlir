// RUN: kiln-opt %s --split-input-file --verify-diagnostics

func.func @bce_shapes(%p: tensor<8x4xf32>, %t: tensor<8x3xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %l = "nn.binary_cross_entropy"(%p, %t) : (tensor<8x4xf32>, tensor<8x3xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @bce_index_target(%p: tensor<8xf32>, %t: tensor<8xi64>) {
  // expected-error @+1 {{must be ranked tensor of 32-bit float values}}
  %l = "nn.binary_cross_entropy"(%p, %t) : (tensor<8xf32>, tensor<8xi64>) -> tensor<8xf32>
  return
}

// -----

func.func @nll_target_shape(%x: tensor<4x5x3xf32>, %t: tensor<4x5xi64>) {
  // expected-error @+2 {{nn.nll_loss: target must be [4, 3] class indices for input [4, 5, 3], got [4, 5]}}
  // expected-error @+1 {{'nn.nll_loss' op failed to infer returned types}}
  %l = nn.nll_loss %x, %t : (tensor<4x5x3xf32>, tensor<4x5xi64>) -> tensor<f32>
  return
}

// -----

func.func @nll_weight_shape(%x: tensor<4x5xf32>, %t: tensor<4xi64>, %w: tensor<4xf32>) {
  // expected-error @+2 {{nn.nll_loss: weight must be [5] (one per class), got [4]}}
  // expected-error @+1 {{'nn.nll_loss' op failed to infer returned types}}
  %l = nn.nll_loss %x, %t weight %w : (tensor<4x5xf32>, tensor<4xi64>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @nll_scalar(%x: tensor<f32>, %t: tensor<i64>) {
  // expected-error @+2 {{nn.nll_loss: input must have a class dimension, got a scalar}}
  // expected-error @+1 {{'nn.nll_loss' op failed to infer returned types}}
  %l = nn.nll_loss %x, %t : (tensor<f32>, tensor<i64>) -> tensor<f32>
  return
}

// -----

func.func @nll_backward_grad(%g: tensor<f32>, %x: tensor<4x5xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{grad must have the loss type 'tensor<4xf32>'}}
  %l = nn.nll_loss_backward %g, %x, %t reduction none : (tensor<f32>, tensor<4x5xf32>, tensor<4xi64>) -> tensor<4x5xf32>
  return
}

// -----

func.func @ce_with_grad_grad(%g: tensor<f32>, %x: tensor<4x5xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{grad must have the loss type 'tensor<4xf32>'}}
  %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t reduction none : (tensor<f32>, tensor<4x5xf32>, tensor<4xi64>) -> (tensor<4xf32>, tensor<4x5xf32>)
  return
}

// -----

func.func @ce_with_grad_target(%g: tensor<f32>, %x: tensor<4x5xf32>, %t: tensor<3xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: target must be [4] class indices, got [3]}}
  // expected-error @+1 {{'nn.cross_entropy_loss_with_grad' op failed to infer returned types}}
  %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t : (tensor<f32>, tensor<4x5xf32>, tensor<3xi64>) -> (tensor<f32>, tensor<4x5xf32>)
  return
}
