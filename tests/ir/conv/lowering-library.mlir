// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --nn-lower-to-linalg --kiln-fuse-elementwise --split-input-file | FileCheck %s --check-prefix=FUSED

// One call of the runtime's routine (passes/LowerConvLibrary.cpp)
// on the NCHW tensors, no padding materialised. The geometry: N 2, C 3, F 4,
// in (1, 9, 7), out (1, 4, 7), kernel (1, 3, 2), stride (1, 2, 1), padding
// before (0, 1, 0) (the 2 rows / 1 column after are implied by the output
// size), dilation (1, 2, 1): two spatial dims, the leading one filled.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[IN:.+]]: tensor<2x3x9x7xf32>, %[[WT:.+]]: tensor<4x3x3x2xf32>, %[[B:.+]]: tensor<4xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x4x4x7xf32>
// CHECK: %[[Y:.+]] = nn.library_call "kiln_sconv_forward" [2, 3, 4, 1, 9, 7, 1, 4, 7, 1, 3, 2, 1, 2, 1, 0, 1, 0, 1, 2, 1, 1] ins(%[[IN]], %[[WT]], %[[B]] : tensor<2x3x9x7xf32>, tensor<4x3x3x2xf32>, tensor<4xf32>) outs(%[[INIT]] : tensor<2x4x4x7xf32>) -> tensor<2x4x4x7xf32>
// CHECK: return %[[Y]]
// Elementwise fusion leaves the call alone.
// FUSED-LABEL: func.func @conv
// FUSED: nn.library_call "kiln_sconv_forward"
func.func @conv(%x: tensor<2x3x9x7xf32>, %w: tensor<4x3x3x2xf32>, %b: tensor<4xf32>) -> tensor<2x4x4x7xf32> {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 1>, padding = array<i64: 1, 0, 2, 1>, dilation = array<i64: 2, 1>} : (tensor<2x3x9x7xf32>, tensor<4x3x3x2xf32>, tensor<4xf32>) -> tensor<2x4x4x7xf32>
  return %y : tensor<2x4x4x7xf32>
}

// -----

// No bias: two inputs. Three spatial dims fill every slot.
// CHECK-LABEL: func.func @conv3d_no_bias
// CHECK: nn.library_call "kiln_sconv_forward" [1, 2, 5, 4, 6, 8, 2, 6, 8, 3, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%{{.+}}, %{{.+}} : tensor<1x2x4x6x8xf32>, tensor<5x2x3x1x1xf32>) outs(%{{.+}} : tensor<1x5x2x6x8xf32>)
func.func @conv3d_no_bias(%x: tensor<1x2x4x6x8xf32>, %w: tensor<5x2x3x1x1xf32>) -> tensor<1x5x2x6x8xf32> {
  %y = nn.conv %x, %w {stride = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0>, dilation = array<i64: 1, 1, 1>} : (tensor<1x2x4x6x8xf32>, tensor<5x2x3x1x1xf32>) -> tensor<1x5x2x6x8xf32>
  return %y : tensor<1x5x2x6x8xf32>
}

// -----

// Input gradient: the geometry of the convolution it differentiates (in 9
// from the result type, out 5 from dy), operands dy then w.
// CHECK-LABEL: func.func @backward_input
// CHECK-SAME: (%[[DY:.+]]: tensor<2x4x5xf32>, %[[WT:.+]]: tensor<4x3x3xf32>)
// CHECK: nn.library_call "kiln_sconv_backward_input" [2, 3, 4, 1, 1, 9, 1, 1, 5, 1, 1, 3, 1, 1, 2, 0, 0, 1, 1, 1, 1, 1] ins(%[[DY]], %[[WT]] : tensor<2x4x5xf32>, tensor<4x3x3xf32>) outs(%{{.+}} : tensor<2x3x9xf32>) -> tensor<2x3x9xf32>
func.func @backward_input(%dy: tensor<2x4x5xf32>, %w: tensor<4x3x3xf32>) -> tensor<2x3x9xf32> {
  %dx = nn.conv_backward_input %dy, %w {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x4x5xf32>, tensor<4x3x3xf32>) -> tensor<2x3x9xf32>
  return %dx : tensor<2x3x9xf32>
}

// -----

// Weight gradient: operands x then dy.
// CHECK-LABEL: func.func @backward_weight
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x9xf32>, %[[DY:.+]]: tensor<2x4x5xf32>)
// CHECK: nn.library_call "kiln_sconv_backward_weight" [2, 3, 4, 1, 1, 9, 1, 1, 5, 1, 1, 3, 1, 1, 2, 0, 0, 1, 1, 1, 1, 1] ins(%[[X]], %[[DY]] : tensor<2x3x9xf32>, tensor<2x4x5xf32>) outs(%{{.+}} : tensor<4x3x3xf32>) -> tensor<4x3x3xf32>
func.func @backward_weight(%x: tensor<2x3x9xf32>, %dy: tensor<2x4x5xf32>) -> tensor<4x3x3xf32> {
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x3x9xf32>, tensor<2x4x5xf32>) -> tensor<4x3x3xf32>
  return %dw : tensor<4x3x3xf32>
}

// -----

// Grouped: the group count is the geometry's last value (C 4, F 6, groups
// 2; the weight is [F, C / groups, k]).
// CHECK-LABEL: func.func @grouped
// CHECK: nn.library_call "kiln_sconv_forward" [1, 4, 6, 1, 1, 6, 1, 1, 4, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2] ins(%{{.+}}, %{{.+}} : tensor<1x4x6xf32>, tensor<6x2x3xf32>) outs(%{{.+}} : tensor<1x6x4xf32>)
func.func @grouped(%x: tensor<1x4x6xf32>, %w: tensor<6x2x3xf32>) -> tensor<1x6x4xf32> {
  %y = nn.conv %x, %w {stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 2 : i64} : (tensor<1x4x6xf32>, tensor<6x2x3xf32>) -> tensor<1x6x4xf32>
  return %y : tensor<1x6x4xf32>
}

// -----

// Depthwise (groups == C) with channel multiplier 2, and both gradients of
// it: the same geometry in every call.
// CHECK-LABEL: func.func @depthwise
// CHECK: nn.library_call "kiln_sconv_forward" [2, 3, 6, 1, 5, 5, 1, 3, 3, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 3] ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<2x3x5x5xf32>, tensor<6x1x3x3xf32>, tensor<6xf32>)
// CHECK: nn.library_call "kiln_sconv_backward_input" [2, 3, 6, 1, 5, 5, 1, 3, 3, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 3] ins(%{{.+}}, %{{.+}} : tensor<2x6x3x3xf32>, tensor<6x1x3x3xf32>) outs(%{{.+}} : tensor<2x3x5x5xf32>)
// CHECK: nn.library_call "kiln_sconv_backward_weight" [2, 3, 6, 1, 5, 5, 1, 3, 3, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 3] ins(%{{.+}}, %{{.+}} : tensor<2x3x5x5xf32>, tensor<2x6x3x3xf32>) outs(%{{.+}} : tensor<6x1x3x3xf32>)
func.func @depthwise(%x: tensor<2x3x5x5xf32>, %w: tensor<6x1x3x3xf32>, %b: tensor<6xf32>, %dy: tensor<2x6x3x3xf32>) -> (tensor<2x6x3x3xf32>, tensor<2x3x5x5xf32>, tensor<6x1x3x3xf32>) {
  %y = nn.conv %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 3 : i64} : (tensor<2x3x5x5xf32>, tensor<6x1x3x3xf32>, tensor<6xf32>) -> tensor<2x6x3x3xf32>
  %dx = nn.conv_backward_input %dy, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 3 : i64} : (tensor<2x6x3x3xf32>, tensor<6x1x3x3xf32>) -> tensor<2x3x5x5xf32>
  %dw = nn.conv_backward_weight %x, %dy {stride = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 3 : i64} : (tensor<2x3x5x5xf32>, tensor<2x6x3x3xf32>) -> tensor<6x1x3x3xf32>
  return %y, %dx, %dw : tensor<2x6x3x3xf32>, tensor<2x3x5x5xf32>, tensor<6x1x3x3xf32>
}

// -----

// More than 3 spatial dimensions keep the direct lowering (LowerConv.cpp).
// CHECK-LABEL: func.func @conv4d
// CHECK-NOT: nn.library_call
// CHECK: linalg.generic
func.func @conv4d(%x: tensor<1x2x3x3x3x3xf32>, %w: tensor<2x1x2x2x2x2xf32>) -> tensor<1x2x2x2x2x2xf32> {
  %y = nn.conv %x, %w {stride = array<i64: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0, 0, 0, 0, 0>, dilation = array<i64: 1, 1, 1, 1>, groups = 2 : i64} : (tensor<1x2x3x3x3x3xf32>, tensor<2x1x2x2x2x2xf32>) -> tensor<1x2x2x2x2x2xf32>
  return %y : tensor<1x2x2x2x2x2xf32>
}
