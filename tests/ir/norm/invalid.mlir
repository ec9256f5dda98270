// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Every verifier and shape-inference message of nn.batch_norm and
// nn.batch_norm_backward.
func.func @input_rank(%x: tensor<8xf32>, %w: tensor<8xf32>) {
  // expected-error @+2 {{nn.batch_norm: expected an input of at least 2 dimensions [N, C, *], got [8]}}
  // expected-error @+1 {{'nn.batch_norm' op failed to infer returned types}}
  %y, %m, %v = nn.batch_norm %x, %w, %w {eps = 1.0e-05 : f64} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @weight_shape(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{nn.batch_norm: weight must be [3] for the input's 3 channels (dimension 1), got [4]}}
  // expected-error @+1 {{'nn.batch_norm' op failed to infer returned types}}
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @bias_shape(%x: tensor<2x3x4xf32>, %w: tensor<3xf32>, %b: tensor<1x3xf32>) {
  // expected-error @+2 {{nn.batch_norm: bias must be [3] for the input's 3 channels (dimension 1), got [1, 3]}}
  // expected-error @+1 {{'nn.batch_norm' op failed to infer returned types}}
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<1x3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @result_type(%x: tensor<2x3x4xf32>, %w: tensor<3xf32>) {
  // A statistic of another shape than [C].
  // expected-error @+2 {{'nn.batch_norm' op inferred type(s) 'tensor<2x3x4xf32>', 'tensor<3xf32>', 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<2x3x4xf32>', 'tensor<1x3x1xf32>', 'tensor<3xf32>'}}
  // expected-error @+1 {{'nn.batch_norm' op failed to infer returned types}}
  %y, %m, %v = nn.batch_norm %x, %w, %w {eps = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<1x3x1xf32>, tensor<3xf32>)
  return
}

// -----

func.func @backward_grad_shape(%dy: tensor<2x3x5xf32>, %x: tensor<2x3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{'nn.batch_norm_backward' op grad_output [2, 3, 5] must have the input's shape [2, 3, 4]}}
  %dx, %dw, %db = nn.batch_norm_backward %dy, %x, %c, %c, %c {eps = 1.0e-05 : f64} : (tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @backward_rank(%x: tensor<3xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{'nn.batch_norm_backward' op expected an input of at least 2 dimensions [N, C, *], got [3]}}
  %dx, %dw, %db = nn.batch_norm_backward %x, %x, %c, %c, %c {eps = 1.0e-05 : f64} : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @backward_var_shape(%x: tensor<2x3x4xf32>, %c: tensor<3xf32>, %v: tensor<2xf32>) {
  // expected-error @+1 {{'nn.batch_norm_backward' op var must be [3] for the input's 3 channels (dimension 1), got [2]}}
  %dx, %dw, %db = nn.batch_norm_backward %x, %x, %c, %v, %c {eps = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<3xf32>, tensor<2xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @backward_results(%x: tensor<2x3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{'nn.batch_norm_backward' op results must be the input's type and two [C] tensors of the weight's type}}
  %dx, %dw, %db = nn.batch_norm_backward %x, %x, %c, %c, %c {eps = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<1xf32>)
  return
}

// -----

func.func @missing_eps(%x: tensor<2x3xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op requires attribute 'eps'}}
  %y, %m, %v = nn.batch_norm %x, %c, %c : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}
