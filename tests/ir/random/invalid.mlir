// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @state_not_two_words(%rng: tensor<3xi64>) {
  // expected-error @+1 {{'nn.random_uniform' op the rng state must be a tensor<2xi64> (seed, offset)}}
  %0 = nn.random_uniform %rng {offset = 0 : i64} : (tensor<3xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @negative_offset(%rng: tensor<2xi64>) {
  // expected-error @+1 {{'nn.random_uniform' op offset must be >= 0, got -1}}
  %0 = nn.random_uniform %rng {offset = -1 : i64} : (tensor<2xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @counter_overflow(%rng: tensor<2xi64>) {
  // expected-error @+1 {{'nn.random_uniform' op counter range overflows 64 bits}}
  %0 = nn.random_uniform %rng {offset = 9223372036854775800 : i64} : (tensor<2xi64>) -> tensor<16xf32>
  return
}

// -----

func.func @float_state(%rng: tensor<2xf32>) {
  // expected-error @+1 {{'nn.random_uniform' op operand #0 must be 1D tensor of 64-bit signless integer values}}
  %0 = nn.random_uniform %rng {offset = 0 : i64} : (tensor<2xf32>) -> tensor<4xf32>
  return
}
