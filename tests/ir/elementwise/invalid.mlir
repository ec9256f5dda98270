// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @div_no_broadcast(%x: tensor<4x8xf32>, %y: tensor<3xf32>) {
  // expected-error @+2 {{nn.div: shapes [4, 8] and [3] cannot be broadcast (dimension 1 of the result: 8 vs 3)}}
  // expected-error @+1 {{'nn.div' op failed to infer returned types}}
  %0 = nn.div %x, %y : (tensor<4x8xf32>, tensor<3xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @pow_no_broadcast(%x: tensor<4x8xf32>, %y: tensor<4xf32>) {
  // expected-error @+2 {{nn.pow: shapes [4, 8] and [4] cannot be broadcast (dimension 1 of the result: 8 vs 4)}}
  // expected-error @+1 {{'nn.pow' op failed to infer returned types}}
  %0 = nn.pow %x, %y : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @sum_dim_out_of_range(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.sum: dimension 2 is out of range or repeated for an input of shape [4, 8]}}
  // expected-error @+1 {{'nn.sum' op failed to infer returned types}}
  %0 = nn.sum %x {dims = array<i64: 2>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @mean_repeated_dim(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.mean: dimension -2 is out of range or repeated for an input of shape [4, 8]}}
  // expected-error @+1 {{'nn.mean' op failed to infer returned types}}
  %0 = nn.mean %x {dims = array<i64: 0, -2>} : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @sum_wrong_result(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{'nn.sum' op inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4x1xf32>'}}
  // expected-error @+1 {{'nn.sum' op failed to infer returned types}}
  %0 = nn.sum %x {dims = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return
}

// -----

func.func @permute_not_a_permutation(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.permute: 1 dims for an input of shape [4, 8] (a permutation names every dimension once)}}
  // expected-error @+1 {{'nn.permute' op failed to infer returned types}}
  %0 = nn.permute %x {dims = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @where_condition_shape(%c: tensor<3xi1>, %x: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.where: condition [3] does not broadcast with the values}}
  // expected-error @+1 {{'nn.where' op failed to infer returned types}}
  %0 = nn.where %c, %x, %x : (tensor<3xi1>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @unary_type_mismatch(%x: tensor<4x8xf32>) {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%x' expects different type than prior uses}}
  %0 = nn.exp %x : tensor<4x9xf32>
  return
}
