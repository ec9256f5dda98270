// RUN: kiln-opt %s --kiln-cpu-gemm-to-runtime --cse --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-gemm-to-runtime=epilogues=false --split-input-file | FileCheck %s --check-prefix=OFF

// A linear layer + ReLU as the pipeline leaves it: the bias broadcast into C,
// the contraction adding to it, then the ReLU in row blocks. The broadcast
// and the ReLU become the call's epilogue: bias address, KILN_GEMM_RELU (1),
// the ReLU's buffer and its row stride; accumulate = 0. The call stands where
// the ReLU stood (its buffer is defined after the contraction).
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_relu
// CHECK-NOT:     linalg.broadcast
// CHECK:         %[[Y:.+]] = memref.view %arg3
// CHECK:         memref.extract_strided_metadata %arg2 : memref<64xf32>
// CHECK:         %[[BIAS:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK:         %[[RELU:.+]] = arith.constant 1 : i32
// CHECK:         %{{.+}}, %{{.+}}, %{{.+}}:2, %[[YS:.+]]:2 = memref.extract_strided_metadata %[[Y]]
// CHECK:         %[[YROW:.+]] = arith.index_cast %[[YS]]#0 : index to i64
// CHECK:         call @kiln_sgemm_fused(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c0_i32, %[[BIAS]], %[[RELU]], %{{.+}}, %[[YROW]])
// CHECK-NOT:     scf.forall
// CHECK-NOT:     linalg.generic
// CHECK:         return
// CHECK:       func.func private @kiln_sgemm_fused(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32, i64, i32, i64, i64)
// OFF-LABEL:   func.func @linear_relu
// OFF:           linalg.broadcast
// OFF:           call @kiln_sgemm(
// OFF:           scf.forall
func.func @linear_relu(%x: memref<16x32xf32>, %w: memref<64x32xf32>, %bias: memref<64xf32>, %ws: memref<8192xi8>) {
  %c0 = arith.constant 0 : index
  %c = memref.view %ws[%c0][] : memref<8192xi8> to memref<16x64xf32>
  linalg.broadcast ins(%bias : memref<64xf32>) outs(%c : memref<16x64xf32>) dimensions = [0]
  linalg.matmul_transpose_b ins(%x, %w : memref<16x32xf32>, memref<64x32xf32>) outs(%c : memref<16x64xf32>)
  %c4096 = arith.constant 4096 : index
  %y = memref.view %ws[%c4096][] : memref<8192xi8> to memref<16x64xf32>
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) = (0) to (16) step (8) {
    %in = memref.subview %c[%i, 0] [8, 64] [1, 1] : memref<16x64xf32> to memref<8x64xf32, strided<[64, 1], offset: ?>>
    %out = memref.subview %y[%i, 0] [8, 64] [1, 1] : memref<16x64xf32> to memref<8x64xf32, strided<[64, 1], offset: ?>>
    linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
        ins(%in : memref<8x64xf32, strided<[64, 1], offset: ?>>) outs(%out : memref<8x64xf32, strided<[64, 1], offset: ?>>) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.maximumf %a, %zero : f32
      linalg.yield %r : f32
    }
  }
  return
}

// -----

// The bias alone (the output layer), and a ReLU alone written in place
// (an untiled generic, max with 0 on the left): the absent part passes 0;
// in place, the ReLU's buffer is C's own address and row stride.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @bias_only
// CHECK-NOT:     linalg.broadcast
// CHECK:         call @kiln_sgemm_fused({{.+}}, %[[ZERO:.+]], %{{.+}}, %[[ZERO]], %[[NULL:.+]], %[[NULL]])
// CHECK-LABEL: func.func @relu_in_place
// CHECK:         call @kiln_sgemm_fused({{.+}}, %[[C:.+]], %[[CROW:.+]], %[[ONE:.+]], %{{.+}}, %[[ONE]], %[[C]], %[[CROW]])
// CHECK-NOT:     linalg.generic
func.func @bias_only(%x: memref<16x32xf32>, %w: memref<10x32xf32>, %bias: memref<10xf32>, %c: memref<16x10xf32>) {
  linalg.broadcast ins(%bias : memref<10xf32>) outs(%c : memref<16x10xf32>) dimensions = [0]
  linalg.matmul_transpose_b ins(%x, %w : memref<16x32xf32>, memref<10x32xf32>) outs(%c : memref<16x10xf32>)
  return
}
func.func @relu_in_place(%a: memref<8x4xf32>, %b: memref<4x8xf32>, %c: memref<8x8xf32>) {
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x8xf32>) outs(%c : memref<8x8xf32>)
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %zero, %in : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not folded: a ReLU whose buffer is an operand of the GEMM (the planner put
// the activation where the input was), a max with -0.0 (not a ReLU: it keeps
// -0), a ReLU of part of C, and a broadcast along the other dimension.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @left_alone
// CHECK:         call @kiln_sgemm(
// CHECK:         linalg.generic
// CHECK:         call @kiln_sgemm(
// CHECK:         linalg.generic
// CHECK:         call @kiln_sgemm(
// CHECK:         scf.forall
// CHECK:         linalg.broadcast
// CHECK:         call @kiln_sgemm(
// CHECK-NOT:     kiln_sgemm_fused
func.func @left_alone(%x: memref<8x8xf32>, %w: memref<8x8xf32>, %c: memref<8x8xf32>, %col: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %mzero = arith.constant -0.0 : f32
  linalg.matmul ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x8xf32>) outs(%x : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %mzero : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  scf.forall (%i) = (0) to (4) step (4) {
    %in = memref.subview %c[%i, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1], offset: ?>>
    linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
        ins(%in : memref<4x8xf32, strided<[8, 1], offset: ?>>) outs(%in : memref<4x8xf32, strided<[8, 1], offset: ?>>) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.maximumf %a, %zero : f32
      linalg.yield %r : f32
    }
  }
  linalg.broadcast ins(%col : memref<8xf32>) outs(%c : memref<8x8xf32>) dimensions = [1]
  linalg.matmul ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  return
}
