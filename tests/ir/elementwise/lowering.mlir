// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s

// Unary ops: one generic each, the math op in the body.
// CHECK-LABEL: func.func @unary
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK-NOT: nn.
func.func @unary(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.erf %x : tensor<4x8xf32>
  %1 = nn.sigmoid %x : tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Broadcasting maximum reads the row vector with a broadcast map; compare
// produces i1; where selects.
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @select
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: arith.maximumf
// CHECK: tensor<4x8xi1>
// CHECK: arith.cmpf olt
// CHECK: arith.select
func.func @select(%x: tensor<4x8xf32>, %y: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.maximum %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %m = nn.compare lt, %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %1 = nn.where %m, %x, %0 : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// mean over dim 1 with keepdim: a reduction, a division by 8, then the unit
// dim re-inserted.
// CHECK-LABEL: func.func @mean_keepdim
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: arith.divf
// CHECK: tensor.expand_shape {{.+}} : tensor<4xf32> into tensor<4x1xf32>
func.func @mean_keepdim(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = nn.mean %x {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// permute [2, 0, 1]: the input is read through the inverse permutation.
// CHECK-DAG: #[[$IN:.+]] = affine_map<(d0, d1, d2) -> (d1, d2, d0)>
// CHECK-LABEL: func.func @permute
// CHECK: linalg.generic {indexing_maps = [#[[$IN]], #{{.+}}]
// CHECK-SAME: ins(%{{.+}} : tensor<2x3x4xf32>) outs(%{{.+}} : tensor<4x2x3xf32>)
func.func @permute(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = nn.permute %x {dims = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// pow: math.powf on the broadcast operands.
// CHECK-LABEL: func.func @pow
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<f32>)
// CHECK: math.powf
func.func @pow(%x: tensor<4x8xf32>, %e: tensor<f32>) -> tensor<4x8xf32> {
  %0 = nn.pow %x, %e : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
