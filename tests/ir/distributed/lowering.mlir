// RUN: kiln-opt %s --split-input-file --nn-lower-to-linalg | FileCheck %s

// One bucket, one message: both gradients copied end to end into a flat
// [15] tensor, averaged by the runtime, then each a slice of the result,
// reshaped back.
// CHECK-LABEL: func.func @bucket
// CHECK-SAME: (%[[A:.+]]: tensor<4x3xf32>, %[[B:.+]]: tensor<3xf32>)
// CHECK: %[[FLAT:.+]] = tensor.empty() : tensor<15xf32>
// CHECK: %[[AF:.+]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1]] : tensor<4x3xf32> into tensor<12xf32>
// CHECK: %[[F1:.+]] = tensor.insert_slice %[[AF]] into %[[FLAT]][0] [12] [1]
// CHECK: %[[F2:.+]] = tensor.insert_slice %[[B]] into %[[F1]][12] [3] [1]
// CHECK: %[[AVG:.+]] = nn.library_call "kiln_all_reduce_mean" [15] ins(%[[F2]] : tensor<15xf32>)
// CHECK: %[[RA:.+]] = tensor.extract_slice %[[AVG]][0] [12] [1]
// CHECK: %[[RA2:.+]] = tensor.expand_shape %[[RA]] {{\[\[}}0, 1]] output_shape [4, 3]
// CHECK: %[[RB:.+]] = tensor.extract_slice %[[AVG]][12] [3] [1]
// CHECK: return %[[RA2]], %[[RB]]
func.func @bucket(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %r:2 = nn.all_reduce %a, %b : tensor<4x3xf32>, tensor<3xf32>
  return %r#0, %r#1 : tensor<4x3xf32>, tensor<3xf32>
}

// -----

// A bucket's start: the flat copy, then the runtime starts the average in
// its in-flight buffer; the wait completes that buffer in place and the
// tensors are its slices.
// CHECK-LABEL: func.func @start_wait
// CHECK: %[[FLAT:.+]] = tensor.insert_slice %{{.+}} into %{{.+}}[12] [3] [1]
// CHECK: %[[H:.+]] = nn.library_call "kiln_all_reduce_start" [15, 2] ins(%[[FLAT]] : tensor<15xf32>)
// CHECK: %[[DONE:.+]] = nn.library_call "kiln_all_reduce_wait" [15, 2] outs(%[[H]] : tensor<15xf32>)
// CHECK: tensor.extract_slice %[[DONE]][0] [12] [1]
// CHECK: tensor.extract_slice %[[DONE]][12] [3] [1]
func.func @start_wait(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %h = nn.all_reduce_start %a, %b {bucket = 2 : i64} : tensor<4x3xf32>, tensor<3xf32> -> tensor<15xf32>
  %r:2 = nn.all_reduce_wait %h {bucket = 2 : i64} : tensor<15xf32> -> tensor<4x3xf32>, tensor<3xf32>
  return %r#0, %r#1 : tensor<4x3xf32>, tensor<3xf32>
}
