// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @unknown(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{'nn.library_call' op unknown runtime routine 'kiln_nothing'}}
  nn.library_call "kiln_nothing" [] ins(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @inputs(%x: memref<1x3x8xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op 'kiln_sconv_forward' takes 2 or 3 inputs, got 1}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x : memref<1x3x8xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @outputs(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op 'kiln_sconv_forward' writes 1 output, got 2}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y, %y : memref<1x8x6xf32>, memref<1x8x6xf32>)
  return
}

// -----

func.func @dtype(%x: memref<1x3x8xf64>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 0 must be a statically shaped f32 tensor or buffer, got 'memref<1x3x8xf64>'}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf64>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @dynamic(%x: memref<?x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 0 must be a statically shaped f32 tensor or buffer, got 'memref<?x3x8xf32>'}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<?x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @mixed(%x: tensor<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operands must be all tensors or all buffers}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : tensor<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @tensor_result(%x: tensor<1x3x8xf32>, %w: tensor<8x3x3xf32>, %y: tensor<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op on tensors, the result must have the output's type}}
  %r = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : tensor<1x3x8xf32>, tensor<8x3x3xf32>) outs(%y : tensor<1x8x6xf32>) -> tensor<1x8x7xf32>
  return
}

// -----

func.func @buffer_result(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op on buffers, the call has no results}}
  %r = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>) -> tensor<1x8x6xf32>
  return
}

// -----

func.func @geometry_size(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op a convolution geometry has 22 values, got 3}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @geometry_value(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op convolution geometry value 15 is -1, must be >= 0}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, -1, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @stride_zero(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op convolution geometry value 14 is 0, must be >= 1}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @sizes(%x: memref<1x3x9xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 0 has 27 elements, the convolution geometry needs 24}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x9xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @bias_size(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %b: memref<7xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 2 has 7 elements, the convolution geometry needs 8}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w, %b : memref<1x3x8xf32>, memref<8x3x3xf32>, memref<7xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @backward_sizes(%dy: memref<1x8x6xf32>, %w: memref<8x3x3xf32>, %dx: memref<1x3x9xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 2 has 27 elements, the convolution geometry needs 24}}
  nn.library_call "kiln_sconv_backward_input" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%dy, %w : memref<1x8x6xf32>, memref<8x3x3xf32>) outs(%dx : memref<1x3x9xf32>)
  return
}

// -----

func.func @groups_not_dividing(%x: memref<1x4x8xf32>, %w: memref<6x2x3xf32>, %y: memref<1x6x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op convolution groups 4 must divide the input channels 4 and the output channels 6}}
  nn.library_call "kiln_sconv_forward" [1, 4, 6, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 4] ins(%x, %w : memref<1x4x8xf32>, memref<6x2x3xf32>) outs(%y : memref<1x6x6xf32>)
  return
}

// -----

func.func @groups_zero(%x: memref<1x4x8xf32>, %w: memref<6x2x3xf32>, %y: memref<1x6x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op convolution geometry value 21 is 0, must be >= 1}}
  nn.library_call "kiln_sconv_forward" [1, 4, 6, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0] ins(%x, %w : memref<1x4x8xf32>, memref<6x2x3xf32>) outs(%y : memref<1x6x6xf32>)
  return
}

// -----

// The weight of a grouped call is [F, C / groups, *kernel].
func.func @grouped_weight_size(%x: memref<1x4x8xf32>, %w: memref<6x4x3xf32>, %y: memref<1x6x6xf32>) {
  // expected-error @+1 {{'nn.library_call' op operand 1 has 72 elements, the convolution geometry needs 36}}
  nn.library_call "kiln_sconv_forward" [1, 4, 6, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2] ins(%x, %w : memref<1x4x8xf32>, memref<6x4x3xf32>) outs(%y : memref<1x6x6xf32>)
  return
}
