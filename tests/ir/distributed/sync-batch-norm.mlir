// RUN: kiln-opt %s --split-input-file | kiln-opt --split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: kiln-opt %s --split-input-file --nn-lower-to-linalg | FileCheck %s

// A synchronised batch norm (SyncBatchNorm): the 4 channel sums and the
// element count (6, the per-process N * L) in one message summed over the
// group, the mean from them, then the 4 squared-deviation sums in a second.
// ROUND-LABEL: func.func @forward
// ROUND: nn.batch_norm %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64, sync}
// CHECK-LABEL: func.func @forward
// CHECK: %[[N:.+]] = arith.constant dense<6.000000e+00> : tensor<1xf32>
// CHECK: tensor.insert_slice %[[N]] into %{{.+}}[4] [1] [1] : tensor<1xf32> into tensor<5xf32>
// CHECK: %[[SUMS:.+]] = nn.library_call "kiln_all_reduce_sum" [5]
// CHECK: %[[SUM:.+]] = tensor.extract_slice %[[SUMS]][0] [4] [1]
// CHECK: %[[COUNT:.+]] = tensor.extract_slice %[[SUMS]][4] [1] [1]
// CHECK: linalg.generic {{.+}} ins(%[[SUM]], %[[COUNT]] : tensor<4xf32>, tensor<1xf32>)
// CHECK: arith.divf
// CHECK: nn.library_call "kiln_all_reduce_sum" [4]
func.func @forward(%x: tensor<2x4x3xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64, sync} : (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y, %m, %v : tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Its backward: sum_dy, dot and the count in one message [4 + 4 + 1];
// grad_weight and grad_bias stay the local sums.
// ROUND-LABEL: func.func @backward
// ROUND: nn.batch_norm_backward {{.+}} {eps = 1.000000e-05 : f64, sync}
// CHECK-LABEL: func.func @backward
// CHECK: %[[ALL:.+]] = nn.library_call "kiln_all_reduce_sum" [9]
// CHECK-COUNT-3: tensor.extract_slice %[[ALL]]
func.func @backward(%dy: tensor<2x4x3xf32>, %x: tensor<2x4x3xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %w: tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %dx, %dw, %db = nn.batch_norm_backward %dy, %x, %m, %v, %w {eps = 1.0e-05 : f64, sync} : (tensor<2x4x3xf32>, tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %dx, %dw, %db : tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Without sync: no collective.
// CHECK-LABEL: func.func @local
// CHECK-NOT: nn.library_call
func.func @local(%x: tensor<2x4x3xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %y, %m, %v = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y, %m, %v : tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// The group's size: the runtime writes it into a [1] tensor.
// ROUND-LABEL: func.func @world
// ROUND: nn.world_size : tensor<f32>
// CHECK-LABEL: func.func @world
// CHECK: %[[W:.+]] = nn.library_call "kiln_world_size" [1] outs(%{{.+}} : tensor<1xf32>)
// CHECK: tensor.collapse_shape %[[W]] [] : tensor<1xf32> into tensor<f32>
func.func @world() -> tensor<f32> {
  %n = nn.world_size : tensor<f32>
  return %n : tensor<f32>
}
