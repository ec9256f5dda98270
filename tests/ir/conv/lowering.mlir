// RUN: kiln-opt %s --nn-lower-to-linalg=conv=loops --split-input-file | FileCheck %s

// The direct lowering (passes/LowerConv.cpp): what convolutions over more
// than 3 spatial dimensions take; the others call the runtime
// (lowering-library.mlir) unless conv=loops.

// Forward: the input zero-padded by a gather generic (rows 1 before and 2
// after, columns 1 after), channels split into (group, member), then one
// generic over the output [n, g, f, oh, ow] reducing over (c, kh, kw),
// accumulating onto the broadcast bias.
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 * 2 + d6 * 2, d4 + d7)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[Y:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[IN:.+]]: tensor<2x4x9x7xf32>, %[[WT:.+]]: tensor<6x2x3x2xf32>, %[[B:.+]]: tensor<6xf32>)
// CHECK: %[[PAD:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<2x4x12x8xf32>)
// CHECK: tensor.extract %[[IN]]
// CHECK: %[[XG:.+]] = tensor.expand_shape %[[PAD]] {{\[}}[0], [1, 2], [3], [4]] {{.+}} into tensor<2x2x2x12x8xf32>
// CHECK: %[[WG:.+]] = tensor.expand_shape %[[WT]] {{\[}}[0, 1], [2], [3], [4]] {{.+}} into tensor<2x3x2x3x2xf32>
// CHECK: %[[BG:.+]] = tensor.expand_shape %[[B]] {{\[}}[0, 1]] {{.+}} into tensor<2x3xf32>
// CHECK: %[[ACC:.+]] = linalg.broadcast ins(%[[BG]] : tensor<2x3xf32>) outs(%{{.+}} : tensor<2x2x3x4x7xf32>) dimensions = [0, 3, 4]
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%[[XG]], %[[WG]] : {{.+}}) outs(%[[ACC]] : tensor<2x2x3x4x7xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %[[R]] {{\[}}[0], [1, 2], [3], [4]] : tensor<2x2x3x4x7xf32> into tensor<2x6x4x7xf32>
// CHECK-NOT: nn.
func.func @conv(%x: tensor<2x4x9x7xf32>, %w: tensor<6x2x3x2xf32>, %b: tensor<6xf32>) -> tensor<2x6x4x7xf32> {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 1>, padding = array<i64: 1, 0, 2, 1>, dilation = array<i64: 2, 1>, groups = 2 : i64} : (tensor<2x4x9x7xf32>, tensor<6x2x3x2xf32>, tensor<6xf32>) -> tensor<2x6x4x7xf32>
  return %y : tensor<2x6x4x7xf32>
}

// -----

// No padding, no bias: the input is read as it is, the accumulator starts
// at zero.
// CHECK-LABEL: func.func @conv_valid
// CHECK-SAME: (%[[IN:.+]]: tensor<1x4x5xf32>
// CHECK-NOT: tensor.extract
// CHECK: %[[XG:.+]] = tensor.expand_shape %[[IN]]
// CHECK: linalg.fill
// CHECK: linalg.generic {{.+}} ins(%[[XG]], %{{.+}} : tensor<1x2x2x5xf32>, tensor<2x2x2x2xf32>) outs(%{{.+}} : tensor<1x2x2x4xf32>)
func.func @conv_valid(%x: tensor<1x4x5xf32>, %w: tensor<4x2x2xf32>) -> tensor<1x4x4xf32> {
  %y = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<1x4x5xf32>, tensor<4x2x2xf32>) -> tensor<1x4x4xf32>
  return %y : tensor<1x4x4xf32>
}

// -----

// Input gradient (groups = 2): a generic over dx [n, g, c, i] reducing over (f, k) that
// reads the weight through its map and dy at o = (i + 1 - k) / 2, masked
// where the division is inexact or o is outside [0, 5).
// CHECK-DAG: #[[WM:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d4, d2, d5)>
// CHECK-LABEL: func.func @backward_input
// CHECK-SAME: (%[[DY:.+]]: tensor<2x4x5xf32>, %[[WT:.+]]: tensor<4x3x3xf32>)
// CHECK: %[[DYG:.+]] = tensor.expand_shape %[[DY]] {{.+}} into tensor<2x2x2x5xf32>
// CHECK: linalg.generic {indexing_maps = [#[[WM]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.+}} : tensor<2x2x3x3xf32>) outs(%{{.+}} : tensor<2x2x3x9xf32>)
// CHECK: arith.remsi
// CHECK: arith.divsi
// CHECK: %[[OK:.+]] = arith.andi
// CHECK: %[[O:.+]] = arith.select %[[OK]]
// CHECK: tensor.extract %[[DYG]][%{{.+}}, %{{.+}}, %{{.+}}, %[[O]]] : tensor<2x2x2x5xf32>
// CHECK: arith.select %[[OK]]
// CHECK: tensor.collapse_shape {{.+}} into tensor<2x6x9xf32>
func.func @backward_input(%dy: tensor<2x4x5xf32>, %w: tensor<4x3x3xf32>) -> tensor<2x6x9xf32> {
  %dx = nn.conv_backward_input %dy, %w {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x6x9xf32>
  return %dx : tensor<2x6x9xf32>
}

// -----

// Weight gradient (groups = 2): a generic over dw [g, f, c, k] reducing over (n, o),
// reading the padded input at o * 2 + k.
// CHECK-DAG: #[[DYM:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d0, d1, d5)>
// CHECK-DAG: #[[XM:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d0, d2, d5 * 2 + d3)>
// CHECK-DAG: #[[DWM:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @backward_weight
// CHECK: linalg.generic {{.+}} outs(%{{.+}} : tensor<2x6x11xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[DYM]], #[[XM]], #[[DWM]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<2x2x2x5xf32>, tensor<2x2x3x11xf32>) outs(%{{.+}} : tensor<2x2x3x3xf32>)
// CHECK: tensor.collapse_shape {{.+}} into tensor<4x3x3xf32>
func.func @backward_weight(%x: tensor<2x6x9xf32>, %dy: tensor<2x4x5xf32>) -> tensor<4x3x3xf32> {
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<2x6x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
  return %dw : tensor<4x3x3xf32>
}
