// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Every verifier and shape-inference message of the pooling ops.
func.func @geometry_rank(%x: tensor<2x3x8x8xf32>) {
  // expected-error @+2 {{nn.max_pool: kernel_size, stride, padding and dilation need one value per spatial dimension (1 to 3)}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x4x4xi64>)
  return
}

// -----

func.func @input_rank(%x: tensor<3x8x8xf32>) {
  // expected-error @+2 {{nn.max_pool: expected a 4-D input [N, C, *spatial], got [3, 8, 8]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<3x8x8xf32>) -> (tensor<3x4x4xf32>, tensor<3x4x4xi64>)
  return
}

// -----

func.func @kernel_zero(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: kernel size should be greater than zero, but got [0]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 0>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xi64>)
  return
}

// -----

func.func @stride_zero(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: stride should be greater than zero, but got [0]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>, stride = array<i64: 0>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xi64>)
  return
}

// -----

func.func @dilation_zero(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: dilation should be greater than zero, but got [0]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 0>} : (tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xi64>)
  return
}

// -----

func.func @padding_negative(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: pad should be non-negative, but got [-1]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>, stride = array<i64: 1>, padding = array<i64: -1>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xi64>)
  return
}

// -----

func.func @padding_half(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: pad should be at most half of kernel size, but got pad=2 and kernel_size=3}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 3>, stride = array<i64: 1>, padding = array<i64: 2>, dilation = array<i64: 1>} : (tensor<2x3x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xi64>)
  return
}

// -----

func.func @empty_input(%x: tensor<2x3x0xf32>) {
  // expected-error @+2 {{nn.max_pool: expected a non-empty input, got [2, 3, 0]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 1>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x0xf32>) -> (tensor<2x3x0xf32>, tensor<2x3x0xi64>)
  return
}

// -----

func.func @too_small(%x: tensor<2x3x4x4xf32>) {
  // expected-error @+2 {{nn.max_pool: Given input size: (3x4x4). Calculated output size: (3x0x3). Output size is too small}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 5, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<2x3x4x4xf32>) -> (tensor<2x3x1x1xf32>, tensor<2x3x1x1xi64>)
  return
}

// -----

func.func @adaptive_rank(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: expected a 4-D input [N, C, *spatial], got [2, 3, 8]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {output_size = array<i64: 2, 2>} : (tensor<2x3x8xf32>) -> (tensor<2x3x2x2xf32>, tensor<2x3x2x2xi64>)
  return
}

// -----

func.func @adaptive_zero(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: output_size must be >= 1, got [0]}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {output_size = array<i64: 0>} : (tensor<2x3x8xf32>) -> (tensor<2x3x1xf32>, tensor<2x3x1xi64>)
  return
}

// -----

func.func @adaptive_count(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: output_size needs 1 to 3 values, got []}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {output_size = array<i64>} : (tensor<2x3x8xf32>) -> (tensor<2x3x1xf32>, tensor<2x3x1xi64>)
  return
}

// -----

func.func @both_forms(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: output_size (adaptive windows) excludes kernel_size, stride, padding, dilation and ceil_mode}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {output_size = array<i64: 2>, kernel_size = array<i64: 2>} : (tensor<2x3x8xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x2xi64>)
  return
}

// -----

func.func @no_form(%x: tensor<2x3x8xf32>) {
  // expected-error @+2 {{nn.max_pool: needs output_size or all of kernel_size, stride, padding and dilation}}
  // expected-error @+1 {{'nn.max_pool' op failed to infer returned types}}
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2>} : (tensor<2x3x8xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi64>)
  return
}

// -----

func.func @sum_pool_too_small(%x: tensor<1x2x3xf32>) {
  // expected-error @+2 {{nn.sum_pool: Given input size: (2x3). Calculated output size: (2x0). Output size is too small}}
  // expected-error @+1 {{'nn.sum_pool' op failed to infer returned types}}
  %y = nn.sum_pool %x {kernel_size = array<i64: 4>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<1x2x3xf32>) -> tensor<1x2x1xf32>
  return
}

// -----

func.func @backward_indices_shape(%dy: tensor<2x3x4xf32>, %i: tensor<2x3x5xi64>) {
  // expected-error @+1 {{'nn.max_pool_backward' op indices [2, 3, 5] must have the grad_output shape [2, 3, 4]}}
  %dx = nn.max_pool_backward %dy, %i {kernel_size = array<i64: 2>, stride = array<i64: 2>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x4xf32>, tensor<2x3x5xi64>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @backward_shape(%dy: tensor<2x3x4xf32>, %i: tensor<2x3x4xi64>) {
  // expected-error @+1 {{'nn.max_pool_backward' op pooling [2, 3, 10] gives [2, 3, 5], not the grad_output shape [2, 3, 4]}}
  %dx = nn.max_pool_backward %dy, %i {kernel_size = array<i64: 2>, stride = array<i64: 2>, padding = array<i64: 0>, dilation = array<i64: 1>} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x10xf32>
  return
}

// -----

func.func @sum_backward_windows(%dy: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'nn.sum_pool_backward' op needs output_size or all of kernel_size, stride, padding and dilation}}
  %dx = nn.sum_pool_backward %dy {stride = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @sum_backward_shape(%dy: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'nn.sum_pool_backward' op pooling [2, 3, 8] gives [2, 3, 3], not the grad_output shape [2, 3, 4]}}
  %dx = nn.sum_pool_backward %dy {output_size = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @unpool_indices_shape(%x: tensor<2x3x4xf32>, %i: tensor<2x3x5xi64>) {
  // expected-error @+1 {{'nn.max_unpool' op indices [2, 3, 5] must have the shape of the values [2, 3, 4]}}
  %y = nn.max_unpool %x, %i : (tensor<2x3x4xf32>, tensor<2x3x5xi64>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @unpool_result_shape(%x: tensor<2x3x4xf32>, %i: tensor<2x3x4xi64>) {
  // expected-error @+1 {{'nn.max_unpool' op expected [N, C, *in] values and an [N, C, *out] result of the same rank (1 to 3 spatial dimensions), got [2, 3, 4] and [2, 4, 8]}}
  %y = nn.max_unpool %x, %i : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @unpool_backward_shape(%dy: tensor<2x3x8xf32>, %i: tensor<2x3x4xi64>) {
  // expected-error @+1 {{'nn.max_unpool_backward' op indices [2, 3, 4] must have the shape of the values [2, 3, 5]}}
  %dx = nn.max_unpool_backward %dy, %i : (tensor<2x3x8xf32>, tensor<2x3x4xi64>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @fractional_rank(%x: tensor<2x3x8xf32>, %u: tensor<2x3x1xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: kernel_size and output_size need one value per spatial dimension (2 or 3), got [2] and [3]}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2>, output_size = array<i64: 3>} : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> (tensor<2x3x3xf32>, tensor<2x3x3xi64>)
  return
}

// -----

func.func @fractional_input_rank(%x: tensor<3x8x8xf32>, %u: tensor<1x3x2xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: expected a 4-D input [N, C, *spatial], got [3, 8, 8]}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 2>, output_size = array<i64: 3, 3>} : (tensor<3x8x8xf32>, tensor<1x3x2xf32>) -> (tensor<3x3x3xf32>, tensor<3x3x3xi64>)
  return
}

// -----

func.func @fractional_samples(%x: tensor<2x3x8x8xf32>, %u: tensor<2x3x3xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: samples [2, 3, 3] must be [N, C, 2] = [2, 3, 2] for the input [2, 3, 8, 8]}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 2>, output_size = array<i64: 3, 3>} : (tensor<2x3x8x8xf32>, tensor<2x3x3xf32>) -> (tensor<2x3x3x3xf32>, tensor<2x3x3x3xi64>)
  return
}

// -----

func.func @fractional_kernel_zero(%x: tensor<2x3x8x8xf32>, %u: tensor<2x3x2xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: kernel size should be greater than zero, but got [2, 0]}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 0>, output_size = array<i64: 3, 3>} : (tensor<2x3x8x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x3x3xf32>, tensor<2x3x3x3xi64>)
  return
}

// -----

func.func @fractional_output_zero(%x: tensor<2x3x8x8xf32>, %u: tensor<2x3x2xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: output_size must be >= 1, got [0, 3]}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 2>, output_size = array<i64: 0, 3>} : (tensor<2x3x8x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x0x3xf32>, tensor<2x3x0x3xi64>)
  return
}

// -----

func.func @fractional_too_large(%x: tensor<2x3x8x8xf32>, %u: tensor<2x3x2xf32>) {
  // expected-error @+2 {{nn.fractional_max_pool: pool width 3 too large relative to input width 8 (output_size 7 + kernel_size - 1 must be at most the input size)}}
  // expected-error @+1 {{'nn.fractional_max_pool' op failed to infer returned types}}
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 3>, output_size = array<i64: 3, 7>} : (tensor<2x3x8x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x3x7xf32>, tensor<2x3x3x7xi64>)
  return
}

// -----

func.func @fractional_backward_indices(%dy: tensor<2x3x3x3xf32>, %i: tensor<2x3x3x2xi64>) {
  // expected-error @+1 {{'nn.fractional_max_pool_backward' op indices [2, 3, 3, 2] must have the grad_output shape [2, 3, 3, 3]}}
  %dx = nn.fractional_max_pool_backward %dy, %i : (tensor<2x3x3x3xf32>, tensor<2x3x3x2xi64>) -> tensor<2x3x8x8xf32>
  return
}

// -----

func.func @fractional_backward_shape(%dy: tensor<2x3x3x3xf32>, %i: tensor<2x3x3x3xi64>) {
  // expected-error @+1 {{'nn.fractional_max_pool_backward' op expected [N, C, *out] grad_output and an [N, C, *in] result of the same rank (2 or 3 spatial dimensions), got [2, 3, 3, 3] and [2, 4, 8, 8]}}
  %dx = nn.fractional_max_pool_backward %dy, %i : (tensor<2x3x3x3xf32>, tensor<2x3x3x3xi64>) -> tensor<2x4x8x8xf32>
  return
}

// -----

// Indices of an unbatched max pool lose their batch dimension through
// nn.reshape, which keeps the element type.
func.func @reshape_indices_to_f32(%i: tensor<1x3x4xi64>) {
  // expected-error @+1 {{'nn.reshape' op cannot reshape 'i64' elements to 'f32'}}
  %0 = nn.reshape %i : (tensor<1x3x4xi64>) -> tensor<3x4xf32>
  return
}
