// RUN: kiln-opt %s --kiln-cuda-split-reductions=remarks --split-input-file --verify-diagnostics | FileCheck %s

// The squared norm of a 512 x 784 gradient (one output, 401408 terms):
// 256 partial sums of 2 rows each in parallel, then their sum into the
// original accumulator.
// CHECK-DAG:   #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[PART:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func @norm
// CHECK:         %[[X:.+]] = tensor.expand_shape %arg0 {{\[}}[0, 1], [2]] output_shape [256, 2, 784] : tensor<512x784xf32> into tensor<256x2x784xf32>
// CHECK:         %[[P:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[PART]]], iterator_types = ["parallel", "reduction", "reduction"]} ins(%[[X]] : tensor<256x2x784xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[P]] : tensor<256xf32>) outs(%arg1 : tensor<f32>)
// CHECK:           arith.addf
#x = affine_map<(d0, d1) -> (d0, d1)>
#s = affine_map<(d0, d1) -> ()>
func.func @norm(%g: tensor<512x784xf32>, %acc: tensor<f32>) -> tensor<f32> {
  // expected-remark @+1 {{reduction split for the GPU: 256 partial sums of 2 along loop 0, then their sum}}
  %r = linalg.generic {indexing_maps = [#x, #s], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<512x784xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%a: f32, %s: f32):
    %sq = arith.mulf %a, %a : f32
    %t = arith.addf %sq, %s : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Enough outputs, a short sum, or no plain index to reshape: unchanged.
// CHECK-LABEL: func.func @many_outputs
// CHECK-NOT:     tensor.expand_shape
#x1 = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @many_outputs(%x: tensor<8192x8xf32>, %acc: tensor<8192xf32>) -> tensor<8192xf32> {
  %r = linalg.generic {indexing_maps = [#x1, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8192x8xf32>) outs(%acc : tensor<8192xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  } -> tensor<8192xf32>
  return %r : tensor<8192xf32>
}

// -----

// A max is not a sum: unchanged.
// CHECK-LABEL: func.func @max
// CHECK-NOT:     tensor.expand_shape
#x2 = affine_map<(d0, d1) -> (d0, d1)>
#s2 = affine_map<(d0, d1) -> ()>
func.func @max(%g: tensor<512x784xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#x2, #s2], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<512x784xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.maximumf %a, %s : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
