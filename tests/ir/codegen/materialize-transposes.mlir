// RUN: kiln-opt %s --kiln-cpu-materialize-transposes --split-input-file | FileCheck %s

// y = x W^T: W^T is copied (linalg.transpose) and multiplied plainly, onto
// the same accumulator.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x8xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[ACC:[a-zA-Z0-9_]+]]: tensor<2x4xf32>)
// CHECK: %[[E:[a-zA-Z0-9_]+]] = tensor.empty() : tensor<8x4xf32>
// CHECK: %[[WT:[a-zA-Z0-9_]+]] = linalg.transpose ins(%[[W]] : tensor<4x8xf32>) outs(%[[E]] : tensor<8x4xf32>) permutation = [1, 0]
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = linalg.matmul ins(%[[X]], %[[WT]] : tensor<2x8xf32>, tensor<8x4xf32>) outs(%[[ACC]] : tensor<2x4xf32>)
// CHECK-NOT: linalg.matmul_transpose_b
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %acc: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = linalg.matmul_transpose_b ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Other contractions are not touched.
// CHECK-LABEL: func.func @others
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul ins
// CHECK: linalg.matmul_transpose_a ins
func.func @others(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %at: tensor<8x4xf32>, %acc: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = linalg.matmul_transpose_a ins(%at, %b : tensor<8x4xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// On buffers (after bufferization) there is nothing to copy into: left as is.
// CHECK-LABEL: func.func @buffers
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul_transpose_b
func.func @buffers(%x: memref<2x8xf32>, %w: memref<4x8xf32>, %y: memref<2x4xf32>) {
  linalg.matmul_transpose_b ins(%x, %w : memref<2x8xf32>, memref<4x8xf32>) outs(%y : memref<2x4xf32>)
  return
}
