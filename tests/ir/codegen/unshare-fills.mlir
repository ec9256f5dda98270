// RUN: kiln-opt %s --kiln-unshare-fills --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-unshare-fills --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | FileCheck %s --check-prefix=BUF
// RUN: kiln-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | FileCheck %s --check-prefix=SHARED

// One zero fill (as CSE leaves the zero accumulators of two gradients) that
// two contractions write into: each gets a fill of its own right before it,
// so bufferization copies nothing (without the pass it copies the filled
// buffer for the second writer).
// CHECK-LABEL: func.func @two_accumulators
// CHECK:         %[[E0:.+]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[Z0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E0]] : tensor<8x16xf32>)
// CHECK:         linalg.matmul ins(%arg0, %arg1 : {{.+}}) outs(%[[Z0]] : tensor<8x16xf32>)
// CHECK:         %[[E1:.+]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[Z1:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E1]] : tensor<8x16xf32>)
// CHECK:         linalg.matmul ins(%arg0, %arg2 : {{.+}}) outs(%[[Z1]] : tensor<8x16xf32>)
// CHECK-NOT:     linalg.fill
// BUF-LABEL:   func.func @two_accumulators
// BUF-NOT:       memref.copy
// BUF-NOT:       linalg.copy
// SHARED-LABEL: func.func @two_accumulators
// SHARED:         memref.copy
func.func @two_accumulators(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>, %c: tensor<4x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %x = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>) outs(%z : tensor<8x16xf32>) -> tensor<8x16xf32>
  %y = linalg.matmul ins(%a, %c : tensor<8x4xf32>, tensor<4x16xf32>) outs(%z : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %x, %y : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// A read of the fill keeps the original; the scf.forall that writes into it
// (its shared output) gets a clone before it. A fill with one use, and a
// fill of a tensor with contents, are left alone.
#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @reads_and_loops
// BUF-LABEL:   func.func @reads_and_loops
// CHECK:         %[[Z:.+]] = linalg.fill
// CHECK:         %[[E1:.+]] = tensor.empty() : tensor<64xf32>
// CHECK:         %[[Z1:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E1]] : tensor<64xf32>)
// CHECK:         scf.forall (%{{.+}}) in (2) shared_outs(%{{.+}} = %[[Z1]])
// CHECK:         linalg.generic {{.+}} ins(%[[Z]], %arg0 :
// CHECK:         %[[KEPT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%arg1 : tensor<64xf32>)
// CHECK:         linalg.generic {{.+}} outs(%[[KEPT]] :
// CHECK:         linalg.generic {{.+}} outs(%[[KEPT]] :
func.func @reads_and_loops(%x: tensor<64xf32>, %t: tensor<64xf32>) -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %r = scf.forall (%i) in (2) shared_outs(%o = %z) -> (tensor<64xf32>) {
    %off = arith.muli %i, %i : index
    %s = tensor.extract_slice %x[%off] [32] [1] : tensor<64xf32> to tensor<32xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%off] [32] [1] : tensor<32xf32> into tensor<64xf32>
    }
  }
  %sum = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]}
      ins(%z, %x : tensor<64xf32>, tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %v = arith.addf %p, %q : f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  %kept = linalg.fill ins(%zero : f32) outs(%t : tensor<64xf32>) -> tensor<64xf32>
  %u = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%kept : tensor<64xf32>) {
  ^bb0(%q: f32, %out: f32):
    %v = arith.addf %q, %out : f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  %w = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%kept : tensor<64xf32>) {
  ^bb0(%q: f32, %out: f32):
    %v = arith.mulf %q, %out : f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  return %r, %sum, %u, %w : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
}
