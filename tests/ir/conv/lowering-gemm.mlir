// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --nn-lower-to-linalg --kiln-fuse-elementwise --split-input-file | FileCheck %s --check-prefix=FUSED

// groups == 1: im2col + GEMM (passes/LowerConvGemm.cpp), pixel-major.
// Forward: the zero-padded input (rows 1 before, 2 after; columns 1 after)
// gathered into cols [n, oh, ow, c, kh, kw] at (oh * 2 + kh * 2, ow + kw),
// cols [56, 18] x W^T [18, 4], then y[n, f, oh, ow] = Y[n, oh, ow, f] + b[f].
// CHECK-DAG: #[[COLS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4 * 2, d2 + d5)>
// CHECK-DAG: #[[NCHW:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[IN:.+]]: tensor<2x3x9x7xf32>, %[[WT:.+]]: tensor<4x3x3x2xf32>, %[[B:.+]]: tensor<4xf32>)
// CHECK: %[[PAD:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3x12x8xf32>)
// CHECK: %[[C:.+]] = linalg.generic {indexing_maps = [#[[COLS]], #{{.+}}], {{.+}} ins(%[[PAD]] : tensor<2x3x12x8xf32>) outs(%{{.+}} : tensor<2x4x7x3x3x2xf32>)
// CHECK: %[[CM:.+]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x4x7x3x3x2xf32> into tensor<56x18xf32>
// CHECK: %[[WM:.+]] = tensor.collapse_shape %[[WT]] {{\[}}[0], [1, 2, 3]] : tensor<4x3x3x2xf32> into tensor<4x18xf32>
// CHECK: %[[Z:.+]] = linalg.fill
// CHECK: %[[Y:.+]] = linalg.matmul_transpose_b ins(%[[CM]], %[[WM]] : tensor<56x18xf32>, tensor<4x18xf32>) outs(%[[Z]] : tensor<56x4xf32>)
// CHECK: %[[YE:.+]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1, 2], [3]] {{.+}} into tensor<2x4x7x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[NCHW]], #[[BIAS]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[YE]], %[[B]] : tensor<2x4x7x4xf32>, tensor<4xf32>) outs(%{{.+}} : tensor<2x4x4x7xf32>)
// CHECK: arith.addf
// CHECK-NOT: nn.
// After elementwise fusion the padding is read inside the im2col gather,
// and the matmul keeps its form (no reshape folded into it).
// FUSED-LABEL: func.func @conv
// FUSED: linalg.generic {{.+}} outs(%{{.+}} : tensor<2x4x7x3x3x2xf32>)
// FUSED: tensor.extract
// FUSED: linalg.matmul_transpose_b ins(%{{.+}}, %{{.+}} : tensor<56x18xf32>, tensor<4x18xf32>) outs(%{{.+}} : tensor<56x4xf32>)
// FUSED: tensor.expand_shape {{.+}} into tensor<2x4x7x4xf32>
func.func @conv(%x: tensor<2x3x9x7xf32>, %w: tensor<4x3x3x2xf32>, %b: tensor<4xf32>) -> tensor<2x4x4x7xf32> {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 1>, padding = array<i64: 1, 0, 2, 1>, dilation = array<i64: 2, 1>} : (tensor<2x3x9x7xf32>, tensor<4x3x3x2xf32>, tensor<4xf32>) -> tensor<2x4x4x7xf32>
  return %y : tensor<2x4x4x7xf32>
}

// -----

// Input gradient: dy as [n, o, f] = [10, 4], times W [4, 9] into column
// space [n, o, c, k], then col2im: dx[n, c, i] sums the 3 kernel offsets k
// at o = (i + 1 - k) / 2, each masked where the division is inexact or o
// is outside [0, 5).
// The col2im loops are (n, i, c), c innermost, writing dx through (n, c, i).
// CHECK-DAG: #[[NOF:.+]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-LABEL: func.func @backward_input
// CHECK-SAME: (%[[DY:.+]]: tensor<2x4x5xf32>, %[[WT:.+]]: tensor<4x3x3xf32>)
// CHECK: %[[DYP:.+]] = linalg.generic {indexing_maps = [#[[NOF]], #{{.+}}], {{.+}} ins(%[[DY]] : tensor<2x4x5xf32>) outs(%{{.+}} : tensor<2x5x4xf32>)
// CHECK: %[[DYM:.+]] = tensor.collapse_shape %[[DYP]] {{\[}}[0, 1], [2]] : tensor<2x5x4xf32> into tensor<10x4xf32>
// CHECK: %[[WM:.+]] = tensor.collapse_shape %[[WT]] {{\[}}[0], [1, 2]] : tensor<4x3x3xf32> into tensor<4x9xf32>
// CHECK: %[[DC:.+]] = linalg.matmul ins(%[[DYM]], %[[WM]] : tensor<10x4xf32>, tensor<4x9xf32>) outs(%{{.+}} : tensor<10x9xf32>)
// CHECK: %[[DCE:.+]] = tensor.expand_shape %[[DC]] {{\[}}[0, 1], [2, 3]] {{.+}} into tensor<2x5x3x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[NOF]]], iterator_types = ["parallel", "parallel", "parallel"]} outs(%{{.+}} : tensor<2x3x9xf32>)
// CHECK: arith.remsi
// CHECK: arith.divsi
// CHECK: %[[OK0:.+]] = arith.andi
// CHECK: %[[O0:.+]] = arith.select %[[OK0]]
// CHECK: tensor.extract %[[DCE]][%{{.+}}, %[[O0]], %{{.+}}, %c0{{.*}}] : tensor<2x5x3x3xf32>
// CHECK: tensor.extract %[[DCE]][%{{.+}}, %{{.+}}, %{{.+}}, %c1{{.*}}] : tensor<2x5x3x3xf32>
// CHECK: tensor.extract %[[DCE]][%{{.+}}, %{{.+}}, %{{.+}}, %c2{{.*}}] : tensor<2x5x3x3xf32>
// CHECK-NOT: tensor.extract
// CHECK: linalg.yield
func.func @backward_input(%dy: tensor<2x4x5xf32>, %w: tensor<4x3x3xf32>) -> tensor<2x3x9xf32> {
  %dx = nn.conv_backward_input %dy, %w {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x3x9xf32>
  return %dx : tensor<2x3x9xf32>
}

// -----

// Weight gradient: cols [n, o, c, k] = [10, 9] of the padded input read at
// o * 2 + k, dW = dy^T [4, 10] x cols [10, 9], expanded into [f, c, k].
// CHECK-DAG: #[[COLS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1 * 2 + d3)>
// CHECK-LABEL: func.func @backward_weight
// CHECK: %[[PAD:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3x11xf32>)
// CHECK: %[[C:.+]] = linalg.generic {indexing_maps = [#[[COLS]], #{{.+}}], {{.+}} ins(%[[PAD]] : tensor<2x3x11xf32>) outs(%{{.+}} : tensor<2x5x3x3xf32>)
// CHECK: %[[CM:.+]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1], [2, 3]] : tensor<2x5x3x3xf32> into tensor<10x9xf32>
// CHECK: %[[DYM:.+]] = tensor.collapse_shape %{{.+}} {{\[}}[0, 1], [2]] : tensor<2x5x4xf32> into tensor<10x4xf32>
// CHECK: %[[DW:.+]] = linalg.matmul_transpose_a ins(%[[DYM]], %[[CM]] : tensor<10x4xf32>, tensor<10x9xf32>) outs(%{{.+}} : tensor<4x9xf32>)
// CHECK: tensor.expand_shape %[[DW]] {{\[}}[0], [1, 2]] {{.+}} into tensor<4x3x3xf32>
func.func @backward_weight(%x: tensor<2x3x9xf32>, %dy: tensor<2x4x5xf32>) -> tensor<4x3x3xf32> {
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x3x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
  return %dw : tensor<4x3x3xf32>
}

// -----

// A 1x1 kernel: every reshape around the weight-gradient GEMM only adds unit
// dims ([4, 3] -> [4, 3, 1, 1]); it must still not be folded into the
// matmul (that made a 5-loop generic the CPU backend ran as scalar loops).
// FUSED-LABEL: func.func @backward_weight_1x1
// FUSED: %[[DW:.+]] = linalg.matmul_transpose_a ins(%{{.+}}, %{{.+}} : tensor<18x4xf32>, tensor<18x3xf32>) outs(%{{.+}} : tensor<4x3xf32>)
// FUSED: tensor.expand_shape %[[DW]] {{.+}} into tensor<4x3x1x1xf32>
// FUSED-NOT: linalg.generic {{.+}} "reduction"
func.func @backward_weight_1x1(%x: tensor<2x3x6x6xf32>, %dy: tensor<2x4x3x3xf32>) -> tensor<4x3x1x1xf32> {
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>} : (tensor<2x3x6x6xf32>, tensor<2x4x3x3xf32>) -> tensor<4x3x1x1xf32>
  return %dw : tensor<4x3x1x1xf32>
}
