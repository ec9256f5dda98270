// RUN: kiln-opt %s --nn-lower-to-linalg --canonicalize --split-input-file | FileCheck %s

// nn.batch_norm on [2, 3, 4, 8]: S = 32 spatial positions per (n, c), a
// multiple of 16, so each channel keeps 16 partial sums: loops
// (n, c, j, l) over the [2, 3, 2, 16] view, the lane loop innermost and
// parallel; the lanes are added afterwards. Then the mean (/ 64), the
// squared deviations the same way, the per-channel coefficients with
// 1 / sqrt(var + eps) in f64, and one elementwise pass x * a[c] + b[c].
// CHECK-DAG: #[[X4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[LANES:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[CH4:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-DAG: #[[PERCHANNEL:.+]] = affine_map<(d0, d1, d2) -> (0, d1, 0)>
// CHECK-LABEL: func.func @batch_norm_lanes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4x8xf32>, %[[W:.+]]: tensor<3xf32>, %[[B:.+]]: tensor<3xf32>)
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG: %[[EPS:.+]] = arith.constant 1.000000e-05 : f64
// CHECK-DAG: %[[N:.+]] = arith.constant 6.400000e+01 : f32
// CHECK: %[[XS:.+]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]] : tensor<2x3x4x8xf32> into tensor<2x3x32xf32>
// CHECK: %[[XL:.+]] = tensor.expand_shape %{{.+}} output_shape [2, 3, 2, 16] : tensor<192xf32> into tensor<2x3x2x16xf32>
// CHECK: %[[PARTIAL:.+]] = linalg.generic {indexing_maps = [#[[X4]], #[[LANES]]], iterator_types = ["reduction", "parallel", "reduction", "parallel"]} ins(%[[XL]] : tensor<2x3x2x16xf32>) outs(%{{.+}} : tensor<3x16xf32>)
// CHECK: arith.addf
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[PARTIAL]] : tensor<3x16xf32>) outs(%{{.+}} : tensor<3xf32>)
// CHECK: %[[MEAN:.+]] = linalg.generic {{.+}} ins(%[[SUM]] : tensor<3xf32>)
// CHECK: arith.divf %{{.+}}, %[[N]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[X4]], #[[CH4]], #[[LANES]]], iterator_types = ["reduction", "parallel", "reduction", "parallel"]} ins(%{{.+}}, %[[MEAN]] : tensor<2x3x2x16xf32>, tensor<3xf32>) outs(%{{.+}} : tensor<3x16xf32>)
// CHECK: %[[D:.+]] = arith.subf
// CHECK: %[[D2:.+]] = arith.mulf %[[D]], %[[D]] : f32
// CHECK: arith.addf %{{.+}}, %[[D2]] : f32
// CHECK: %[[SQ:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]}
// CHECK: %[[K:.+]]:3 = linalg.generic {{.+}} ins(%[[SQ]], %[[MEAN]], %[[W]], %[[B]] : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: %[[VAR:.+]] = arith.divf %{{.+}}, %[[N]] : f32
// CHECK: %[[WIDE:.+]] = arith.extf %[[VAR]] : f32 to f64
// CHECK: %[[SHIFTED:.+]] = arith.addf %[[WIDE]], %[[EPS]] : f64
// CHECK: %[[ROOT:.+]] = math.sqrt %[[SHIFTED]] : f64
// CHECK: %[[INV:.+]] = arith.divf %[[ONE]], %[[ROOT]] : f64
// CHECK: %[[INV32:.+]] = arith.truncf %[[INV]] : f64 to f32
// CHECK: %[[SCALE:.+]] = arith.mulf %[[INV32]], %{{.+}} : f32
// CHECK: %[[MS:.+]] = arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK: %[[SHIFT:.+]] = arith.subf %{{.+}}, %[[MS]] : f32
// CHECK: linalg.yield %[[VAR]], %[[SCALE]], %[[SHIFT]]
// CHECK: %[[A:.+]] = tensor.expand_shape %[[K]]#1 {{.+}} into tensor<1x3x1xf32>
// CHECK: %[[C:.+]] = tensor.expand_shape %[[K]]#2 {{.+}} into tensor<1x3x1xf32>
// CHECK: %[[Y:.+]] = linalg.generic {{.+}}#[[PERCHANNEL]], #[[PERCHANNEL]]{{.+}} ins(%[[XS]], %[[A]], %[[C]] : tensor<2x3x32xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>)
// CHECK: %[[AX:.+]] = arith.mulf
// CHECK: arith.addf %[[AX]], %{{.+}} : f32
// CHECK: %[[YOUT:.+]] = tensor.expand_shape %[[Y]] {{.+}} into tensor<2x3x4x8xf32>
// CHECK: return %[[YOUT]], %[[MEAN]], %[[K]]#0
func.func @batch_norm_lanes(%x: tensor<2x3x4x8xf32>, %w: tensor<3xf32>, %b: tensor<3xf32>) -> (tensor<2x3x4x8xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<2x3x4x8xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x8xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %m, %v : tensor<2x3x4x8xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// [N, C] (BatchNorm1d): S = 1, not a lane multiple: loops (n, c, s) over
// the [5, 3, 1] view, one running sum per channel.
// CHECK-DAG: #[[X3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[CH3:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @batch_norm_rows
// CHECK: %[[XV:.+]] = tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [5, 3, 1] : tensor<5x3xf32> into tensor<5x3x1xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X3]], #[[CH3]]], iterator_types = ["reduction", "parallel", "reduction"]} ins(%[[XV]] : tensor<5x3x1xf32>) outs(%{{.+}} : tensor<3xf32>)
// CHECK-NOT: tensor<3x16xf32>
// CHECK: tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<5x3x1xf32> into tensor<5x3xf32>
func.func @batch_norm_rows(%x: tensor<5x3xf32>, %w: tensor<3xf32>, %b: tensor<3xf32>) -> (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-03 : f64} : (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %m, %v : tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// The adjoint: one reduction generic with two sums per channel (sum of dy,
// sum of dy * (x - mean)), the per-channel coefficients (n = 10), one
// elementwise pass (dy - sum_dy / n - (x - mean) * proj) * invstd * w.
// CHECK-DAG: #[[X3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[CH3:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[PERCHANNEL:.+]] = affine_map<(d0, d1, d2) -> (0, d1, 0)>
// CHECK-LABEL: func.func @batch_norm_backward
// CHECK-SAME: (%[[DY:.+]]: tensor<2x3x5xf32>, %[[X:.+]]: tensor<2x3x5xf32>, %[[M:.+]]: tensor<3xf32>, %[[V:.+]]: tensor<3xf32>, %[[W:.+]]: tensor<3xf32>)
// CHECK-DAG: %[[N:.+]] = arith.constant 1.000000e+01 : f32
// CHECK: %[[SUMS:.+]]:2 = linalg.generic {indexing_maps = [#[[X3]], #[[X3]], #[[CH3]], #[[CH3]], #[[CH3]]], iterator_types = ["reduction", "parallel", "reduction"]} ins(%[[DY]], %[[X]], %[[M]] : tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<3xf32>)
// CHECK: %[[CENTERED:.+]] = arith.subf
// CHECK: %[[SDY:.+]] = arith.addf
// CHECK: %[[PROD:.+]] = arith.mulf %{{.+}}, %[[CENTERED]] : f32
// CHECK: %[[DOT:.+]] = arith.addf %{{.+}}, %[[PROD]] : f32
// CHECK: linalg.yield %[[SDY]], %[[DOT]]
// CHECK: %[[K:.+]]:4 = linalg.generic {{.+}} ins(%[[SUMS]]#0, %[[SUMS]]#1, %[[V]], %[[W]] : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: %[[INV:.+]] = arith.truncf %{{.+}} : f64 to f32
// CHECK: %[[DW:.+]] = arith.mulf %{{.+}}, %[[INV]] : f32
// CHECK: %[[SCALE:.+]] = arith.mulf %[[INV]], %{{.+}} : f32
// CHECK: %[[SHIFT:.+]] = arith.divf %{{.+}}, %[[N]] : f32
// CHECK: %[[DWI:.+]] = arith.mulf %[[DW]], %[[INV]] : f32
// CHECK: %[[PROJ:.+]] = arith.divf %[[DWI]], %[[N]] : f32
// CHECK: linalg.yield %[[DW]], %[[SCALE]], %[[SHIFT]], %[[PROJ]]
// CHECK: %[[DX:.+]] = linalg.generic {{.+}}#[[PERCHANNEL]], #[[PERCHANNEL]], #[[PERCHANNEL]], #[[PERCHANNEL]]{{.+}} ins(%[[DY]], %[[X]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>)
// CHECK: return %[[DX]], %[[K]]#0, %[[SUMS]]#0
func.func @batch_norm_backward(%dy: tensor<2x3x5xf32>, %x: tensor<2x3x5xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %w: tensor<3xf32>) -> (tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>) {
  %dx, %dw, %db = nn.batch_norm_backward %dy, %x, %m, %v, %w {eps = 1.0e-05 : f64} : (tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>)
  return %dx, %dw, %db : tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>
}
