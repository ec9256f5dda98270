// RUN: kiln-opt %s --nn-lower-to-linalg=conv=gemm --split-input-file | FileCheck %s

// im2col + GEMM (passes/LowerConvGemm.cpp), the CUDA backend's lowering:
// one batched matmul over the groups between gathers.

// Forward (groups 2, padding on the rows only): the columns [g, c, kh, kw,
// n, oh, ow] gathered from x with a mask on the rows (the columns never
// leave the input), viewed as [G, Cg K, P]; the weight as [G, Fg, Cg K];
// the product then moved to [n, g, f, oh, ow] with the bias added.
// CHECK-DAG: #[[ZMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2, d0, d3, d4)>
// CHECK-DAG: #[[BMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.+]]: tensor<2x4x9x7xf32>, %[[W:.+]]: tensor<6x2x3x2xf32>, %[[B:.+]]: tensor<6xf32>)
// CHECK: %[[COL:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<2x2x3x2x2x4x6xf32>)
// CHECK: arith.cmpi slt, %{{.+}}, %c9
// CHECK-NOT: %c7
// CHECK: tensor.extract %[[X]]
// CHECK: %[[COLS:.+]] = tensor.collapse_shape %[[COL]] {{\[}}[0], [1, 2, 3], [4, 5, 6]] : tensor<2x2x3x2x2x4x6xf32> into tensor<2x12x48xf32>
// CHECK: %[[WF:.+]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2, 3]] : tensor<6x2x3x2xf32> into tensor<6x12xf32>
// CHECK: %[[WG:.+]] = tensor.expand_shape %[[WF]] {{\[}}[0, 1], [2]] {{.+}} into tensor<2x3x12xf32>
// CHECK: %[[ZERO:.+]] = linalg.fill {{.+}} -> tensor<2x3x48xf32>
// CHECK: %[[Z:.+]] = linalg.batch_matmul ins(%[[WG]], %[[COLS]] : {{.+}}) outs(%[[ZERO]] : tensor<2x3x48xf32>)
// CHECK: %[[ZS:.+]] = tensor.expand_shape %[[Z]] {{\[}}[0], [1], [2, 3, 4]] {{.+}} into tensor<2x3x2x4x6xf32>
// CHECK: %[[BG:.+]] = tensor.expand_shape %[[B]]
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[ZMAP]], #[[BMAP]], #{{.+}}], {{.+}} ins(%[[ZS]], %[[BG]] : {{.+}}) outs(%{{.+}} : tensor<2x2x3x4x6xf32>)
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %[[Y]] {{\[}}[0], [1, 2], [3], [4]] : tensor<2x2x3x4x6xf32> into tensor<2x6x4x6xf32>
// CHECK-NOT: nn.
func.func @conv(%x: tensor<2x4x9x7xf32>, %w: tensor<6x2x3x2xf32>, %b: tensor<6xf32>) -> tensor<2x6x4x6xf32> {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 1>, padding = array<i64: 1, 0, 2, 0>, dilation = array<i64: 2, 1>, groups = 2 : i64} : (tensor<2x4x9x7xf32>, tensor<6x2x3x2xf32>, tensor<6xf32>) -> tensor<2x6x4x6xf32>
  return %y : tensor<2x6x4x6xf32>
}

// -----

// Weight gradient: the same columns, dy with its channels ahead of the
// batch, and dW = dyT col^T.
// CHECK-DAG: #[[DYMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d0, d1, d3)>
// CHECK-LABEL: func.func @backward_weight
// CHECK-SAME: (%[[X:.+]]: tensor<2x6x9xf32>, %[[DY:.+]]: tensor<2x4x5xf32>)
// CHECK: %[[COL:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3x3x2x5xf32>)
// CHECK: tensor.extract %[[X]]
// CHECK: %[[COLS:.+]] = tensor.collapse_shape %[[COL]] {{.+}} into tensor<2x9x10xf32>
// CHECK: %[[DYS:.+]] = tensor.expand_shape %[[DY]] {{\[}}[0], [1, 2], [3]] {{.+}} into tensor<2x2x2x5xf32>
// CHECK: %[[DYT:.+]] = linalg.generic {indexing_maps = [#[[DYMAP]], #{{.+}}], {{.+}} ins(%[[DYS]] : {{.+}}) outs(%{{.+}} : tensor<2x2x2x5xf32>)
// CHECK: %[[DYTF:.+]] = tensor.collapse_shape %[[DYT]] {{\[}}[0], [1], [2, 3]] : tensor<2x2x2x5xf32> into tensor<2x2x10xf32>
// CHECK: %[[DW:.+]] = linalg.batch_matmul_transpose_b ins(%[[DYTF]], %[[COLS]] : {{.+}}) outs(%{{.+}} : tensor<2x2x9xf32>)
// CHECK: %[[DWF:.+]] = tensor.collapse_shape %[[DW]] {{\[}}[0, 1], [2]] : tensor<2x2x9xf32> into tensor<4x9xf32>
// CHECK: tensor.expand_shape %[[DWF]] {{\[}}[0], [1, 2]] {{.+}} into tensor<4x3x3xf32>
func.func @backward_weight(%x: tensor<2x6x9xf32>, %dy: tensor<2x4x5xf32>) -> tensor<4x3x3xf32> {
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x6x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
  return %dw : tensor<4x3x3xf32>
}

// -----

// Input gradient: dcol = W^T dyT, then col2im as a gather: each dx element
// sums its taps in an scf.for, reading dcol at o = (i + 1 - k) / 2 where
// that divides exactly and lies in [0, 5).
// CHECK-LABEL: func.func @backward_input
// CHECK: %[[DCOL:.+]] = linalg.batch_matmul_transpose_a ins(%{{.+}}, %{{.+}} : tensor<2x2x9xf32>, tensor<2x2x10xf32>) outs(%{{.+}} : tensor<2x9x10xf32>)
// CHECK: %[[DS:.+]] = tensor.expand_shape %[[DCOL]] {{\[}}[0], [1, 2], [3, 4]] {{.+}} into tensor<2x3x3x2x5xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%{{.+}} : tensor<2x2x3x9xf32>)
// CHECK: scf.for %[[K:.+]] = %c0 to %c3
// CHECK: arith.remsi
// CHECK: arith.divsi
// CHECK: %[[OK:.+]] = arith.andi
// CHECK: %[[O:.+]] = arith.select %[[OK]]
// CHECK: tensor.extract %[[DS]][%{{.+}}, %{{.+}}, %[[K]], %{{.+}}, %[[O]]]
// CHECK: tensor.collapse_shape {{.+}} into tensor<2x6x9xf32>
func.func @backward_input(%dy: tensor<2x4x5xf32>, %w: tensor<4x3x3xf32>) -> tensor<2x6x9xf32> {
  %dx = nn.conv_backward_input %dy, %w {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x6x9xf32>
  return %dx : tensor<2x6x9xf32>
}

// -----

// Depthwise (one input channel per group): the direct loops, no matmul.
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: matmul
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-NOT: matmul
func.func @depthwise(%x: tensor<1x3x5x5xf32>, %w: tensor<3x1x3x3xf32>) -> tensor<1x3x3x3xf32> {
  %y = nn.conv %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 3 : i64} : (tensor<1x3x5x5xf32>, tensor<3x1x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}
