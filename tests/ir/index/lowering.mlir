// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s

// gather: one parallel generic over the index's shape reading the input at
// the index in dim 1 (0 for an index outside [0, 10)).
// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>, %[[I:.+]]: tensor<4x3xi64>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} ins(%[[I]] : tensor<4x3xi64>)
// CHECK: ^bb0(%[[P:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[OK:.+]] = arith.andi
// CHECK: %[[AT:.+]] = arith.index_cast %{{.+}} : i64 to index
// CHECK: %[[R:.+]] = linalg.index 0 : index
// CHECK: %[[V:.+]] = tensor.extract %[[X]][%[[R]], %[[AT]]]
// CHECK: arith.select %[[OK]], %[[V]], %{{.+}} : f32
func.func @gather(%x: tensor<4x10xf32>, %i: tensor<4x3xi64>) -> tensor<4x3xf32> {
  %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<4x3xi64>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Its adjoint adds in the index's order: one scf.for over the 4 * 3
// positions carrying the zero-filled result, an index inside the dimension
// read-added-written, one outside skipped.
// CHECK-LABEL: func.func @gather_backward
// CHECK-SAME: (%[[DY:.+]]: tensor<4x3xf32>, %[[I:.+]]: tensor<4x3xi64>)
// CHECK: %[[Z:.+]] = linalg.fill {{.+}} -> tensor<4x10xf32>
// CHECK: %[[R:.+]] = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[Z]]) -> (tensor<4x10xf32>)
// CHECK: %[[P:.+]] = tensor.extract %[[I]]
// CHECK: %[[G:.+]] = tensor.extract %[[DY]]
// CHECK: %[[OK:.+]] = arith.andi
// CHECK: scf.if %[[OK]] -> (tensor<4x10xf32>)
// CHECK: %[[CUR:.+]] = tensor.extract %[[ACC]]
// CHECK: %[[SUM:.+]] = arith.addf %[[CUR]], %[[G]]
// CHECK: tensor.insert %[[SUM]] into %[[ACC]]
// CHECK: } else {
// CHECK: scf.yield %[[ACC]]
// CHECK: return %[[R]]
func.func @gather_backward(%dy: tensor<4x3xf32>, %i: tensor<4x3xi64>) -> tensor<4x10xf32> {
  %dx = nn.gather_backward %dy, %i {dim = 1 : i64} : (tensor<4x3xf32>, tensor<4x3xi64>) -> tensor<4x10xf32>
  return %dx : tensor<4x10xf32>
}

// -----

// Broadcasting indices keeps their element type.
// CHECK-LABEL: func.func @broadcast_indices
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<3x1xi64>) outs(%{{.+}} : tensor<3x5xi64>)
func.func @broadcast_indices(%i: tensor<3x1xi64>) -> tensor<3x5xi64> {
  %b = nn.broadcast_to %i : (tensor<3x1xi64>) -> tensor<3x5xi64>
  return %b : tensor<3x5xi64>
}

// -----

// argmax: the NaN-propagating maximum along dim 1, then the smallest index
// whose element equals it (or both are NaN), so the first maximum wins in
// any loop order.
// CHECK-LABEL: func.func @argmax
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x10xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<4x10xf32>, tensor<4xf32>) outs(%{{.+}} : tensor<4x10xi64>)
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpf uno
// CHECK: linalg.index 1 : index
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : i64
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x10xi64>) outs(%{{.+}} : tensor<4xi64>)
// CHECK: arith.minsi
func.func @argmax(%x: tensor<4x10xf32>) -> tensor<4xi64> {
  %i = nn.argmax %x {dim = 1 : i64} : (tensor<4x10xf32>) -> tensor<4xi64>
  return %i : tensor<4xi64>
}

// -----

// Without a dim: the flattened input, the index reshaped to keepdim's
// [1, 1].
// CHECK-LABEL: func.func @argmax_flat
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0, 1]] : tensor<4x10xf32> into tensor<40xf32>
// CHECK: tensor.expand_shape {{.+}} : tensor<1xi64> into tensor<1x1xi64>
func.func @argmax_flat(%x: tensor<4x10xf32>) -> tensor<1x1xi64> {
  %i = nn.argmax %x {keepdim} : (tensor<4x10xf32>) -> tensor<1x1xi64>
  return %i : tensor<1x1xi64>
}
