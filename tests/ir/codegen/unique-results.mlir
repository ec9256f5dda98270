// RUN: kiln-opt %s --kiln-unique-results | FileCheck %s

// A value returned twice, a returned argument and a returned constant each
// become a copy of their own; the first occurrence of a computed value and
// non-tensor results stay as they are.
// CHECK-LABEL: func.func @dup
// CHECK-SAME: (%[[A:.+]]: tensor<3xf32>, %[[B:.+]]: tensor<3xf32>, %[[I:.+]]: index)
// CHECK: %[[S:.+]] = arith.addf %[[A]], %[[B]]
// CHECK: %[[C:.+]] = arith.constant dense<0.000000e+00>
// CHECK: %[[E1:.+]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[S2:.+]] = linalg.copy ins(%[[S]] : tensor<3xf32>) outs(%[[E1]] : tensor<3xf32>)
// CHECK: %[[E2:.+]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[A2:.+]] = linalg.copy ins(%[[A]] : tensor<3xf32>) outs(%[[E2]] : tensor<3xf32>)
// CHECK: %[[E3:.+]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[C2:.+]] = linalg.copy ins(%[[C]] : tensor<3xf32>) outs(%[[E3]] : tensor<3xf32>)
// CHECK: return %[[S]], %[[S2]], %[[A2]], %[[C2]], %[[I]]
func.func @dup(%a: tensor<3xf32>, %b: tensor<3xf32>, %i: index) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, index) {
  %s = arith.addf %a, %b : tensor<3xf32>
  %c = arith.constant dense<0.0> : tensor<3xf32>
  return %s, %s, %a, %c, %i : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, index
}

// -----

// Distinct computed values: nothing to do.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @distinct(%a: tensor<3xf32>, %b: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %s = arith.addf %a, %b : tensor<3xf32>
  %m = arith.mulf %a, %b : tensor<3xf32>
  return %s, %m : tensor<3xf32>, tensor<3xf32>
}
