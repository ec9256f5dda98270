// RUN: kiln-opt %s --kiln-cuda-block-reductions=remarks --split-input-file --verify-diagnostics | FileCheck %s
// RUN: not kiln-opt %s --kiln-cuda-block-reductions=threads=48 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: kiln-cuda-block-reductions: threads must be a power of two in [32, 1024]

// A softmax's row max over 1000 classes: one block of 256 threads per row.
// Thread t takes the columns t, t + 256, ... from -inf; the partials meet
// in shared memory in 8 halvings, a barrier before each; thread 0 combines
// the result into the output's initial value.
// CHECK-LABEL: func.func @row_max
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : index
// CHECK:         gpu.launch blocks(%[[B:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C64]], %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C256]], %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) workgroup(%[[SH:.+]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK:           %[[P:.+]] = scf.for %[[K:[a-z0-9_]+]] = %[[T]] to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[NEG]]) -> (f32) {
// CHECK:             %[[X:.+]] = memref.load %arg0[%{{.+}}, %{{.+}}] : memref<64x1000xf32>
// CHECK:             %[[M:.+]] = arith.maximumf %[[ACC]], %[[X]] : f32
// CHECK:             scf.yield %[[M]]
// CHECK:           memref.store %[[P]], %[[SH]][%[[T]]]
// CHECK-NEXT:      gpu.barrier
// CHECK:           arith.cmpi ult, %[[T]], %{{.+}}
// CHECK:           scf.if
// CHECK:             arith.maximumf
// CHECK-COUNT-7:   gpu.barrier
// CHECK-NOT:       gpu.barrier
// CHECK:           %[[FIRST:.+]] = arith.cmpi eq, %[[T]], %{{.+}}
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             %[[INIT:.+]] = memref.load %arg1[%{{.+}}] : memref<64xf32>
// CHECK:             %[[ALL:.+]] = memref.load %[[SH]][%{{.+}}]
// CHECK:             %[[R:.+]] = arith.maximumf %[[INIT]], %[[ALL]] : f32
// CHECK:             memref.store %[[R]], %arg1[%{{.+}}] : memref<64xf32>
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
#x = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @row_max(%x: memref<64x1000xf32>, %m: memref<64xf32>) {
  // expected-remark @+1 {{reduction on one GPU block per output: 64 outputs of 1000 terms, 256 threads and a shared-memory tree each (rows read coalesced)}}
  linalg.generic {indexing_maps = [#x, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x1000xf32>) outs(%m : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.maximumf %a, %s : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A sum of squares of all elements (no parallel loop): one block, 128
// threads (100 terms rounded up), the sum's identity -0.0; the term's
// computation and its linalg.index are cloned into the thread's loop.
// CHECK-LABEL: func.func @norm
// CHECK-DAG:     %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:     %[[C128:.+]] = arith.constant 128 : index
// CHECK:         gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C1]], {{.+}} threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C128]], {{.+}} workgroup(%{{.+}} : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK:           arith.constant -0.000000e+00 : f32
// CHECK:           scf.for %[[K:[a-z0-9_]+]] =
// CHECK:             %[[I:.+]] = arith.remui %[[K]], %{{.+}} : index
// CHECK:             arith.index_cast %[[I]] : index to i64
// CHECK:             arith.mulf
// CHECK:             arith.addf
// CHECK-COUNT-7:   gpu.barrier
// CHECK-NOT:       gpu.barrier
// CHECK:           gpu.terminator
#x2 = affine_map<(d0, d1) -> (d0, d1)>
#s2 = affine_map<(d0, d1) -> ()>
func.func @norm(%g: memref<4x25xf32>, %acc: memref<f32>) {
  // expected-remark @+1 {{reduction on one GPU block per output: 1 output of 100 terms, 128 threads and a shared-memory tree each (rows read coalesced)}}
  linalg.generic {indexing_maps = [#x2, #s2], iterator_types = ["reduction", "reduction"]}
      ins(%g : memref<4x25xf32>) outs(%acc : memref<f32>) {
  ^bb0(%a: f32, %s: f32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i64
    %jf = arith.sitofp %ji : i64 to f32
    %sq = arith.mulf %a, %jf : f32
    %t = arith.addf %s, %sq : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A bias gradient (a column sum over a batch of 128) with few outputs: a
// block per column, its terms 10 floats apart; a scalar input joins the
// term as it is.
// CHECK-LABEL: func.func @bias_grad
// CHECK:         gpu.launch
// CHECK:           scf.for
// CHECK:             memref.load %arg0[%{{.+}}, %{{.+}}] : memref<128x10xf32>
// CHECK:             arith.mulf %{{.+}}, %arg2 : f32
#t3 = affine_map<(d0, d1) -> (d1, d0)>
#o3 = affine_map<(d0, d1) -> (d0)>
#c3 = affine_map<(d0, d1) -> ()>
func.func @bias_grad(%dy: memref<128x10xf32>, %db: memref<10xf32>, %scale: f32) {
  // expected-remark @+1 {{reduction on one GPU block per output: 10 outputs of 128 terms, 128 threads and a shared-memory tree each}}
  linalg.generic {indexing_maps = [#t3, #c3, #o3], iterator_types = ["parallel", "reduction"]}
      ins(%dy, %scale : memref<128x10xf32>, f32) outs(%db : memref<10xf32>) {
  ^bb0(%a: f32, %k: f32, %s: f32):
    %m = arith.mulf %a, %k : f32
    %t = arith.addf %m, %s : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Left alone: a column sum over many outputs (its threads already read
// consecutive addresses), a short reduction, a combiner without an
// identity, a second output that is neither reduced nor one element per
// iteration.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     gpu.launch
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT:     gpu.launch
#t4 = affine_map<(d0, d1) -> (d1, d0)>
#x4 = affine_map<(d0, d1) -> (d0, d1)>
#o4 = affine_map<(d0, d1) -> (d0)>
func.func @left_alone(%cols: memref<64x8192xf32>, %colsum: memref<8192xf32>,
                      %short: memref<64x16xf32>, %rows: memref<64xf32>,
                      %long: memref<64x512xf32>, %rows2: memref<64xf32>) {
  linalg.generic {indexing_maps = [#t4, #o4], iterator_types = ["parallel", "reduction"]}
      ins(%cols : memref<64x8192xf32>) outs(%colsum : memref<8192xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#x4, #o4], iterator_types = ["parallel", "reduction"]}
      ins(%short : memref<64x16xf32>) outs(%rows : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#x4, #o4], iterator_types = ["parallel", "reduction"]}
      ins(%long : memref<64x512xf32>) outs(%rows : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.subf %s, %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#x4, #o4, #o4], iterator_types = ["parallel", "reduction"]}
      ins(%long : memref<64x512xf32>) outs(%rows, %rows2 : memref<64xf32>, memref<64xf32>) {
  ^bb0(%a: f32, %s: f32, %s2: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t, %a : f32, f32
  }
  return
}

// -----

// A fused loss: a row's sum and max reduced side by side (a shared buffer
// and a tree step each), and its per-element gradient written by the
// thread that computes the term (an output whose map permutes all loops).
// CHECK-LABEL: func.func @fused_rows
// CHECK:         gpu.launch {{.+}} workgroup(%[[S:.+]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[M:.+]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[R:.+]]:2 = scf.for {{.+}} iter_args(%[[ACC:.+]] = %{{.+}}, %[[MAX:.+]] = %{{.+}}) -> (f32, f32) {
// CHECK:             %[[X:.+]] = memref.load %arg0
// CHECK:             %[[E:.+]] = math.exp %[[X]] : f32
// CHECK:             memref.store %[[E]], %arg3[%{{.+}}, %{{.+}}] : memref<32x700xf32>
// CHECK:             %[[A:.+]] = arith.addf %[[ACC]], %[[E]] : f32
// CHECK:             %[[B:.+]] = arith.maximumf %[[MAX]], %[[X]] : f32
// CHECK:             scf.yield %[[A]], %[[B]] : f32, f32
// CHECK:           memref.store %[[R]]#0, %[[S]]
// CHECK:           memref.store %[[R]]#1, %[[M]]
// CHECK:           scf.if
// CHECK:             arith.addf
// CHECK:             arith.maximumf
// CHECK:           gpu.terminator
#x5 = affine_map<(d0, d1) -> (d0, d1)>
#o5 = affine_map<(d0, d1) -> (d0)>
func.func @fused_rows(%x: memref<32x700xf32>, %sum: memref<32xf32>, %max: memref<32xf32>,
                      %e: memref<32x700xf32>) {
  // expected-remark @+1 {{reduction on one GPU block per output: 32 outputs of 700 terms, 256 threads and a shared-memory tree each (rows read coalesced)}}
  linalg.generic {indexing_maps = [#x5, #o5, #o5, #x5], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<32x700xf32>) outs(%sum, %max, %e : memref<32xf32>, memref<32xf32>, memref<32x700xf32>) {
  ^bb0(%a: f32, %s: f32, %m: f32, %old: f32):
    %ex = math.exp %a : f32
    %t = arith.addf %s, %ex : f32
    %u = arith.maximumf %m, %a : f32
    linalg.yield %t, %u, %ex : f32, f32, f32
  }
  return
}
