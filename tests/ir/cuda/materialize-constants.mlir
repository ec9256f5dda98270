// RUN: kiln-opt %s --kiln-cuda-materialize-constants | FileCheck %s

// A splat constant becomes a fill the GPU writes, not a host global.
// CHECK-LABEL: func.func @splat
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[E:.+]] = tensor.empty() : tensor<512x784xf32>
// CHECK:         %[[F:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<512x784xf32>)
// CHECK:         return %[[F]]
func.func @splat() -> tensor<512x784xf32> {
  %c = arith.constant dense<0.0> : tensor<512x784xf32>
  return %c : tensor<512x784xf32>
}

// Distinct elements stay a constant (a global after bufferization, which
// kiln-cuda-sink-into-kernels moves into the kernels' module).
// CHECK-LABEL: func.func @distinct
// CHECK:         arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NOT:     linalg.fill
func.func @distinct() -> tensor<3xf32> {
  %c = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  return %c : tensor<3xf32>
}
