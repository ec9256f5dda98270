// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @input_rank(%x: tensor<4x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.conv: expected an input of shape [N, C, *spatial] (rank >= 3), got [4, 8]}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64>, padding = array<i64>, dilation = array<i64>} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @weight_rank(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{nn.conv: weight [4, 3, 3, 3] must have the input's rank 3 ([out_channels, in_channels / groups, *kernel])}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6xf32>
  return
}

// -----

func.func @geometry_rank(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{nn.conv: stride, padding and dilation need one value per spatial dimension of [2, 3, 8, 8] (2)}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  return
}

// -----

func.func @padding_count(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{nn.conv: padding needs 2 values (both sides) or 4 (low sides, then high sides), got 3}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0, 1>, dilation = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  return
}

// -----

func.func @groups_zero(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+2 {{nn.conv: groups must be at least 1, got 0}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 0 : i64} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x6xf32>
  return
}

// -----

func.func @groups_divide(%x: tensor<2x6x8xf32>, %w: tensor<5x3x3xf32>) {
  // expected-error @+2 {{nn.conv: groups 2 must divide the input channels 6 and the output channels 5}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x6x8xf32>, tensor<5x3x3xf32>) -> tensor<2x5x6xf32>
  return
}

// -----

func.func @channels(%x: tensor<2x6x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+2 {{nn.conv: weight [4, 2, 3] expects 4 input channels (groups 2) but the input [2, 6, 8] has 6}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x6x8xf32>, tensor<4x2x3xf32>) -> tensor<2x4x6xf32>
  return
}

// -----

func.func @stride_zero(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+2 {{nn.conv: stride and dilation must be at least 1 (dimension 0: stride 0, dilation 1)}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 0>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x6xf32>
  return
}

// -----

func.func @negative_padding(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+2 {{nn.conv: padding must not be negative (dimension 0)}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: -1>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x4xf32>
  return
}

// -----

func.func @empty_kernel(%x: tensor<2x3x8xf32>, %w: tensor<4x3x0xf32>) {
  // expected-error @+2 {{nn.conv: kernel sizes must be at least 1, weight [4, 3, 0]}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x0xf32>) -> tensor<2x4x9xf32>
  return
}

// -----

func.func @kernel_too_large(%x: tensor<2x3x4x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{nn.conv: kernel size 3 (dilated: 5) of spatial dimension 0 is larger than the padded input size 4 (input [2, 3, 4, 8])}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 2, 1>} : (tensor<2x3x4x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x1x6xf32>
  return
}

// -----

func.func @bias_shape(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{nn.conv: bias must be [4], got [3]}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w, %b {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>, tensor<3xf32>) -> tensor<2x4x6xf32>
  return
}

// -----

func.func @result_type(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+2 {{'nn.conv' op inferred type(s) 'tensor<2x4x6xf32>' are incompatible with return type(s) of operation 'tensor<2x4x5xf32>'}}
  // expected-error @+1 {{'nn.conv' op failed to infer returned types}}
  %0 = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @backward_input_shape(%dy: tensor<2x4x5xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv_backward_input' op convolving input [2, 3, 8] with weight [4, 3, 3] gives [2, 4, 6], not the grad_output shape [2, 4, 5]}}
  %0 = nn.conv_backward_input %dy, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @backward_input_geometry(%dy: tensor<2x4x6xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv_backward_input' op stride and dilation must be at least 1 (dimension 0: stride 1, dilation 0)}}
  %0 = nn.conv_backward_input %dy, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 0>} : (tensor<2x4x6xf32>, tensor<4x3x3xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @backward_weight_shape(%x: tensor<2x3x8xf32>, %dy: tensor<2x4x6xf32>) {
  // expected-error @+1 {{'nn.conv_backward_weight' op convolving input [2, 3, 8] with weight [4, 3, 2] gives [2, 4, 7], not the grad_output shape [2, 4, 6]}}
  %0 = nn.conv_backward_weight %x, %dy {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<2x4x6xf32>) -> tensor<4x3x2xf32>
  return
}

// -----

func.func @backward_weight_padding(%x: tensor<2x3x8xf32>, %dy: tensor<2x4x6xf32>) {
  // expected-error @+1 {{'nn.conv_backward_weight' op padding needs 1 values (both sides) or 2 (low sides, then high sides), got 3}}
  %0 = nn.conv_backward_weight %x, %dy {stride = array<i64: 1>, padding = array<i64: 0, 0, 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>, tensor<2x4x6xf32>) -> tensor<4x3x3xf32>
  return
}
