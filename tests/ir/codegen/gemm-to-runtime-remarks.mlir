// RUN: kiln-opt %s --kiln-cpu-gemm-to-runtime=remarks=true --split-input-file --verify-diagnostics | FileCheck %s

// kiln-cpu-gemm-to-runtime=remarks: each contraction says what it became,
// with its layout and accumulation; a ReLU right after it says that it was
// computed in the call's epilogue, and an elementwise op after it that reads
// its result again but could not be says why not.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @relu_after
// CHECK:         call @kiln_sgemm_fused
// CHECK-NOT:     linalg.generic
func.func @relu_after(%x: memref<8x16xf32>, %w: memref<4x16xf32>, %c: memref<8x4xf32>, %y: memref<8x4xf32>) {
  // expected-remark@+1 {{gemm: 8 x 16 x 4 (A B^T, transposes read through strides) calls kiln_sgemm_fused, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution); the ReLU after it computed in the epilogue}}
  linalg.matmul_transpose_b ins(%x, %w : memref<8x16xf32>, memref<4x16xf32>) outs(%c : memref<8x4xf32>)
  %zero = arith.constant 0.0 : f32
  // expected-remark@+1 {{gemm: fused into the epilogue of the 8 x 16 x 4 GEMM before it (written while each tile is in registers)}}
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x4xf32>) outs(%y : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A bias broadcast before is folded in; a ReLU whose result would overlap
// the GEMM's input, and an elementwise op that is no ReLU, stay passes of
// their own and say why.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @unfused_after
// CHECK:         call @kiln_sgemm_fused
// CHECK:         linalg.generic
// CHECK:         call @kiln_sgemm(
// CHECK:         linalg.generic
func.func @unfused_after(%x: memref<8x8xf32>, %w: memref<8x8xf32>, %bias: memref<8xf32>, %c: memref<8x8xf32>) {
  linalg.broadcast ins(%bias : memref<8xf32>) outs(%c : memref<8x8xf32>) dimensions = [0]
  // expected-remark@+1 {{gemm: 8 x 8 x 8 (A B^T, transposes read through strides) calls kiln_sgemm_fused, the bias broadcast before it folded in (added in the epilogue, accumulate = 0)}}
  linalg.matmul_transpose_b ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  %zero = arith.constant 0.0 : f32
  // expected-remark@+1 {{gemm: not fused into the 8 x 8 x 8 GEMM before it: it reads the GEMM's result in a pass of its own (its result may overlap an operand of the GEMM)}}
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x8xf32>) outs(%x : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  // expected-remark@+1 {{gemm: 8 x 8 x 8 (A B, transposes read through strides) calls kiln_sgemm, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution)}}
  linalg.matmul ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  // expected-remark@+1 {{gemm: not fused into the 8 x 8 x 8 GEMM before it: it reads the GEMM's result in a pass of its own (the GEMM's epilogue computes a bias, a ReLU and a ReLU backward mask only)}}
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A zero fill right before is folded in; nothing after reads C.
// CHECK-LABEL: func.func @weight_gradient
// CHECK:         call @kiln_sgemm
// CHECK-NOT:     linalg.fill
func.func @weight_gradient(%dy: memref<8x4xf32>, %x: memref<8x16xf32>, %dw: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%dw : memref<4x16xf32>)
  // expected-remark@+1 {{gemm: 4 x 8 x 16 (A^T B, transposes read through strides) calls kiln_sgemm, the zero fill before it folded in (accumulate = 0)}}
  linalg.matmul_transpose_a ins(%dy, %x : memref<8x4xf32>, memref<8x16xf32>) outs(%dw : memref<4x16xf32>)
  return
}

// -----

// An output that is also an input stays loops, and says why.
// CHECK-LABEL: func.func @overlap
// CHECK:         linalg.matmul
// CHECK-NOT:     call @kiln_sgemm
func.func @overlap(%a: memref<4x4xf32>, %b: memref<4x4xf32>) {
  // expected-remark@+1 {{gemm: linalg.matmul stays a loop nest (the scalar path): its output may overlap an input}}
  linalg.matmul ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%a : memref<4x4xf32>)
  return
}

// -----

// A weight gradient's bias gradient is added up in the same call; one whose
// sums are a row of the gradient itself says why it stays a pass.
#map = affine_map<(d0, d1) -> (d0, d1)>
#sum = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_gradients
// CHECK:         call @kiln_sgemm_fused
// CHECK:         call @kiln_sgemm(
// CHECK:         linalg.generic
func.func @bias_gradients(%dy: memref<16x64xf32>, %x: memref<16x64xf32>, %dw: memref<64x64xf32>, %db: memref<64xf32>) {
  // expected-remark@+1 {{gemm: 64 x 16 x 64 (A^T B, transposes read through strides) calls kiln_sgemm_fused, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution); the column sums of A (the bias gradient) added up in the same call}}
  linalg.matmul_transpose_a ins(%dy, %x : memref<16x64xf32>, memref<16x64xf32>) outs(%dw : memref<64x64xf32>)
  // expected-remark@+1 {{gemm: fused into the 64 x 16 x 64 GEMM before it (summed while the GEMM reads the same operand)}}
  linalg.generic {indexing_maps = [#map, #sum], iterator_types = ["reduction", "parallel"]}
      ins(%dy : memref<16x64xf32>) outs(%db : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %in, %acc : f32
    linalg.yield %r : f32
  }
  %row = memref.subview %dw[0, 0] [1, 64] [1, 1] : memref<64x64xf32> to memref<64xf32, strided<[1]>>
  // expected-remark@+2 {{gemm: the bias gradient after it stays a pass of its own: its sums may overlap an operand of the GEMM}}
  // expected-remark@+1 {{gemm: 64 x 16 x 64 (A^T B, transposes read through strides) calls kiln_sgemm, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution)}}
  linalg.matmul_transpose_a ins(%dy, %x : memref<16x64xf32>, memref<16x64xf32>) outs(%dw : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#map, #sum], iterator_types = ["reduction", "parallel"]}
      ins(%dy : memref<16x64xf32>) outs(%row : memref<64xf32, strided<[1]>>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %in, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// An input gradient's ReLU mask, past a fill that may run before the GEMM:
// folded, and said so at both ops; one whose result is the GEMM's own input
// stays a pass, and the GEMM says why (the mask is not the next op).
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @masks
func.func @masks(%dz: memref<8x16xf32>, %w: memref<16x16xf32>, %dh: memref<8x16xf32>, %z: memref<8x16xf32>, %out: memref<8x16xf32>, %other: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-remark@+1 {{gemm: 8 x 16 x 16 (A B, transposes read through strides) calls kiln_sgemm_fused, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution); the ReLU backward mask after it applied in the epilogue}}
  linalg.matmul ins(%dz, %w : memref<8x16xf32>, memref<16x16xf32>) outs(%dh : memref<8x16xf32>)
  linalg.fill ins(%zero : f32) outs(%other : memref<4xf32>)
  // expected-remark@+1 {{gemm: fused into the epilogue of the 8 x 16 x 16 GEMM before it (written while each tile is in registers)}}
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%dh, %z : memref<8x16xf32>, memref<8x16xf32>) outs(%out : memref<8x16xf32>) {
  ^bb0(%g: f32, %gate: f32, %o: f32):
    %pass = arith.cmpf ogt, %gate, %zero : f32
    %r = arith.select %pass, %g, %zero : f32
    linalg.yield %r : f32
  }
  // expected-remark@+2 {{gemm: the elementwise op after it that reads its result stays a pass of its own: its result may overlap an operand of the GEMM}}
  // expected-remark@+1 {{gemm: 8 x 16 x 16 (A B, transposes read through strides) calls kiln_sgemm, adding to what C holds (accumulate = 1: a broadcast bias, or an earlier contribution)}}
  linalg.matmul ins(%dz, %w : memref<8x16xf32>, memref<16x16xf32>) outs(%dh : memref<8x16xf32>)
  linalg.fill ins(%zero : f32) outs(%other : memref<4xf32>)
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%dh, %z : memref<8x16xf32>, memref<8x16xf32>) outs(%dz : memref<8x16xf32>) {
  ^bb0(%g: f32, %gate: f32, %o: f32):
    %pass = arith.cmpf ogt, %gate, %zero : f32
    %r = arith.select %pass, %g, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A batched contraction says how many items of which product it calls
// kiln_sgemm_batched with; one whose output is its input stays loops.
// CHECK-LABEL: func.func @batched
// CHECK:         call @kiln_sgemm_batched
// CHECK:         linalg.batch_matmul ins
func.func @batched(%q: memref<8x16x4xf32>, %k: memref<8x10x4xf32>, %s: memref<8x16x10xf32>, %sq: memref<8x4x4xf32>) {
  // expected-remark@+1 {{gemm: 8 x (16 x 4 x 10) (A B^T, transposes read through strides) calls kiln_sgemm_batched, adding to what C holds (accumulate = 1)}}
  linalg.batch_matmul_transpose_b ins(%q, %k : memref<8x16x4xf32>, memref<8x10x4xf32>) outs(%s : memref<8x16x10xf32>)
  // expected-remark@+1 {{gemm: linalg.batch_matmul stays a loop nest (the scalar path): its output may overlap an input}}
  linalg.batch_matmul ins(%sq, %sq : memref<8x4x4xf32>, memref<8x4x4xf32>) outs(%sq : memref<8x4x4xf32>)
  return
}
