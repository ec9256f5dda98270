// RUN: kiln-opt %s --nn-lower-to-linalg | FileCheck %s

// One parallel linalg.generic evaluating Philox-4x32-10 per element: the
// state is read once outside the loop (seed = key, offset + the op's
// counter offset = the first counter), the element's row-major position
// is added to it, ten rounds of 32x32->64 multiplies, and the first word's
// top 24 bits scaled by 2^-24.
// CHECK-LABEL: func.func @uniform
// CHECK-DAG: %[[SEED:.*]] = tensor.extract %{{.*}}[%c0] : tensor<2xi64>
// CHECK-DAG: %[[OFF:.*]] = tensor.extract %{{.*}}[%c1] : tensor<2xi64>
// CHECK: %[[START:.*]] = arith.addi %[[OFF]], %c40_i64 : i64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.addi %[[START]]
// CHECK-COUNT-20: arith.mului_extended
// CHECK-NOT: arith.mului_extended
// CHECK: arith.shrui %{{.*}}, %c8_i32
// CHECK: arith.uitofp
// CHECK: arith.mulf %{{.*}}, %cst
// CHECK: linalg.yield
// CHECK-NOT: nn.
func.func @uniform(%rng: tensor<2xi64>) -> tensor<3x5xf32> {
  %0 = nn.random_uniform %rng {offset = 40 : i64} : (tensor<2xi64>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}
