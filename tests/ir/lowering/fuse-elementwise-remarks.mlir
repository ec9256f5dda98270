// RUN: kiln-opt %s --kiln-fuse-elementwise=remarks=true --verify-diagnostics --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-fuse-elementwise --split-input-file 2>&1 | FileCheck %s --check-prefix=QUIET

// kiln-fuse-elementwise=remarks: each decision is a remark at the op's
// location. A producer with one user is fused into it; one with two users
// is not (fusing would compute it twice), nor one with a costly op that its
// user reads broadcast (fusing would compute it once per element of the
// user, not once per value); the function says how many.
// Without the option nothing is reported.
// QUIET-NOT: remark

#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @chain
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:           arith.addf
// CHECK-NOT:     linalg.generic
func.func @chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  // expected-remark@-1 {{fusion: @chain: 1 producers fused into their user, 0 producer-user pairs left unfused (producer with several users, or costly and broadcast)}}
  %e = tensor.empty() : tensor<16xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<16xf32>
  // expected-remark@+1 {{fusion: linalg.generic (math.exp) fused into linalg.generic (arith.addf) (one loop nest, no temporary)}}
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.addf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<16xf32>
  return %b : tensor<16xf32>
}

// -----

#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-3: linalg.generic
func.func @shared(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  // expected-remark@-1 {{fusion: @shared: 0 producers fused into their user, 2 producer-user pairs left unfused (producer with several users, or costly and broadcast)}}
  %e = tensor.empty() : tensor<16xf32>
  // expected-remark@+2 {{fusion: linalg.generic (math.exp) not fused into linalg.generic (arith.addf): it has 2 users, and fusing would compute it once per user}}
  // expected-remark@+1 {{fusion: linalg.generic (math.exp) not fused into linalg.generic (arith.mulf): it has 2 users, and fusing would compute it once per user}}
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<16xf32>
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.addf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<16xf32>
  %c = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.mulf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<16xf32>
  return %b, %c : tensor<16xf32>, tensor<16xf32>
}

// -----

// A row's log read for every column: fusing would take the log C times per
// row, so it stays a loop of its own.
#row = affine_map<(d0, d1) -> (d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#v = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @broadcast
// CHECK:         linalg.generic
// CHECK:           math.log
// CHECK:         linalg.generic
// CHECK-NOT:       math.log
// CHECK:           arith.subf
func.func @broadcast(%s: tensor<4xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-remark@-1 {{fusion: @broadcast: 0 producers fused into their user, 1 producer-user pairs left unfused (producer with several users, or costly and broadcast)}}
  %e = tensor.empty() : tensor<4xf32>
  // expected-remark@+1 {{fusion: linalg.generic (math.log) not fused into linalg.generic (arith.subf): the user reads each of its values for several elements, and fusing would compute its math.log once per element}}
  %l = linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
      ins(%s : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.log %in : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %l : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
