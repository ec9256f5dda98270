// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file | FileCheck %s

// y = x W^T + b: the bias is broadcast into the accumulator, and the
// product is one contraction with a transposed operand (whether W^T is
// copied first is the backend's decision: kiln-cpu-materialize-transposes).
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<2x8xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<4xf32>)
// CHECK: %[[E:[a-zA-Z0-9_]+]] = tensor.empty() : tensor<2x4xf32>
// CHECK: %[[ACC:[a-zA-Z0-9_]+]] = linalg.broadcast ins(%[[B]] : tensor<4xf32>) outs(%[[E]] : tensor<2x4xf32>) dimensions = [0]
// CHECK-NOT: linalg.transpose
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<2x8xf32>, tensor<4x8xf32>) outs(%[[ACC]] : tensor<2x4xf32>)
// CHECK-NOT: nn.
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %y = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Without bias the accumulator is zero-filled; a rank-3 input is collapsed
// to a matrix and the result reshaped back.
// CHECK-LABEL: func.func @linear_rank3_nobias
// CHECK: %[[XM:[a-zA-Z0-9_]+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1], [2]] : tensor<2x3x8xf32> into tensor<6x8xf32>
// CHECK: %[[ZERO:[a-zA-Z0-9_]+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:[a-zA-Z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<6x4xf32>)
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = linalg.matmul_transpose_b ins(%[[XM]], %{{.+}} : tensor<6x8xf32>, tensor<4x8xf32>) outs(%[[ACC]] : tensor<6x4xf32>)
// CHECK: tensor.expand_shape %{{.+}} output_shape [2, 3, 4] : tensor<24xf32> into tensor<2x3x4xf32>
func.func @linear_rank3_nobias(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x3x4xf32> {
  %y = nn.linear %x, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// CHECK-DAG: #[[$KM:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[$NK:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$MN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<8x16xf32>, %[[AT:[a-zA-Z0-9_]+]]: tensor<8x4xf32>, %[[BT:[a-zA-Z0-9_]+]]: tensor<16x8xf32>)
// CHECK: %[[C0:[a-zA-Z0-9_]+]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<8x16xf32>)
// CHECK: %[[C1:[a-zA-Z0-9_]+]] = linalg.matmul_transpose_a ins(%[[AT]], %[[B]] : tensor<8x4xf32>, tensor<8x16xf32>)
// CHECK: %[[C2:[a-zA-Z0-9_]+]] = linalg.matmul_transpose_b ins(%[[A]], %[[BT]] : tensor<4x8xf32>, tensor<16x8xf32>)
// CHECK: %[[C3:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$KM]], #[[$NK]], #[[$MN]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[AT]], %[[BT]] : tensor<8x4xf32>, tensor<16x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: return %[[C0]], %[[C1]], %[[C2]], %[[C3]]
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %at: tensor<8x4xf32>, %bt: tensor<16x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = nn.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = nn.matmul %at, %b {transpose_lhs} : (tensor<8x4xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %2 = nn.matmul %a, %bt {transpose_rhs} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %3 = nn.matmul %at, %bt {transpose_lhs, transpose_rhs} : (tensor<8x4xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0, %1, %2, %3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// A batched nn.matmul: its batch dimensions collapse into one, the batched
// linalg contraction of each transposition runs on a zero fill, and the
// result expands back; both transposed is a generic with the batch loop.
// CHECK-DAG: #[[$BKM:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-DAG: #[[$BNK:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$BMN:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @batched_matmul
// CHECK-SAME: (%[[Q:[a-zA-Z0-9_]+]]: tensor<2x3x4x8xf32>, %[[K:[a-zA-Z0-9_]+]]: tensor<2x3x5x8xf32>, %[[A:[a-zA-Z0-9_]+]]: tensor<6x4x8xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<6x8x5xf32>, %[[AT:[a-zA-Z0-9_]+]]: tensor<6x8x4xf32>, %[[BT:[a-zA-Z0-9_]+]]: tensor<6x5x8xf32>)
// CHECK: %[[Z:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<6x4x5xf32>)
// CHECK: %[[QC:.+]] = tensor.collapse_shape %[[Q]] {{\[}}[0, 1], [2], [3]] : tensor<2x3x4x8xf32> into tensor<6x4x8xf32>
// CHECK: %[[KC:.+]] = tensor.collapse_shape %[[K]] {{\[}}[0, 1], [2], [3]] : tensor<2x3x5x8xf32> into tensor<6x5x8xf32>
// CHECK: %[[S:.+]] = linalg.batch_matmul_transpose_b ins(%[[QC]], %[[KC]] : tensor<6x4x8xf32>, tensor<6x5x8xf32>) outs(%[[Z]] : tensor<6x4x5xf32>)
// CHECK: %[[SF:.+]] = tensor.collapse_shape %[[S]] {{.+}} : tensor<6x4x5xf32> into tensor<120xf32>
// CHECK: tensor.expand_shape %[[SF]] {{.+}} : tensor<120xf32> into tensor<2x3x4x5xf32>
// CHECK: linalg.batch_matmul ins(%[[A]], %[[B]] : tensor<6x4x8xf32>, tensor<6x8x5xf32>)
// CHECK: linalg.batch_matmul_transpose_a ins(%[[AT]], %[[B]] : tensor<6x8x4xf32>, tensor<6x8x5xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$BKM]], #[[$BNK]], #[[$BMN]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[AT]], %[[BT]] : tensor<6x8x4xf32>, tensor<6x5x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @batched_matmul(%q: tensor<2x3x4x8xf32>, %k: tensor<2x3x5x8xf32>, %a: tensor<6x4x8xf32>, %b: tensor<6x8x5xf32>, %at: tensor<6x8x4xf32>, %bt: tensor<6x5x8xf32>) -> (tensor<2x3x4x5xf32>, tensor<6x4x5xf32>, tensor<6x4x5xf32>, tensor<6x4x5xf32>) {
  %0 = nn.matmul %q, %k {transpose_rhs} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
  %1 = nn.matmul %a, %b : (tensor<6x4x8xf32>, tensor<6x8x5xf32>) -> tensor<6x4x5xf32>
  %2 = nn.matmul %at, %b {transpose_lhs} : (tensor<6x8x4xf32>, tensor<6x8x5xf32>) -> tensor<6x4x5xf32>
  %3 = nn.matmul %at, %bt {transpose_lhs, transpose_rhs} : (tensor<6x8x4xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  return %0, %1, %2, %3 : tensor<2x3x4x5xf32>, tensor<6x4x5xf32>, tensor<6x4x5xf32>, tensor<6x4x5xf32>
}

// -----

// relu = max(x, 0); threshold_backward = x > threshold ? g : 0.
// CHECK-LABEL: func.func @relu_threshold_backward
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<4x8xf32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<4x8xf32>)
// CHECK: ^bb0(%[[IN:[a-zA-Z0-9_]+]]: f32, %{{.+}}: f32):
// CHECK: %[[Z:[a-zA-Z0-9_]+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[M:[a-zA-Z0-9_]+]] = arith.maximumf %[[IN]], %[[Z]] : f32
// CHECK: linalg.yield %[[M]]
// CHECK: linalg.generic {{.+}} ins(%[[G]], %[[X]] : tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: ^bb0(%[[GI:[a-zA-Z0-9_]+]]: f32, %[[XI:[a-zA-Z0-9_]+]]: f32, %{{.+}}: f32):
// CHECK: %[[T:[a-zA-Z0-9_]+]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.cmpf ogt, %[[XI]], %[[T]] : f32
// CHECK: %[[S:[a-zA-Z0-9_]+]] = arith.select %[[C]], %[[GI]], %{{.+}} : f32
// CHECK: linalg.yield %[[S]]
func.func @relu_threshold_backward(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = nn.relu %x : tensor<4x8xf32>
  %d = nn.threshold_backward %g, %x {threshold = 0.5 : f32} : tensor<4x8xf32>
  return %y, %d : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// flatten and reshape go through a 1-D tensor (collapse then expand).
// CHECK-LABEL: func.func @flatten_reshape
// CHECK: %[[F1:[a-zA-Z0-9_]+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1, 2, 3]] : tensor<2x1x4x4xf32> into tensor<32xf32>
// CHECK: %[[F:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[F1]] {{\[\[}}0, 1]] output_shape [2, 16] : tensor<32xf32> into tensor<2x16xf32>
// CHECK: %[[R1:[a-zA-Z0-9_]+]] = tensor.collapse_shape %[[F]] {{\[\[}}0, 1]] : tensor<2x16xf32> into tensor<32xf32>
// CHECK: %[[R:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[R1]] {{\[\[}}0, 1, 2, 3]] output_shape [2, 1, 4, 4] : tensor<32xf32> into tensor<2x1x4x4xf32>
// CHECK: return %[[F]], %[[R]]
func.func @flatten_reshape(%x: tensor<2x1x4x4xf32>) -> (tensor<2x16xf32>, tensor<2x1x4x4xf32>) {
  %f = nn.flatten %x : (tensor<2x1x4x4xf32>) -> tensor<2x16xf32>
  %r = nn.reshape %f : (tensor<2x16xf32>) -> tensor<2x1x4x4xf32>
  return %f, %r : tensor<2x16xf32>, tensor<2x1x4x4xf32>
}

// -----

// Broadcasting reads stretched operands through right-aligned maps: a
// missing leading dim is dropped, a size-1 dim reads index 0, a scalar ().
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$COL0:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[$SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @broadcast_binary
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[$COL0]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<4x1xf32>, tensor<8xf32>)
// CHECK: arith.subf
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<f32>)
// CHECK: arith.mulf
func.func @broadcast_binary(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %c: tensor<4x1xf32>, %s: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.add %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = nn.sub %c, %b : (tensor<4x1xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = nn.mul %a, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// sum_to_size: a zero-filled reduction over the summed dims (a kept size-1
// dim is expanded back); broadcast_to: a copy through a broadcast map.
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$D1:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$D0:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @sum_to_size_broadcast_to
// CHECK: %[[Z0:[a-zA-Z0-9_]+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<8xf32>)
// CHECK: %[[S0:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$D1]]], iterator_types = ["reduction", "parallel"]} ins(%{{.+}} : tensor<4x8xf32>) outs(%[[Z0]] : tensor<8xf32>)
// CHECK: arith.addf
// CHECK: %[[S1:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$D0]]], iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x8xf32>) outs(%{{.+}} : tensor<4xf32>)
// CHECK: %[[S1E:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[S1]] {{\[\[}}0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
// CHECK: %[[BC:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$D1]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}} : tensor<8xf32>) outs(%{{.+}} : tensor<4x8xf32>)
// CHECK-NEXT: ^bb0(%[[IN:[a-zA-Z0-9_]+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: linalg.yield %[[IN]] : f32
// CHECK: return %[[S0]], %[[S1E]], %[[BC]]
func.func @sum_to_size_broadcast_to(%g: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) {
  %0 = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<8xf32>
  %1 = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %2 = nn.broadcast_to %b : (tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<8xf32>, tensor<4x1xf32>, tensor<4x8xf32>
}

// -----

// Cross entropy (mean): row max, sum of exp(x - max), per-row
// lse - x[t] with ignored rows zeroed, then the sum divided by the count of
// rows not ignored. The backward is one generic over [N, C]:
// (softmax - onehot) * grad / count.
// CHECK-LABEL: func.func @cross_entropy
// CHECK: %[[NEGINF:[a-zA-Z0-9_]+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAX:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x10xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUMEXP:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %[[MAX]] : tensor<4x10xf32>, tensor<4xf32>)
// CHECK: math.exp
// CHECK: %[[ROW:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} ins(%{{.+}}, %[[MAX]], %[[SUMEXP]] : tensor<4xi64>, tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.constant -100 : i64
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<4x10xf32>
// CHECK: math.log
// CHECK: %[[TOTAL:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["reduction"]} ins(%[[ROW]] : tensor<4xf32>)
// CHECK: %[[MEAN:[a-zA-Z0-9_]+]] = arith.divf
// CHECK: %[[LOSS:[a-zA-Z0-9_]+]] = tensor.from_elements %[[MEAN]] : tensor<f32>
// CHECK: %[[DX:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<4x10xf32>, tensor<4x1xi64>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<f32>) outs(%{{.+}} : tensor<4x10xf32>)
// CHECK: math.exp
// CHECK: linalg.index 1 : index
// CHECK: arith.cmpi eq
// CHECK: return %[[LOSS]], %[[DX]]
// CHECK-NOT: nn.
func.func @cross_entropy(%x: tensor<4x10xf32>, %t: tensor<4xi64>, %g: tensor<f32>) -> (tensor<f32>, tensor<4x10xf32>) {
  %0 = nn.cross_entropy_loss %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  %1 = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
  return %0, %1 : tensor<f32>, tensor<4x10xf32>
}

// -----

// The fused loss and backward (nn-fuse-cross-entropy): the row max and sum
// of exponentials once, the log of the sum per row, the count of rows not
// ignored and grad / count; then one generic over [N, C] (rows parallel,
// classes a reduction) with log-probabilities (x - max) - log(sum), writing
// the gradient and accumulating each row's loss; the rows' sum / count.
// CHECK-LABEL: func.func @cross_entropy_with_grad
// CHECK: %[[MAX:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<4x10xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUMEXP:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %[[MAX]] : tensor<4x10xf32>, tensor<4xf32>)
// CHECK: math.exp
// CHECK: %[[LOGSUM:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} ins(%[[SUMEXP]] : tensor<4xf32>)
// CHECK: math.log
// CHECK: %[[W:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<f32>, tensor<f32>)
// CHECK: arith.divf
// CHECK: %[[BOTH:[a-zA-Z0-9_]+]]:2 = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %{{.+}}, %[[MAX]], %[[LOGSUM]], %[[W]] : tensor<4x10xf32>, tensor<4xi64>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) outs(%{{.+}}, %{{.+}} : tensor<4xf32>, tensor<4x10xf32>)
// CHECK: linalg.index 1 : index
// CHECK: arith.cmpi eq
// CHECK: %[[XM:[a-zA-Z0-9_]+]] = arith.subf %{{.+}}, %{{.+}} : f32
// CHECK: %[[LP:[a-zA-Z0-9_]+]] = arith.subf %[[XM]], %{{.+}} : f32
// CHECK: math.exp %[[LP]]
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction"]} ins(%[[BOTH]]#0 : tensor<4xf32>)
// CHECK: %[[MEAN:[a-zA-Z0-9_]+]] = arith.divf
// CHECK: %[[LOSS:[a-zA-Z0-9_]+]] = tensor.from_elements %[[MEAN]] : tensor<f32>
// CHECK: return %[[LOSS]], %[[BOTH]]#1
func.func @cross_entropy_with_grad(%x: tensor<4x10xf32>, %t: tensor<4xi64>, %g: tensor<f32>) -> (tensor<f32>, tensor<4x10xf32>) {
  %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t {label_smoothing = 0.2 : f64} : (tensor<f32>, tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x10xf32>)
  return %l, %dx : tensor<f32>, tensor<4x10xf32>
}

// -----

// 32 classes (a multiple of 16, two vectors or more): the classes are
// viewed as [2, 16] and every row keeps 16 partial maxima, sums of
// exponentials and losses (innermost loop parallel, so it vectorizes with
// the additions in the IR's order); the lanes are folded per row after.
// The class index of (j, l) is j * 16 + l.
// CHECK-LABEL: func.func @cross_entropy_with_grad_lanes
// CHECK: %[[X:[a-zA-Z0-9_]+]] = tensor.expand_shape %{{.+}} output_shape [3, 2, 16] : tensor<96xf32> into tensor<3x2x16xf32>
// CHECK: %[[MAXL:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X]] : tensor<3x2x16xf32>) outs(%{{.+}} : tensor<3x16xf32>)
// CHECK: arith.maximumf
// CHECK: %[[MAX:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[MAXL]] : tensor<3x16xf32>) outs(%{{.+}} : tensor<3xf32>)
// CHECK: %[[SUML:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}}, %[[MAX]] : tensor<3x2x16xf32>, tensor<3xf32>) outs(%{{.+}} : tensor<3x16xf32>)
// CHECK: math.exp
// CHECK: %[[SUM:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} ins(%[[SUML]] : tensor<3x16xf32>) outs(%{{.+}} : tensor<3xf32>)
// CHECK: %[[BOTH:[a-zA-Z0-9_]+]]:2 = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}}, %{{.+}}, %[[MAX]], %{{.+}}, %{{.+}} : tensor<3x2x16xf32>, tensor<3xi64>, tensor<3xf32>, tensor<3xf32>, tensor<f32>) outs(%{{.+}}, %{{.+}} : tensor<3x16xf32>, tensor<3x2x16xf32>)
// CHECK: %[[J:[a-zA-Z0-9_]+]] = linalg.index 1 : index
// CHECK: %[[J16:[a-zA-Z0-9_]+]] = arith.muli %[[J]], %{{.+}} : index
// CHECK: %[[L:[a-zA-Z0-9_]+]] = linalg.index 2 : index
// CHECK: arith.addi %[[J16]], %[[L]] : index
// CHECK: %[[DX:[a-zA-Z0-9_]+]] = tensor.collapse_shape %[[BOTH]]#1 {{.+}} : tensor<3x2x16xf32> into tensor<96xf32>
// CHECK: %[[DX2:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[DX]] {{.+}} : tensor<96xf32> into tensor<3x32xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[BOTH]]#0 : tensor<3x16xf32>) outs(%{{.+}} : tensor<3xf32>)
// CHECK: return %{{.+}}, %[[DX2]]
func.func @cross_entropy_with_grad_lanes(%x: tensor<3x32xf32>, %t: tensor<3xi64>, %g: tensor<f32>) -> (tensor<f32>, tensor<3x32xf32>) {
  %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t {label_smoothing = 0.1 : f64} : (tensor<f32>, tensor<3x32xf32>, tensor<3xi64>) -> (tensor<f32>, tensor<3x32xf32>)
  return %l, %dx : tensor<f32>, tensor<3x32xf32>
}

// -----

// MSE (mean over 32 elements): sum of squares / 32; backward
// 2 (y - t) grad / 32 = 0.0625 (y - t) grad.
// CHECK-LABEL: func.func @mse
// CHECK: %[[SQ:[a-zA-Z0-9_]+]] = linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<8x4xf32>, tensor<8x4xf32>)
// CHECK: %[[D:[a-zA-Z0-9_]+]] = arith.subf
// CHECK: arith.mulf %[[D]], %[[D]] : f32
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]} ins(%[[SQ]] : tensor<8x4xf32>)
// CHECK: %[[N:[a-zA-Z0-9_]+]] = arith.constant 3.200000e+01 : f32
// CHECK: arith.divf %{{.+}}, %[[N]] : f32
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>)
// CHECK: arith.subf
// CHECK: arith.constant 6.250000e-02 : f32
func.func @mse(%y: tensor<8x4xf32>, %t: tensor<8x4xf32>, %g: tensor<f32>) -> (tensor<f32>, tensor<8x4xf32>) {
  %0 = nn.mse_loss %y, %t : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  %1 = nn.mse_loss_backward %g, %y, %t : (tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0, %1 : tensor<f32>, tensor<8x4xf32>
}

// -----

// SGD with momentum: one generic producing the new param and the new
// buffer; at step 0 the buffer is the gradient.
// CHECK-LABEL: func.func @sgd_update_momentum
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[BUF:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[LR:[a-zA-Z0-9_]+]]: tensor<f32>, %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64>)
// CHECK: tensor.extract %[[LR]][] : tensor<f32>
// CHECK: %[[S:[a-zA-Z0-9_]+]] = tensor.extract %[[STEP]][] : tensor<i64>
// CHECK: %[[FIRST:[a-zA-Z0-9_]+]] = arith.cmpi eq, %[[S]], %{{.+}} : i64
// CHECK: %[[R:[a-zA-Z0-9_]+]]:2 = linalg.generic {{.+}} ins(%[[P]], %[[G]], %[[BUF]] : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%{{.+}}, %{{.+}} : tensor<16xf32>, tensor<16xf32>)
// CHECK: arith.constant 0.899999976 : f32
// CHECK: %[[NB:[a-zA-Z0-9_]+]] = arith.select %[[FIRST]], %{{.+}}, %{{.+}} : f32
// CHECK: linalg.yield %{{.+}}, %[[NB]] : f32, f32
// CHECK: } -> (tensor<16xf32>, tensor<16xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @sgd_update_momentum(%p: tensor<16xf32>, %g: tensor<16xf32>, %buf: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>) {
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %buf, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return %0, %1 : tensor<16xf32>, tensor<16xf32>
}

// -----

// Plain SGD: p - lr * g, one output. (Generic form: see
// dialect/sgd-update-no-buffer-roundtrip.mlir.)
// CHECK-LABEL: func.func @sgd_update_plain
// CHECK: %[[NEGLR:[a-zA-Z0-9_]+]] = arith.negf %{{.+}} : f32
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<16xf32>, tensor<16xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: ^bb0(%[[PI:[a-zA-Z0-9_]+]]: f32, %[[GI:[a-zA-Z0-9_]+]]: f32, %{{.+}}: f32):
// CHECK: %[[STEPV:[a-zA-Z0-9_]+]] = arith.mulf %[[NEGLR]], %[[GI]] : f32
// CHECK: %[[NP:[a-zA-Z0-9_]+]] = arith.addf %[[PI]], %[[STEPV]] : f32
// CHECK: linalg.yield %[[NP]] : f32
func.func @sgd_update_plain(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<16xf32> {
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

// SGD with a cycled momentum m (a runtime scalar): the buffer and the step
// use m; where m == 0 the buffer is kept and d is the plain gradient, as
// torch skips the momentum.
// CHECK-LABEL: func.func @sgd_update_cycled
// CHECK: %[[M:[a-zA-Z0-9_]+]] = tensor.extract %arg5[] : tensor<f32>
// CHECK: %[[ACTIVE:[a-zA-Z0-9_]+]] = arith.cmpf une, %[[M]], %{{.+}} : f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[PI:[a-zA-Z0-9_]+]]: f32, %[[GI:[a-zA-Z0-9_]+]]: f32, %[[BI:[a-zA-Z0-9_]+]]: f32,
// CHECK: arith.mulf %[[BI]], %[[M]] : f32
// CHECK: %[[NB:[a-zA-Z0-9_]+]] = arith.select %[[ACTIVE]], %{{.+}}, %[[BI]] : f32
// CHECK: arith.select %[[ACTIVE]], %{{.+}}, %[[GI]] : f32
func.func @sgd_update_cycled(%p: tensor<16xf32>, %g: tensor<16xf32>, %buf: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>, %m: tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %buf, lr %lr, step %step cycled_momentum %m : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>)
  return %0, %1 : tensor<16xf32>, tensor<16xf32>
}
