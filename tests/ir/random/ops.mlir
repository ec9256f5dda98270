// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Round trip: the state operand, the counter offset and the result shape.
// CHECK-LABEL: func.func @draws
// CHECK: nn.random_uniform %{{.*}} {offset = 0 : i64} : (tensor<2xi64>) -> tensor<4x16xf32>
// CHECK: nn.random_uniform %{{.*}} {offset = 64 : i64} : (tensor<2xi64>) -> tensor<f32>
func.func @draws(%rng: tensor<2xi64>) -> (tensor<4x16xf32>, tensor<f32>) {
  %a = nn.random_uniform %rng {offset = 0 : i64} : (tensor<2xi64>) -> tensor<4x16xf32>
  %b = nn.random_uniform %rng {offset = 64 : i64} : (tensor<2xi64>) -> tensor<f32>
  return %a, %b : tensor<4x16xf32>, tensor<f32>
}
