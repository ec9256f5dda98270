// RUN: kiln-opt %s --kiln-cuda-gemm-to-runtime=remarks --verify-diagnostics -o /dev/null

func.func @plain(%a: memref<128x32xf32>, %b: memref<32x64xf32>, %c: memref<128x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<128x64xf32>)
  // expected-remark @+1 {{gemm: linalg.matmul -> cuBLAS (kiln_cuda_sgemm), 128 x 64 x 32, the zero fill folded in (beta 0)}}
  linalg.matmul ins(%a, %b : memref<128x32xf32>, memref<32x64xf32>) outs(%c : memref<128x64xf32>)
  return
}

func.func @batched(%a: memref<3x4x10xf32>, %b: memref<3x10x3xf32>, %c: memref<3x4x3xf32>) {
  // expected-remark @+1 {{gemm: linalg.batch_matmul -> cuBLAS (kiln_cuda_sgemm), 4 x 3 x 10, 3 batches, accumulating (beta 1)}}
  linalg.batch_matmul ins(%a, %b : memref<3x4x10xf32>, memref<3x10x3xf32>) outs(%c : memref<3x4x3xf32>)
  return
}

func.func @strided(%a: memref<4x8xf32, strided<[1, 4]>>, %b: memref<8x2xf32>, %c: memref<4x2xf32>) {
  // expected-remark @+1 {{gemm: linalg.matmul stays GPU loops: an operand is not f32 with static shape and contiguous rows (what cuBLAS takes)}}
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[1, 4]>>, memref<8x2xf32>) outs(%c : memref<4x2xf32>)
  return
}
