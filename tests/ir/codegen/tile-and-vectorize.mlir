// RUN: kiln-opt %s --kiln-cpu-tile-and-vectorize | FileCheck %s

// A GEMM: thread tiles of 64 x 64 (dividing 128 x 64) in an scf.forall,
// register tiles 8 x 32 x 1 in scf.for, K innermost, one vector.contract.
// CHECK-LABEL: func.func @gemm
// CHECK:         scf.forall ({{.+}}) = (0, 0) to (128, 64) step (64, 64)
// CHECK:           scf.for {{.+}} step %c8
// CHECK:             scf.for {{.+}} step %c32
// CHECK:               scf.for {{.+}} step %c1
// CHECK:                 vector.contract {{.+}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT:     linalg.matmul

// A 10-class head: N = 10 is taken whole as one 10-lane vector.
// CHECK-LABEL: func.func @head
// CHECK:         vector.contract {{.+}} vector<8x1xf32>, vector<1x10xf32> into vector<8x10xf32>
// CHECK-NOT:     linalg.matmul

// N = 40: more than one vector and no multiple of 16, left scalar.
// CHECK-LABEL: func.func @odd
// CHECK-NOT:     scf.forall
// CHECK:         linalg.matmul

// N = 1 (a one-output Linear): degenerate vectors stay scalar.
// CHECK-LABEL: func.func @one_output
// CHECK-NOT:     scf.forall
// CHECK:         linalg.matmul

// The W^T copy: 16 x 16 blocks transposed in registers.
// CHECK-LABEL: func.func @transpose
// CHECK:         scf.forall ({{.+}}) = (0, 0) to (32, 48) step (32, 48)
// CHECK:           vector.transfer_read {{.+}} vector<16x16xf32>
// CHECK:           vector.transpose %{{.+}}, [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// CHECK:           vector.transfer_write
// CHECK-NOT:     linalg.transpose

// Elementwise: row blocks of >= 4096 elements (64 x 128 -> 2 blocks of
// 32 rows); a small one (8 x 16) stays whole.
// CHECK-LABEL: func.func @relu
// CHECK:         scf.forall ({{.+}}) = (0) to (64) step (32)
// CHECK:           linalg.generic
// CHECK-LABEL: func.func @small_relu
// CHECK-NOT:     scf.forall

func.func @gemm(%a: tensor<128x32xf32>, %b: tensor<32x64xf32>, %c: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<128x32xf32>, tensor<32x64xf32>) outs(%c : tensor<128x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @head(%a: tensor<16x32xf32>, %b: tensor<32x10xf32>, %c: tensor<16x10xf32>) -> tensor<16x10xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x32xf32>, tensor<32x10xf32>) outs(%c : tensor<16x10xf32>) -> tensor<16x10xf32>
  return %0 : tensor<16x10xf32>
}
func.func @odd(%a: tensor<16x32xf32>, %b: tensor<32x40xf32>, %c: tensor<16x40xf32>) -> tensor<16x40xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x32xf32>, tensor<32x40xf32>) outs(%c : tensor<16x40xf32>) -> tensor<16x40xf32>
  return %0 : tensor<16x40xf32>
}
func.func @one_output(%a: tensor<8x16xf32>, %b: tensor<16x1xf32>, %c: tensor<8x1xf32>) -> tensor<8x1xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x1xf32>) outs(%c : tensor<8x1xf32>) -> tensor<8x1xf32>
  return %0 : tensor<8x1xf32>
}
func.func @transpose(%w: tensor<48x32xf32>) -> tensor<32x48xf32> {
  %e = tensor.empty() : tensor<32x48xf32>
  %0 = linalg.transpose ins(%w : tensor<48x32xf32>) outs(%e : tensor<32x48xf32>) permutation = [1, 0]
  return %0 : tensor<32x48xf32>
}
#ew = affine_map<(d0, d1) -> (d0, d1)>
func.func @relu(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %0 = linalg.generic {indexing_maps = [#ew, #ew], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}
func.func @small_relu(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %0 = linalg.generic {indexing_maps = [#ew, #ew], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}
