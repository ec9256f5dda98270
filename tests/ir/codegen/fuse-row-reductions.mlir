// RUN: kiln-opt %s --split-input-file --kiln-cpu-fuse-row-reductions=remarks=true --verify-diagnostics | FileCheck %s

// kiln-cpu-fuse-row-reductions: a generic that reads row statistics is
// tiled into blocks of rows, and the reductions computing them (with the
// fills and generics that only feed them) run per block in the same loop.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Softmax rows, 64 x 1000: thread tasks of 8 rows (8000 iterations each);
// the max and the sum of exponentials of a block are computed in its task
// and written to slices of shared outputs (one buffer each, outside the
// loop); the max is computed once and read by both ops after it.
// CHECK-LABEL: func.func @softmax_threaded
// CHECK-NOT:     linalg.generic
// CHECK:         scf.forall (%[[B:.+]]) = (0) to (64) step (8) shared_outs(
// CHECK:           %[[X:.+]] = tensor.extract_slice %arg0[%[[B]], 0] [8, 1000] [1, 1]
// CHECK:           %[[M:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<8x1000xf32>)
// CHECK:             arith.maximumf
// CHECK:           %[[S:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %[[M]] : tensor<8x1000xf32>, tensor<8xf32>)
// CHECK:             math.exp
// CHECK:           linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[M]], %[[S]] : tensor<8x1000xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK:             arith.divf
// CHECK:           scf.forall.in_parallel
// CHECK:         } {kiln.fused_rows}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @softmax_threaded(%x: tensor<64x1000xf32>) -> tensor<64x1000xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x1000xf32>) outs(%m0 : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %s = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %m : tensor<64x1000xf32>, tensor<64xf32>) outs(%s0 : tensor<64xf32>) {
  ^bb0(%a: f32, %mm: f32, %acc: f32):
    %d = arith.subf %a, %mm : f32
    %ex = math.exp %d : f32
    %r = arith.addf %ex, %acc : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<64x1000xf32>
  // expected-remark@+1 {{fusion: 2 row reduction(s) and 0 op(s) feeding them computed per block of 8 rows in this op's loop (one thread task per block)}}
  %p = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m, %s : tensor<64x1000xf32>, tensor<64xf32>, tensor<64xf32>) outs(%e2 : tensor<64x1000xf32>) {
  ^bb0(%a: f32, %mm: f32, %ss: f32, %o: f32):
    %d = arith.subf %a, %mm : f32
    %ex = math.exp %d : f32
    %q = arith.divf %ex, %ss : f32
    linalg.yield %q : f32
  } -> tensor<64x1000xf32>
  return %p : tensor<64x1000xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// 7 rows (prime) of 1000: no two equal thread tasks, and all rows do not
// fit one block of 4096 iterations: sequential blocks of one row.
// CHECK-LABEL: func.func @sequential_blocks
// CHECK:         scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(
// CHECK:           linalg.generic {{.+}} ins(%{{.+}} : tensor<1x1000xf32>)
// CHECK:           linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<1x1000xf32>, tensor<1xf32>)
// CHECK:         } {kiln.fused_rows}
func.func @sequential_blocks(%x: tensor<7x1000xf32>) -> tensor<7x1000xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<7xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<7xf32>) -> tensor<7xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<7x1000xf32>) outs(%m0 : tensor<7xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<7xf32>
  %e2 = tensor.empty() : tensor<7x1000xf32>
  // expected-remark@+1 {{fusion: 1 row reduction(s) and 0 op(s) feeding them computed per block of 1 rows in this op's loop (sequential blocks)}}
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<7x1000xf32>, tensor<7xf32>) outs(%e2 : tensor<7x1000xf32>) {
  ^bb0(%a: f32, %mm: f32, %o: f32):
    %d = arith.subf %a, %mm : f32
    linalg.yield %d : f32
  } -> tensor<7x1000xf32>
  return %y : tensor<7x1000xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// 4 x 10: every row fits one block; nothing changes.
// CHECK-LABEL: func.func @small
// CHECK-NOT:     scf.
// CHECK-COUNT-2: linalg.generic
func.func @small(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x10xf32>) outs(%m0 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x10xf32>
  // expected-remark@+1 {{fusion: 1 row reduction(s) before this op left as loops of their own: all its rows fit one block of 4096 iterations}}
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<4x10xf32>, tensor<4xf32>) outs(%e2 : tensor<4x10xf32>) {
  ^bb0(%a: f32, %mm: f32, %o: f32):
    %d = arith.subf %a, %mm : f32
    linalg.yield %d : f32
  } -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The max is also returned: it stays a loop of its own (moving it would
// compute it twice); the sum, read only by the consumer, moves in.
// CHECK-LABEL: func.func @shared_statistic
// CHECK:         %[[M:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<64x1000xf32>)
// CHECK:         scf.forall
// CHECK:           tensor.extract_slice %[[M]]
// CHECK:           math.exp
// CHECK:         } {kiln.fused_rows}
// CHECK:         return %{{.+}}, %[[M]]
func.func @shared_statistic(%x: tensor<64x1000xf32>) -> (tensor<64x1000xf32>, tensor<64xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x1000xf32>) outs(%m0 : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %e1 = tensor.empty() : tensor<64xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64xf32>) -> tensor<64xf32>
  %s = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %m : tensor<64x1000xf32>, tensor<64xf32>) outs(%s0 : tensor<64xf32>) {
  ^bb0(%a: f32, %mm: f32, %acc: f32):
    %d = arith.subf %a, %mm : f32
    %ex = math.exp %d : f32
    %r = arith.addf %ex, %acc : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<64x1000xf32>
  // expected-remark@+1 {{fusion: 1 row reduction(s) and 0 op(s) feeding them computed per block of 8 rows in this op's loop (one thread task per block)}}
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<64x1000xf32>, tensor<64xf32>) outs(%e2 : tensor<64x1000xf32>) {
  ^bb0(%a: f32, %ss: f32, %o: f32):
    %q = arith.divf %a, %ss : f32
    linalg.yield %q : f32
  } -> tensor<64x1000xf32>
  return %y, %m : tensor<64x1000xf32>, tensor<64xf32>
}

// -----

#x = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// A per-column statistic (a reduction over the rows) read by every row
// block: each block would need all of it, so it stays outside, computed
// once; only the loop over the consumer's rows remains.
// CHECK-LABEL: func.func @whole_statistic
// CHECK:         %[[S:.+]] = linalg.generic {{.+}} iterator_types = ["reduction", "parallel"]} ins(%arg0 : tensor<64x1000xf32>)
// CHECK:         scf.forall
// CHECK-NOT:       iterator_types = ["reduction", "parallel"]
// CHECK:           tensor.extract_slice %[[S]][0] [1000] [1]
// CHECK:         } {kiln.fused_rows}
func.func @whole_statistic(%x: tensor<64x1000xf32>) -> tensor<64x1000xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1000xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e : tensor<1000xf32>) -> tensor<1000xf32>
  %s = linalg.generic {indexing_maps = [#x, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<64x1000xf32>) outs(%s0 : tensor<1000xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<1000xf32>
  %e2 = tensor.empty() : tensor<64x1000xf32>
  // expected-remark@+1 {{fusion: 0 row reduction(s) and 0 op(s) feeding them computed per block of 8 rows in this op's loop (one thread task per block); 1 reduction(s) kept outside, computed once (every block reads all of it)}}
  %y = linalg.generic {indexing_maps = [#x, #col, #x], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<64x1000xf32>, tensor<1000xf32>) outs(%e2 : tensor<64x1000xf32>) {
  ^bb0(%a: f32, %ss: f32, %o: f32):
    %q = arith.subf %a, %ss : f32
    linalg.yield %q : f32
  } -> tensor<64x1000xf32>
  return %y : tensor<64x1000xf32>
}
