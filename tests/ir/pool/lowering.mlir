// RUN: kiln-opt %s --nn-lower-to-linalg --canonicalize --split-input-file | FileCheck %s

// Adaptive sum pool, 7 -> 3: windows [0, 3), [2, 5), [4, 7). One generic
// over [n, c, o] reducing over a window operand of the longest window (3),
// loops in the order (n, c, k, o): the output position innermost;
// start = o * 7 / 3, end = (o * 7 + 9) / 3, positions past the end masked.
// CHECK-DAG: #[[WIN:.+]] = affine_map<(d0, d1, d2, d3) -> (d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @sum_pool_adaptive
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x7xf32>)
// CHECK: %[[W:.+]] = tensor.empty() : tensor<3xi1>
// CHECK: linalg.generic {indexing_maps = [#[[WIN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[W]] : tensor<3xi1>) outs(%{{.+}} : tensor<1x2x3xf32>)
// CHECK: %[[O:.+]] = linalg.index 3
// CHECK: %[[K:.+]] = linalg.index 2
// CHECK: %[[S:.+]] = arith.divui %{{.+}}, %{{.+}} : index
// CHECK: %[[E:.+]] = arith.divui %{{.+}}, %{{.+}} : index
// CHECK: %[[P:.+]] = arith.addi %[[S]], %[[K]]
// CHECK: %[[IN:.+]] = arith.cmpi slt, %[[P]], %[[E]]
// CHECK: %[[AT:.+]] = arith.select %[[IN]], %[[P]], %{{.+}} : index
// CHECK: %[[V:.+]] = tensor.extract %[[X]][%{{.+}}, %{{.+}}, %[[AT]]]
// CHECK: %[[SUM:.+]] = arith.addf %{{.+}}, %[[V]]
// CHECK: arith.select %[[IN]], %[[SUM]], %{{.+}} : f32
func.func @sum_pool_adaptive(%x: tensor<1x2x7xf32>) -> tensor<1x2x3xf32> {
  %y = nn.sum_pool %x {output_size = array<i64: 3>} : (tensor<1x2x7xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

// Its adjoint gathers: position i is in windows i * 3 / 7 ..
// (i * 3 + 9) / 7 - 1, at most 2 of them.
// CHECK-LABEL: func.func @sum_pool_backward_adaptive
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<2xi1>) outs(%{{.+}} : tensor<1x2x7xf32>)
// CHECK: arith.cmpi sle
// CHECK: tensor.extract %{{.+}} : tensor<1x2x3xf32>
func.func @sum_pool_backward_adaptive(%dy: tensor<1x2x3xf32>) -> tensor<1x2x7xf32> {
  %dx = nn.sum_pool_backward %dy {output_size = array<i64: 3>} : (tensor<1x2x3xf32>) -> tensor<1x2x7xf32>
  return %dx : tensor<1x2x7xf32>
}

// -----

// Max pool: values start at -inf, indices at -1; a position read replaces
// the maximum when it is greater, NaN, or the first one read; the index is
// the flat position in the (n, c) plane.
// pos = o * 2 - 1 + k * 2 (stride 2, padding 1, dilation 2), in [0, 9).
// CHECK-LABEL: func.func @max_pool
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[NONE:.+]] = arith.constant -1 : i64
// CHECK: %[[V0:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK: %[[I0:.+]] = linalg.fill ins(%[[NONE]] : i64) outs(%{{.+}} : tensor<2x3x4xi64>)
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<3xi1>) outs(%[[V0]], %[[I0]] : tensor<2x3x4xf32>, tensor<2x3x4xi64>)
// CHECK: ^bb0(%{{.+}}: i1, %[[ACC:.+]]: f32, %[[ACCI:.+]]: i64):
// CHECK: %[[V:.+]] = tensor.extract
// CHECK: %[[FLAT:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[GT:.+]] = arith.cmpf ogt, %[[V]], %[[ACC]]
// CHECK: %[[NAN:.+]] = arith.cmpf uno, %[[V]], %[[V]]
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[ACCI]], %[[NONE]]
// CHECK: %[[TAKE:.+]] = arith.andi
// CHECK: arith.select %[[TAKE]], %[[V]], %[[ACC]] : f32
// CHECK: arith.select %[[TAKE]], %[[FLAT]], %[[ACCI]] : i64
func.func @max_pool(%x: tensor<2x3x9xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi64>) {
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 3>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 2>, ceil_mode} : (tensor<2x3x9xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi64>)
  return %y, %i : tensor<2x3x4xf32>, tensor<2x3x4xi64>
}

// -----

// A 2 x 2 max pool of stride 2 without padding: loops (n, c, y, ky, kx, x),
// the last output dimension innermost; every window lies inside the input,
// so positions are read without bounds checks or clamping selects.
// CHECK-DAG: #[[WIN2:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
// CHECK-DAG: #[[OUT2:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-LABEL: func.func @max_pool_inside
// CHECK: linalg.generic {indexing_maps = [#[[WIN2]], #[[OUT2]], #[[OUT2]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK-NOT: arith.cmpi s
// CHECK: %[[V:.+]] = tensor.extract
// CHECK-NOT: arith.cmpi s
// CHECK: arith.cmpf ogt, %[[V]]
// CHECK-NOT: arith.cmpi s
// CHECK: linalg.yield
func.func @max_pool_inside(%x: tensor<2x3x8x6xf32>) -> (tensor<2x3x4x3xf32>, tensor<2x3x4x3xi64>) {
  %y, %i = nn.max_pool %x {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<2x3x8x6xf32>) -> (tensor<2x3x4x3xf32>, tensor<2x3x4x3xi64>)
  return %y, %i : tensor<2x3x4x3xf32>, tensor<2x3x4x3xi64>
}

// -----

// Max pool's adjoint gathers too: dx[i] sums dy[o] over the windows
// o = (i + 1 - 2 k) / 2 that contain i (exact division, o < 4) and whose
// index is i.
// CHECK-LABEL: func.func @max_pool_backward
// CHECK-SAME: (%[[DY:.+]]: tensor<2x3x4xf32>, %[[I:.+]]: tensor<2x3x4xi64>)
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<3xi1>) outs(%{{.+}} : tensor<2x3x9xf32>)
// CHECK: arith.remsi
// CHECK: %[[O:.+]] = arith.divsi
// CHECK: %[[ARG:.+]] = tensor.extract %[[I]]
// CHECK: %[[MINE:.+]] = arith.cmpi eq, %[[ARG]], %{{.+}} : i64
// CHECK: %[[G:.+]] = tensor.extract %[[DY]]
// CHECK: %[[SUM:.+]] = arith.addf %{{.+}}, %[[G]]
// CHECK: %[[BOTH:.+]] = arith.andi %{{.+}}, %[[MINE]]
// CHECK: arith.select %[[BOTH]], %[[SUM]], %{{.+}} : f32
func.func @max_pool_backward(%dy: tensor<2x3x4xf32>, %i: tensor<2x3x4xi64>) -> tensor<2x3x9xf32> {
  %dx = nn.max_pool_backward %dy, %i {kernel_size = array<i64: 3>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 2>, ceil_mode} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x9xf32>
  return %dx : tensor<2x3x9xf32>
}

// -----

// Max unpool scatters in order: one scf.for over the 1 * 2 * 2 values, an
// index inside the 4-element plane inserted into the zero tensor (a later
// value wins), one outside skipped.
// CHECK-LABEL: func.func @max_unpool
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x2xf32>, %[[I:.+]]: tensor<1x2x2xi64>)
// CHECK: %[[Z:.+]] = linalg.fill {{.+}} -> tensor<1x2x4xf32>
// CHECK: %[[R:.+]] = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[Z]]) -> (tensor<1x2x4xf32>)
// CHECK: %[[P:.+]] = tensor.extract %[[I]]
// CHECK: %[[V:.+]] = tensor.extract %[[X]]
// CHECK: %[[IN:.+]] = arith.andi
// CHECK: scf.if %[[IN]] -> (tensor<1x2x4xf32>)
// CHECK: %[[AT:.+]] = arith.index_cast %[[P]] : i64 to index
// CHECK: tensor.insert %[[V]] into %[[ACC]][%{{.+}}, %{{.+}}, %[[AT]]]
// CHECK: } else {
// CHECK: scf.yield %[[ACC]]
// CHECK: return %[[R]]
func.func @max_unpool(%x: tensor<1x2x2xf32>, %i: tensor<1x2x2xi64>) -> tensor<1x2x4xf32> {
  %y = nn.max_unpool %x, %i : (tensor<1x2x2xf32>, tensor<1x2x2xi64>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Its adjoint gathers dy at each index (0 outside the plane).
// CHECK-LABEL: func.func @max_unpool_backward
// CHECK-SAME: (%[[DY:.+]]: tensor<1x2x4xf32>, %[[I:.+]]: tensor<1x2x2xi64>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[I]] : tensor<1x2x2xi64>)
// CHECK: ^bb0(%[[P:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[G:.+]] = tensor.extract %[[DY]]
// CHECK: arith.select %{{.+}}, %[[G]], %{{.+}} : f32
func.func @max_unpool_backward(%dy: tensor<1x2x4xf32>, %i: tensor<1x2x2xi64>) -> tensor<1x2x2xf32> {
  %dx = nn.max_unpool_backward %dy, %i : (tensor<1x2x4xf32>, tensor<1x2x2xi64>) -> tensor<1x2x2xf32>
  return %dx : tensor<1x2x2xf32>
}

// -----

// Fractional max pool, 9x8 -> 5x4 with a 2x3 kernel: one generic over
// [n, c, oh, ow] reducing over the kernel; each window start is torch's
// interval rule in f32 from the plane's sample (sample 1 for the height,
// alpha = 7 / 4; sample 0 for the width, alpha = 5 / 3), the last window
// at in - k.
// CHECK-DAG: #[[WIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @fractional_max_pool
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x9x8xf32>, %[[U:.+]]: tensor<2x3x2xf32>)
// CHECK-DAG: %[[AH:.+]] = arith.constant 1.750000e+00 : f32
// CHECK-DAG: %[[AW:.+]] = arith.constant 1.66666663 : f32
// CHECK: linalg.generic {indexing_maps = [#[[WIN]], #[[OUT]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.+}} : tensor<2x3xi1>) outs(%{{.+}}, %{{.+}} : tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
// CHECK: %[[UH:.+]] = tensor.extract %[[U]][%{{.+}}, %{{.+}}, %c1]
// CHECK: %[[OF:.+]] = arith.sitofp
// CHECK: %[[SUM:.+]] = arith.addf %[[OF]], %[[UH]] : f32
// CHECK: arith.mulf %[[SUM]], %[[AH]] : f32
// CHECK: arith.fptosi
// CHECK: arith.mulf %[[UH]], %[[AH]] : f32
// CHECK: arith.fptosi
// CHECK: arith.subi
// CHECK: %[[UW:.+]] = tensor.extract %[[U]][%{{.+}}, %{{.+}}, %c0]
// CHECK: arith.mulf %[[UW]], %[[AW]] : f32
// CHECK: tensor.extract %[[X]]
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf uno
func.func @fractional_max_pool(%x: tensor<2x3x9x8xf32>, %u: tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) {
  %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 3>, output_size = array<i64: 5, 4>} : (tensor<2x3x9x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
  return %y, %i : tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>
}

// -----

// Its adjoint scatter-adds dy at the indices in (n, c, o) order, over
// [N, C, plane] views; an index outside the plane adds nothing.
// CHECK-LABEL: func.func @fractional_max_pool_backward
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0], [1], [2, 3]] : tensor<2x3x5x4xf32> into tensor<2x3x20xf32>
// CHECK: scf.for %{{.+}} = %c0 to %c120 step %c1 iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<2x3x72xf32>)
// CHECK: %[[P:.+]] = tensor.extract %{{.+}} : tensor<2x3x20xi64>
// CHECK: arith.cmpi sge, %[[P]]
// CHECK: arith.cmpi slt, %[[P]], %c72_i64
// CHECK: scf.if
// CHECK: %[[OLD:.+]] = tensor.extract %[[ACC]]
// CHECK: %[[NEW:.+]] = arith.addf %[[OLD]], %{{.+}} : f32
// CHECK: tensor.insert %[[NEW]] into %[[ACC]]
// CHECK: tensor.expand_shape %{{.+}} output_shape [2, 3, 9, 8]
func.func @fractional_max_pool_backward(%dy: tensor<2x3x5x4xf32>, %i: tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32> {
  %dx = nn.fractional_max_pool_backward %dy, %i : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32>
  return %dx : tensor<2x3x9x8xf32>
}
