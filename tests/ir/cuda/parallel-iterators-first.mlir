// RUN: kiln-opt %s --kiln-cuda-parallel-iterators-first --split-input-file --verify-diagnostics | FileCheck %s

// A column sum (reduction over rows first) becomes parallel-first; the
// maps follow the loops, so the result is the same.
// CHECK-DAG:   #[[IN:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG:   #[[OUT:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @column_sum
// CHECK:         linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d1)>
func.func @column_sum(%x: tensor<8x4xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// Parallel loops first already: unchanged.
// CHECK-LABEL: func.func @row_sum
// CHECK:         iterator_types = ["parallel", "reduction"]
#rows = affine_map<(d0, d1) -> (d0)>
func.func @row_sum(%x: tensor<8x4xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.generic {indexing_maps = [#in, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x4xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// A parallel loop that does not index the output: on the GPU its
// iterations would race on the same elements.
#broadcast_in = affine_map<(d0, d1) -> (d0, d1)>
#broadcast_out = affine_map<(d0, d1) -> (d0)>
func.func @race(%x: tensor<8x4xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{--target=cuda: parallel loop 1 does not index output 1: its GPU threads would write the same elements}}
  %r = linalg.generic {indexing_maps = [#broadcast_in, #broadcast_out], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    linalg.yield %a : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
