// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s

// Every op here is one parallel gather generic over its result: no inputs,
// the sources read with tensor.extract at indices built from linalg.index
// (no insert_slice, so nothing bufferizes to a strided memref.copy).

// slice: result[i, j] = x[i + 1, 2 j + 1].
// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} outs(%[[E]] : tensor<2x3xf32>)
// CHECK: %[[I:.+]] = linalg.index 0
// CHECK: %[[J:.+]] = linalg.index 1
// CHECK: %[[R:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[C2:.+]] = arith.muli %[[J]], %{{.+}} : index
// CHECK: %[[C:.+]] = arith.addi %[[C2]], %{{.+}} : index
// CHECK: tensor.extract %[[X]][%[[R]], %[[C]]] : tensor<4x8xf32>
// CHECK-NOT: nn.
func.func @slice(%x: tensor<4x8xf32>) -> tensor<2x3xf32> {
  %0 = nn.slice %x {start = array<i64: 1, 1>, end = array<i64: 3, 7>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A leading slice (start 0, step 1) reads at the loop indices; the loops
// run over the slice, not the input.
// CHECK-LABEL: func.func @leading_slice
// CHECK: linalg.generic {{.+}} outs(%{{.+}} : tensor<4x5xf32>)
// CHECK: %[[I:.+]] = linalg.index 0
// CHECK: %[[J:.+]] = linalg.index 1
// CHECK: tensor.extract %{{.+}}[%[[I]], %[[J]]] : tensor<4x8xf32>
func.func @leading_slice(%x: tensor<4x8xf32>) -> tensor<4x5xf32> {
  %0 = nn.slice %x {start = array<i64: 0, 0>, end = array<i64: 4, 5>, step = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// slice_backward: dy where the index is inside the slice and on its step,
// else 0; the read index is clamped to 0 outside, so it stays in bounds.
// CHECK-LABEL: func.func @slice_backward
// CHECK-SAME: (%[[G:.+]]: tensor<2x3xf32>)
// CHECK: linalg.generic {{.+}} outs(%{{.+}} : tensor<4x8xf32>)
// CHECK: arith.remsi
// CHECK: arith.divsi
// CHECK: %[[HIT:.+]] = arith.andi
// CHECK: %[[COL:.+]] = arith.select
// CHECK: %[[V:.+]] = tensor.extract %[[G]][%{{.+}}, %[[COL]]] : tensor<2x3xf32>
// CHECK: arith.select %[[HIT]], %[[V]], %{{.+}} : f32
func.func @slice_backward(%g: tensor<2x3xf32>) -> tensor<4x8xf32> {
  %0 = nn.slice_backward %g {start = array<i64: 1, 1>, end = array<i64: 3, 7>, step = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// An empty slice's adjoint is all zeros.
// CHECK-LABEL: func.func @slice_backward_empty
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<8xf32>)
// CHECK-NOT: tensor.extract
func.func @slice_backward_empty(%g: tensor<0xf32>) -> tensor<8xf32> {
  %0 = nn.slice_backward %g {start = array<i64: 2>, end = array<i64: 2>, step = array<i64: 1>} : (tensor<0xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// concat along -1: the last input read at k - 3, overridden by the first
// below its end (column 3).
// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:.+]]: tensor<4x3xf32>, %[[B:.+]]: tensor<4x5xf32>)
// CHECK: linalg.generic {{.+}} outs(%{{.+}} : tensor<4x8xf32>)
// CHECK: %[[I:.+]] = linalg.index 0
// CHECK: %[[K:.+]] = linalg.index 1
// CHECK: %[[VB:.+]] = tensor.extract %[[B]][%[[I]], %{{.+}}] : tensor<4x5xf32>
// CHECK: %[[INA:.+]] = arith.cmpi slt, %[[K]], %{{.+}} : index
// CHECK: %[[VA:.+]] = tensor.extract %[[A]][%[[I]], %{{.+}}] : tensor<4x3xf32>
// CHECK: arith.select %[[INA]], %[[VA]], %[[VB]] : f32
func.func @concat(%a: tensor<4x3xf32>, %b: tensor<4x5xf32>) -> tensor<4x8xf32> {
  %0 = nn.concat %a, %b {dim = -1 : i64} : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// amax: a reduction generic from -inf with arith.maximumf (NaN propagates,
// like torch.amax); amin from +inf with arith.minimumf.
// CHECK-LABEL: func.func @amax_amin
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: tensor.expand_shape {{.+}} : tensor<4xf32> into tensor<4x1xf32>
// CHECK: arith.constant 0x7F800000 : f32
// CHECK: linalg.generic
// CHECK: arith.minimumf
func.func @amax_amin(%x: tensor<4x8xf32>) -> (tensor<4x1xf32>, tensor<8xf32>) {
  %0 = nn.amax %x {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %1 = nn.amin %x {dims = array<i64: 0>} : (tensor<4x8xf32>) -> tensor<8xf32>
  return %0, %1 : tensor<4x1xf32>, tensor<8xf32>
}

// -----

// A reduced last dimension that is a multiple of 16 (at least 32) is
// viewed as [S / 16, 16]: each output keeps 16 partial results in an
// innermost parallel loop (it vectorizes, the additions in the IR's
// order), folded after. Here sum over the last dim of [4, 64] and the
// max over both dims of [4, 32]; a last dim of 24 keeps one generic.
// CHECK-LABEL: func.func @lanes
// CHECK: tensor.expand_shape {{.+}} output_shape [4, 4, 16] : tensor<256xf32> into tensor<4x4x16xf32>
// CHECK: %[[SUML:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}} : tensor<4x4x16xf32>) outs(%{{.+}} : tensor<4x16xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[SUML]] : tensor<4x16xf32>) outs(%{{.+}} : tensor<4xf32>)
// CHECK: tensor.expand_shape {{.+}} output_shape [4, 2, 16] : tensor<128xf32> into tensor<4x2x16xf32>
// CHECK: %[[MAXL:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["reduction", "reduction", "parallel"]} ins(%{{.+}} : tensor<4x2x16xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction"]} ins(%[[MAXL]] : tensor<16xf32>) outs(%{{.+}} : tensor<f32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x24xf32>) outs(%{{.+}} : tensor<4xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @lanes(%x: tensor<4x64xf32>, %y: tensor<4x32xf32>, %z: tensor<4x24xf32>) -> (tensor<4xf32>, tensor<f32>, tensor<4xf32>) {
  %0 = nn.sum %x {dims = array<i64: 1>} : (tensor<4x64xf32>) -> tensor<4xf32>
  %1 = nn.amax %y {dims = array<i64>} : (tensor<4x32xf32>) -> tensor<f32>
  %2 = nn.sum %z {dims = array<i64: 1>} : (tensor<4x24xf32>) -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<f32>, tensor<4xf32>
}

// -----

// detach: the value itself (autodiff has already run).
// CHECK-LABEL: func.func @detach
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @detach(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = nn.detach %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
