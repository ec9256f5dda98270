// RUN: kiln-opt %s --kiln-cpu-tile-and-vectorize=remarks=true --verify-diagnostics | FileCheck %s

// kiln-cpu-tile-and-vectorize=remarks: a generic that stays sequential says
// why; one that is threaded says nothing. 64 x 128 = 8192 iterations make
// two row blocks of 32 x 128 (>= 4096 each); 4 x 16 = 64 make none.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @threaded
// CHECK:         scf.forall
func.func @threaded(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e = tensor.empty() : tensor<64x128xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<64x128xf32>
  return %a : tensor<64x128xf32>
}

// CHECK-LABEL: func.func @small
// CHECK-NOT:     scf.forall
func.func @small(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-remark@+1 {{threads: linalg.generic [4 x 16] (math.exp) stays sequential: 64 iterations give no two equal blocks of loop 0 with at least 4096 each (a task must outweigh waking a pool thread)}}
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}
