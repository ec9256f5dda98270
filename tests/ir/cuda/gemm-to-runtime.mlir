// RUN: kiln-opt %s --kiln-cuda-gemm-to-runtime --cse | FileCheck %s

// A zero fill right before the product folds in: beta = 0. Row-major
// operands pass their row strides as leading dimensions.
// CHECK-LABEL: func.func @plain
// CHECK-NOT:     linalg.fill
// CHECK-DAG:     %[[BETA:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[M:.+]] = arith.constant 128 : i64
// CHECK-DAG:     %[[N:.+]] = arith.constant 64 : i64
// CHECK-DAG:     %[[K:.+]] = arith.constant 32 : i64
// CHECK-DAG:     %[[NO:.+]] = arith.constant 0 : i32
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK:         call @kiln_cuda_sgemm(%[[NO]], %[[NO]], %[[M]], %[[N]], %[[K]], %{{.+}}, %[[K]], %{{.+}}, %[[N]], %[[BETA]], %{{.+}}, %[[N]], %[[ONE]], %[[ZERO]], %[[ZERO]], %[[ZERO]])
// CHECK-NOT:     linalg.matmul
func.func @plain(%a: memref<128x32xf32>, %b: memref<32x64xf32>, %c: memref<128x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<128x64xf32>)
  linalg.matmul ins(%a, %b : memref<128x32xf32>, memref<32x64xf32>) outs(%c : memref<128x64xf32>)
  return
}

// No fill: C accumulates (beta = 1). B stored [N, K] for x W^T.
// CHECK-LABEL: func.func @transpose_b
// CHECK-DAG:     %[[BETA:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[NO:.+]] = arith.constant 0 : i32
// CHECK-DAG:     %[[YES:.+]] = arith.constant 1 : i32
// CHECK-DAG:     %[[M:.+]] = arith.constant 8 : i64
// CHECK-DAG:     %[[N:.+]] = arith.constant 10 : i64
// CHECK-DAG:     %[[K:.+]] = arith.constant 20 : i64
// CHECK:         call @kiln_cuda_sgemm(%[[NO]], %[[YES]], %[[M]], %[[N]], %[[K]], %{{.+}}, %[[K]], %{{.+}}, %[[K]], %[[BETA]], %{{.+}}, %[[N]],
func.func @transpose_b(%x: memref<8x20xf32>, %w: memref<10x20xf32>, %y: memref<8x10xf32>) {
  linalg.matmul_transpose_b ins(%x, %w : memref<8x20xf32>, memref<10x20xf32>) outs(%y : memref<8x10xf32>)
  return
}

// A stored [K, M] (a weight gradient dY^T X).
// CHECK-LABEL: func.func @transpose_a
// CHECK-DAG:     %[[YES:.+]] = arith.constant 1 : i32
// CHECK-DAG:     %[[NO:.+]] = arith.constant 0 : i32
// CHECK-DAG:     %[[M:.+]] = arith.constant 10 : i64
// CHECK-DAG:     %[[N:.+]] = arith.constant 20 : i64
// CHECK-DAG:     %[[K:.+]] = arith.constant 8 : i64
// CHECK:         call @kiln_cuda_sgemm(%[[YES]], %[[NO]], %[[M]], %[[N]], %[[K]], %{{.+}}, %[[M]], %{{.+}}, %[[N]],
func.func @transpose_a(%dy: memref<8x10xf32>, %x: memref<8x20xf32>, %dw: memref<10x20xf32>) {
  linalg.matmul_transpose_a ins(%dy, %x : memref<8x10xf32>, memref<8x20xf32>) outs(%dw : memref<10x20xf32>)
  return
}

// Batched: the batch count and each operand's batch stride.
// CHECK-LABEL: func.func @batched
// CHECK-DAG:     %[[B:.+]] = arith.constant 3 : i64
// CHECK-DAG:     %[[SA:.+]] = arith.constant 40 : i64
// CHECK-DAG:     %[[SB:.+]] = arith.constant 30 : i64
// CHECK-DAG:     %[[SC:.+]] = arith.constant 12 : i64
// CHECK:         call @kiln_cuda_sgemm({{.*}}, %[[B]], %[[SA]], %[[SB]], %[[SC]])
func.func @batched(%a: memref<3x4x10xf32>, %b: memref<3x10x3xf32>, %c: memref<3x4x3xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<3x4x10xf32>, memref<3x10x3xf32>) outs(%c : memref<3x4x3xf32>)
  return
}

// Columns that are not contiguous, or other element types: the product
// stays a linalg op (GPU loops later).
// CHECK-LABEL: func.func @strided
// CHECK-NOT:     call @kiln_cuda_sgemm
// CHECK:         linalg.matmul
// CHECK-LABEL: func.func @f64
// CHECK-NOT:     call @kiln_cuda_sgemm
// CHECK:         linalg.matmul
func.func @strided(%a: memref<4x8xf32, strided<[1, 4]>>, %b: memref<8x2xf32>, %c: memref<4x2xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[1, 4]>>, memref<8x2xf32>) outs(%c : memref<4x2xf32>)
  return
}
func.func @f64(%a: memref<4x8xf64>, %b: memref<8x2xf64>, %c: memref<4x2xf64>) {
  linalg.matmul ins(%a, %b : memref<4x8xf64>, memref<8x2xf64>) outs(%c : memref<4x2xf64>)
  return
}
