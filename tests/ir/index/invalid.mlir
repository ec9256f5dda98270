// RUN: kiln-opt %s --split-input-file --verify-diagnostics

func.func @gather_rank(%x: tensor<4x10xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{nn.gather: Index tensor must have the same number of dimensions as input tensor (index [4], input [4, 10])}}
  // expected-error @+1 {{'nn.gather' op failed to infer returned types}}
  %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @gather_size(%x: tensor<4x10xf32>, %i: tensor<5x2xi64>) {
  // expected-error @+2 {{nn.gather: Size does not match at dimension 0 expected index [5, 2] to be smaller than self [4, 10] apart from dimension 1}}
  // expected-error @+1 {{'nn.gather' op failed to infer returned types}}
  %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<5x2xi64>) -> tensor<5x2xf32>
  return
}

// -----

func.func @gather_dim(%x: tensor<4x10xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+2 {{nn.gather: dim 2 is not a dimension of [4, 10]}}
  // expected-error @+1 {{'nn.gather' op failed to infer returned types}}
  %y = nn.gather %x, %i {dim = 2 : i64} : (tensor<4x10xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
  return
}

// -----

func.func @gather_result(%x: tensor<4x10xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+2 {{'nn.gather' op inferred type(s) 'tensor<4x2xf32>' are incompatible with return type(s) of operation 'tensor<4x3xf32>'}}
  // expected-error @+1 {{'nn.gather' op failed to infer returned types}}
  %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<4x2xi64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @gather_backward_grad(%dy: tensor<4x3xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+1 {{'nn.gather_backward' op grad_output [4, 3] must have the index's shape [4, 2]}}
  %dx = nn.gather_backward %dy, %i {dim = 1 : i64} : (tensor<4x3xf32>, tensor<4x2xi64>) -> tensor<4x10xf32>
  return
}

// -----

func.func @gather_backward_result(%dy: tensor<4x2xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+1 {{'nn.gather_backward' op Size does not match at dimension 0 expected index [4, 2] to be smaller than self [3, 10] apart from dimension 1}}
  %dx = nn.gather_backward %dy, %i {dim = 1 : i64} : (tensor<4x2xf32>, tensor<4x2xi64>) -> tensor<3x10xf32>
  return
}

// -----

func.func @broadcast_element_type(%i: tensor<3x1xi64>) {
  // expected-error @+1 {{'nn.broadcast_to' op cannot broadcast 'i64' elements to 'f32'}}
  %b = nn.broadcast_to %i : (tensor<3x1xi64>) -> tensor<3x5xf32>
  return
}

// -----

func.func @argmax_dim(%x: tensor<4x10xf32>) {
  // expected-error @+2 {{nn.argmax: Dimension out of range (expected to be in range of [-2, 1], but got 2)}}
  // expected-error @+1 {{'nn.argmax' op failed to infer returned types}}
  %i = nn.argmax %x {dim = 2 : i64} : (tensor<4x10xf32>) -> tensor<4xi64>
  return
}

// -----

func.func @argmax_result_type(%x: tensor<4x10xf32>) {
  // expected-error @+2 {{'nn.argmax' op inferred type(s) 'tensor<4xi64>' are incompatible with return type(s) of operation 'tensor<4x1xi64>'}}
  // expected-error @+1 {{'nn.argmax' op failed to infer returned types}}
  %i = nn.argmax %x {dim = 1 : i64} : (tensor<4x10xf32>) -> tensor<4x1xi64>
  return
}
