// RUN: kiln-opt %s --kiln-in-place-results --split-input-file --verify-diagnostics

// expected-error @+1 {{result 0 is marked kiln.in_place = 3, which is no argument of its type}}
func.func @out_of_range(%w: tensor<4xf32>) -> (tensor<4xf32> {kiln.in_place = 3 : i64}) {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{result 0 is marked kiln.in_place = 0, which is no argument of its type}}
func.func @other_type(%w: tensor<8xf32>, %g: tensor<4xf32>) -> (tensor<4xf32> {kiln.in_place = 0 : i64}) {
  return %g : tensor<4xf32>
}

// -----

// expected-error @+1 {{argument 0 is the destination of two results}}
func.func @twice(%w: tensor<4xf32>, %g: tensor<4xf32>) -> (tensor<4xf32> {kiln.in_place = 0 : i64}, tensor<4xf32> {kiln.in_place = 0 : i64}) {
  return %g, %g : tensor<4xf32>, tensor<4xf32>
}
