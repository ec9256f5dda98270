// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @slice_past_end(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.slice: dimension 1 of [4, 8] cannot be sliced from 2 to 9 (need 0 <= start <= end <= 8)}}
  // expected-error @+1 {{'nn.slice' op failed to infer returned types}}
  %0 = nn.slice %x {start = array<i64: 0, 2>, end = array<i64: 4, 9>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x7xf32>
  return
}

// -----

func.func @slice_negative_start(%x: tensor<8xf32>) {
  // expected-error @+2 {{nn.slice: dimension 0 of [8] cannot be sliced from -2 to 8 (need 0 <= start <= end <= 8)}}
  // expected-error @+1 {{'nn.slice' op failed to infer returned types}}
  %0 = nn.slice %x {start = array<i64: -2>, end = array<i64: 8>, step = array<i64: 1>} : (tensor<8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @slice_zero_step(%x: tensor<8xf32>) {
  // expected-error @+2 {{nn.slice: step 0 of dimension 0 must be at least 1}}
  // expected-error @+1 {{'nn.slice' op failed to infer returned types}}
  %0 = nn.slice %x {start = array<i64: 0>, end = array<i64: 8>, step = array<i64: 0>} : (tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @slice_bounds_per_dim(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.slice: start, end and step need one value per dimension of [4, 8] (got 1, 2 and 2)}}
  // expected-error @+1 {{'nn.slice' op failed to infer returned types}}
  %0 = nn.slice %x {start = array<i64: 0>, end = array<i64: 4, 8>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @slice_wrong_result(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{'nn.slice' op inferred type(s) 'tensor<4x4xf32>' are incompatible with return type(s) of operation 'tensor<4x3xf32>'}}
  // expected-error @+1 {{'nn.slice' op failed to infer returned types}}
  %0 = nn.slice %x {start = array<i64: 0, 0>, end = array<i64: 4, 8>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_backward_shape(%g: tensor<4x3xf32>) {
  // expected-error @+1 {{'nn.slice_backward' op slicing the result shape [4, 8] gives [4, 4], not the input shape [4, 3]}}
  %0 = nn.slice_backward %g {start = array<i64: 0, 0>, end = array<i64: 4, 8>, step = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @slice_backward_bounds(%g: tensor<4x3xf32>) {
  // expected-error @+1 {{'nn.slice_backward' op dimension 1 of [4, 3] cannot be sliced from 0 to 8 (need 0 <= start <= end <= 3)}}
  %0 = nn.slice_backward %g {start = array<i64: 0, 0>, end = array<i64: 4, 8>, step = array<i64: 1, 1>} : (tensor<4x3xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @concat_mismatch(%a: tensor<4x3xf32>, %b: tensor<5x5xf32>) {
  // expected-error @+2 {{nn.concat: tensor 1 of shape [5, 5] does not match tensor 0 of shape [4, 3] outside dimension 1}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %0 = nn.concat %a, %b {dim = 1 : i64} : (tensor<4x3xf32>, tensor<5x5xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{nn.concat: tensor 1 of shape [3] does not match tensor 0 of shape [4, 3] outside dimension 0}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %0 = nn.concat %a, %b {dim = 0 : i64} : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<7x3xf32>
  return
}

// -----

func.func @concat_dim_out_of_range(%a: tensor<4x3xf32>) {
  // expected-error @+2 {{nn.concat: dimension -3 is out of range or repeated for an input of shape [4, 3]}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %0 = nn.concat %a, %a {dim = -3 : i64} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return
}

// -----

func.func @concat_scalars(%a: tensor<f32>) {
  // expected-error @+2 {{nn.concat: zero-dimensional tensors cannot be concatenated}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %0 = nn.concat %a, %a {dim = 0 : i64} : (tensor<f32>, tensor<f32>) -> tensor<2xf32>
  return
}

// -----

func.func @concat_nothing() {
  // expected-error @+2 {{nn.concat: expected at least one tensor}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %0 = nn.concat {dim = 0 : i64} : () -> tensor<2xf32>
  return
}

// -----

func.func @amax_dim_out_of_range(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.amax: dimension 2 is out of range or repeated for an input of shape [4, 8]}}
  // expected-error @+1 {{'nn.amax' op failed to infer returned types}}
  %0 = nn.amax %x {dims = array<i64: 2>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}
