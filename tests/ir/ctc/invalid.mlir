// RUN: kiln-opt %s --split-input-file --verify-diagnostics

func.func @rank(%lp: tensor<7x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>) {
  // expected-error @+2 {{nn.ctc_loss: log_probs must be [T, N, C], got [7, 5]}}
  // expected-error @+1 {{failed to infer returned types}}
  %l = nn.ctc_loss %lp, %t, %il, %tl : (tensor<7x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @targets(%lp: tensor<7x3x5xf32>, %t: tensor<2x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>) {
  // expected-error @+2 {{nn.ctc_loss: targets must be [3, S] labels (padded) or [S] (concatenated) with S >= 1, got [2, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %l = nn.ctc_loss %lp, %t, %il, %tl : (tensor<7x3x5xf32>, tensor<2x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @lengths(%lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<2xi64>) {
  // expected-error @+2 {{nn.ctc_loss: target_lengths must be [3], got [2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %l = nn.ctc_loss %lp, %t, %il, %tl : (tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<2xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @blank(%lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>) {
  // expected-error @+2 {{nn.ctc_loss: blank must be in [0, 5), got 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 5 : i64} : (tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @grad(%g: tensor<f32>, %lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>) {
  // expected-error @+1 {{grad must have the per-sample loss type 'tensor<3xf32>'}}
  %d = nn.ctc_loss_backward %g, %lp, %t, %il, %tl : (tensor<f32>, tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<7x3x5xf32>
  return
}

// -----

func.func @call_params(%lp: memref<7x3x5xf32>, %t: memref<3x4xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  // expected-error @+1 {{CTC blank 5 must be in [0, 5)}}
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 5, 0, 0] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<3x4xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

func.func @call_sizes(%lp: memref<7x3x5xf32>, %t: memref<3x4xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  // expected-error @+1 {{operand 1 has 12 elements, the CTC parameters need 15}}
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 5, 0, 0, 0] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<3x4xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

func.func @call_dtype(%lp: memref<7x3x5xf32>, %t: memref<3x4xf32>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  // expected-error @+1 {{operand 1 must be a statically shaped i64 tensor or buffer, got 'memref<3x4xf32>'}}
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 0, 0, 0] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<3x4xf32>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

func.func @call_concatenated_flag(%lp: memref<7x3x5xf32>, %t: memref<9xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  // expected-error @+1 {{CTC concatenated must be 0 or 1, got 2}}
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 9, 0, 0, 2] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<9xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

func.func @call_concatenated_size(%lp: memref<7x3x5xf32>, %t: memref<9xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  // expected-error @+1 {{operand 1 has 9 elements, the CTC parameters need 8}}
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 8, 0, 0, 1] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<9xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}
