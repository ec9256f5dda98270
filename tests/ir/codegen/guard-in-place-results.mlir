// RUN: kiln-opt %s --kiln-guard-in-place-results --split-input-file --verify-diagnostics | FileCheck %s

// A value check and the gradient norm guard the in-place results: each
// becomes "all checks passed ? next : old" (nn.where for floats,
// arith.select for the i64 step); the check result itself is unchanged.
// CHECK-LABEL: func.func @guarded
// CHECK-SAME:    (%[[W:.+]]: tensor<4xf32>, %[[S:.+]]: tensor<i64>, %[[NW:.+]]: tensor<4xf32>, %[[NS:.+]]: tensor<i64>, %[[C:.+]]: tensor<2xf32>, %[[N:.+]]: tensor<f32>)
// CHECK:         %[[IDX:.+]] = tensor.extract %[[C]][%{{.+}}] : tensor<2xf32>
// CHECK:         %[[OK1:.+]] = arith.cmpf olt, %[[IDX]], %{{.+}} : f32
// CHECK:         %[[NORM:.+]] = tensor.extract %[[N]][] : tensor<f32>
// CHECK:         %[[D:.+]] = arith.subf %[[NORM]], %[[NORM]] : f32
// CHECK:         %[[OK2:.+]] = arith.cmpf oeq, %[[D]], %{{.+}} : f32
// CHECK:         %[[OK:.+]] = arith.andi %[[OK1]], %[[OK2]] : i1
// CHECK:         %[[OKT:.+]] = tensor.from_elements %[[OK]] : tensor<i1>
// CHECK:         %[[GW:.+]] = nn.where %[[OKT]], %[[NW]], %[[W]]
// CHECK:         %[[GS:.+]] = arith.select %[[OKT]], %[[NS]], %[[S]] : tensor<i1>, tensor<i64>
// CHECK:         return %[[GW]], %[[GS]], %[[C]], %[[N]]
func.func @guarded(%w: tensor<4xf32>, %s: tensor<i64>, %nw: tensor<4xf32>, %ns: tensor<i64>,
                   %c: tensor<2xf32>, %n: tensor<f32>)
    -> (tensor<4xf32> {kiln.in_place = 0 : i64}, tensor<i64> {kiln.in_place = 1 : i64},
        tensor<2xf32> {kiln.guard = "check"}, tensor<f32> {kiln.guard = "norm"}) {
  return %nw, %ns, %c, %n : tensor<4xf32>, tensor<i64>, tensor<2xf32>, tensor<f32>
}

// -----

// Without a guard nothing changes.
// CHECK-LABEL: func.func @unguarded
// CHECK-NEXT:    return %arg1
func.func @unguarded(%w: tensor<4xf32>, %nw: tensor<4xf32>) -> (tensor<4xf32> {kiln.in_place = 0 : i64}) {
  return %nw : tensor<4xf32>
}

// -----

// expected-error @+1 {{result 1 is marked kiln.guard but is no check (tensor<2xf32>, "check") or norm (tensor<f32>, "norm")}}
func.func @bad_guard(%w: tensor<4xf32>, %nw: tensor<4xf32>, %c: tensor<3xf32>)
    -> (tensor<4xf32> {kiln.in_place = 0 : i64}, tensor<3xf32> {kiln.guard = "check"}) {
  return %nw, %c : tensor<4xf32>, tensor<3xf32>
}
