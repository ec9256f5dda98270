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

// N = 40: no multiple of 16, so split into columns [0, 32) and [32, 40),
// each vectorized (a 32-lane and an 8-lane register tile).
// CHECK-LABEL: func.func @odd
// CHECK:         tensor.extract_slice %arg1[0, 0] [32, 32] [1, 1]
// CHECK:         vector.contract {{.+}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:         tensor.extract_slice %arg1[0, 32] [32, 8] [1, 1]
// CHECK:         vector.contract {{.+}} vector<8x1xf32>, vector<1x8xf32> into vector<8x8xf32>
// CHECK-NOT:     linalg.matmul

// M = 21, N = 150 (LeNet's C*K = 150): columns split at 144, rows at 16;
// the 16 x 144, 16 x 6 and 5 x 144 parts are register tiles; the 5 x 6
// corner too (4..16 rows, 5..32 columns are taken whole).
// CHECK-LABEL: func.func @odd_both
// CHECK-COUNT-4: vector.contract
// CHECK-NOT:     linalg.matmul

// N = 33: the 1-column remainder stays scalar; the 32 columns do not.
// CHECK-LABEL: func.func @odd_narrow_rest
// CHECK:         vector.contract {{.+}} into vector<8x32xf32>
// CHECK:         linalg.matmul {{.+}} -> tensor<16x1xf32>

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

// Reductions thread over their outermost parallel loop that indexes the
// output: a 2x2 max pool over N (64 x 6 x 14 x 14 windows: 64 tasks of
// 4704 iterations), the bias gradient of a convolution over its channels
// (the reduction loop 0 stays inside each task).
// CHECK-LABEL: func.func @max_pool
// CHECK:         scf.forall ({{.+}}) in (64)
// CHECK:           linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK-LABEL: func.func @bias_grad
// CHECK:         scf.forall ({{.+}}) in (6)
// CHECK:           linalg.generic {{.+}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// A full reduction has no parallel loop: it stays whole.
// CHECK-LABEL: func.func @total
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
func.func @odd_both(%a: tensor<21x32xf32>, %b: tensor<32x150xf32>, %c: tensor<21x150xf32>) -> tensor<21x150xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<21x32xf32>, tensor<32x150xf32>) outs(%c : tensor<21x150xf32>) -> tensor<21x150xf32>
  return %0 : tensor<21x150xf32>
}
func.func @odd_narrow_rest(%a: tensor<16x32xf32>, %b: tensor<32x33xf32>, %c: tensor<16x33xf32>) -> tensor<16x33xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x32xf32>, tensor<32x33xf32>) outs(%c : tensor<16x33xf32>) -> tensor<16x33xf32>
  return %0 : tensor<16x33xf32>
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
#pool_in = affine_map<(n, c, h, w, kh, kw) -> (n, c, h * 2 + kh, w * 2 + kw)>
#pool_win = affine_map<(n, c, h, w, kh, kw) -> (kh, kw)>
#pool_out = affine_map<(n, c, h, w, kh, kw) -> (n, c, h, w)>
func.func @max_pool(%x: tensor<64x6x28x28xf32>, %init: tensor<64x6x14x14xf32>) -> tensor<64x6x14x14xf32> {
  %win = tensor.empty() : tensor<2x2xi1>
  %0 = linalg.generic {indexing_maps = [#pool_in, #pool_win, #pool_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %win : tensor<64x6x28x28xf32>, tensor<2x2xi1>) outs(%init : tensor<64x6x14x14xf32>) {
  ^bb0(%in: f32, %w: i1, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<64x6x14x14xf32>
  return %0 : tensor<64x6x14x14xf32>
}
#nchw = affine_map<(n, c, h, w) -> (n, c, h, w)>
#chan = affine_map<(n, c, h, w) -> (c)>
func.func @bias_grad(%dy: tensor<64x6x28x28xf32>, %init: tensor<6xf32>) -> tensor<6xf32> {
  %0 = linalg.generic {indexing_maps = [#nchw, #chan], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%dy : tensor<64x6x28x28xf32>) outs(%init : tensor<6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<6xf32>
  return %0 : tensor<6xf32>
}
#all = affine_map<(i) -> (i)>
#none = affine_map<(i) -> ()>
func.func @total(%x: tensor<65536xf32>, %init: tensor<f32>) -> tensor<f32> {
  %0 = linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction"]} ins(%x : tensor<65536xf32>) outs(%init : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %0 : tensor<f32>
}
