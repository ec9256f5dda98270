// RUN: kiln-opt %s --split-input-file | kiln-opt --split-input-file | FileCheck %s

// Round-trip of every nn op: printed, re-parsed and printed again.

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<16x8xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<16xf32>,
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = nn.linear %[[X]], %[[W]], %[[B]] : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK: %{{.+}} = nn.linear %[[Y]], %{{.+}} : (tensor<4x16xf32>, tensor<2x16xf32>) -> tensor<4x2xf32>
func.func @linear(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %w2: tensor<2x16xf32>) -> tensor<4x2xf32> {
  %y = nn.linear %x, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %z = nn.linear %y, %w2 : (tensor<4x16xf32>, tensor<2x16xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

// A batched (rank-3) input keeps its leading dimensions.
// CHECK-LABEL: func.func @linear_rank3
// CHECK: nn.linear %{{.+}}, %{{.+}} : (tensor<2x3x8xf32>, tensor<5x8xf32>) -> tensor<2x3x5xf32>
func.func @linear_rank3(%x: tensor<2x3x8xf32>, %w: tensor<5x8xf32>) -> tensor<2x3x5xf32> {
  %y = nn.linear %x, %w : (tensor<2x3x8xf32>, tensor<5x8xf32>) -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// -----

// CHECK-LABEL: func.func @batched_matmul
// CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_rhs} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
// CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_lhs} : (tensor<6x8x4xf32>, tensor<6x8x5xf32>) -> tensor<6x4x5xf32>
func.func @batched_matmul(%q: tensor<2x3x4x8xf32>, %k: tensor<2x3x5x8xf32>, %a: tensor<6x8x4xf32>, %b: tensor<6x8x5xf32>) -> (tensor<2x3x4x5xf32>, tensor<6x4x5xf32>) {
  %0 = nn.matmul %q, %k {transpose_rhs} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
  %1 = nn.matmul %a, %b {transpose_lhs} : (tensor<6x8x4xf32>, tensor<6x8x5xf32>) -> tensor<6x4x5xf32>
  return %0, %1 : tensor<2x3x4x5xf32>, tensor<6x4x5xf32>
}

// CHECK-LABEL: func.func @matmul
// CHECK: nn.matmul %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_lhs} : (tensor<8x4xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_rhs} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
// CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_lhs, transpose_rhs} : (tensor<8x4xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %at: tensor<8x4xf32>, %bt: tensor<16x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = nn.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = nn.matmul %at, %b {transpose_lhs} : (tensor<8x4xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %2 = nn.matmul %a, %bt {transpose_rhs} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %3 = nn.matmul %at, %bt {transpose_lhs, transpose_rhs} : (tensor<8x4xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0, %1, %2, %3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func.func @relu_threshold_backward
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x8xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<4x8xf32>)
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = nn.relu %[[X]] : tensor<4x8xf32>
// CHECK: nn.threshold_backward %[[G]], %[[X]] : tensor<4x8xf32>
// CHECK: nn.threshold_backward %[[G]], %[[Y]] {threshold = 5.000000e-01 : f32} : tensor<4x8xf32>
func.func @relu_threshold_backward(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = nn.relu %x : tensor<4x8xf32>
  %d0 = nn.threshold_backward %g, %x {threshold = 0.0 : f32} : tensor<4x8xf32>
  %d1 = nn.threshold_backward %g, %y {threshold = 0.5 : f32} : tensor<4x8xf32>
  return %d0, %d1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Default attributes (start_dim = 1, end_dim = -1) are elided when printed.
// CHECK-LABEL: func.func @flatten_reshape
// CHECK: %[[F:[a-zA-Z0-9_]+]] = nn.flatten %{{.+}} : (tensor<2x1x4x4xf32>) -> tensor<2x16xf32>
// CHECK: nn.flatten %{{.+}} {end_dim = 2 : i64, start_dim = 0 : i64} : (tensor<2x1x4x4xf32>) -> tensor<8x4xf32>
// CHECK: nn.flatten %{{.+}} {end_dim = -2 : i64, start_dim = -3 : i64} : (tensor<2x1x4x4xf32>) -> tensor<2x4x4xf32>
// CHECK: nn.reshape %[[F]] : (tensor<2x16xf32>) -> tensor<2x1x4x4xf32>
func.func @flatten_reshape(%x: tensor<2x1x4x4xf32>) -> (tensor<2x16xf32>, tensor<8x4xf32>, tensor<2x4x4xf32>, tensor<2x1x4x4xf32>) {
  %f = nn.flatten %x {start_dim = 1 : i64, end_dim = -1 : i64} : (tensor<2x1x4x4xf32>) -> tensor<2x16xf32>
  %g = nn.flatten %x {start_dim = 0 : i64, end_dim = 2 : i64} : (tensor<2x1x4x4xf32>) -> tensor<8x4xf32>
  %h = nn.flatten %x {start_dim = -3 : i64, end_dim = -2 : i64} : (tensor<2x1x4x4xf32>) -> tensor<2x4x4xf32>
  %r = nn.reshape %f : (tensor<2x16xf32>) -> tensor<2x1x4x4xf32>
  return %f, %g, %h, %r : tensor<2x16xf32>, tensor<8x4xf32>, tensor<2x4x4xf32>, tensor<2x1x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_binary
// CHECK: nn.add %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: nn.sub %{{.+}}, %{{.+}} : (tensor<4x1xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
// CHECK: nn.mul %{{.+}}, %{{.+}} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
func.func @broadcast_binary(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %c: tensor<4x1xf32>, %d: tensor<1x8xf32>, %s: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.add %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = nn.sub %c, %d : (tensor<4x1xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  %2 = nn.mul %a, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @sum_to_size_broadcast_to
// CHECK: nn.sum_to_size %{{.+}} : (tensor<4x8xf32>) -> tensor<8xf32>
// CHECK: nn.sum_to_size %{{.+}} : (tensor<4x8xf32>) -> tensor<4x1xf32>
// CHECK: nn.broadcast_to %{{.+}} : (tensor<8xf32>) -> tensor<4x8xf32>
func.func @sum_to_size_broadcast_to(%g: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) {
  %0 = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<8xf32>
  %1 = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %2 = nn.broadcast_to %b : (tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<8xf32>, tensor<4x1xf32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @cross_entropy
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x10xf32>, %[[T:[a-zA-Z0-9_]+]]: tensor<4xi64>, %[[G:[a-zA-Z0-9_]+]]: tensor<f32>, %[[GN:[a-zA-Z0-9_]+]]: tensor<4xf32>)
// CHECK: nn.cross_entropy_loss %[[X]], %[[T]] : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
// CHECK: nn.cross_entropy_loss %[[X]], %[[T]] reduction sum {ignore_index = 3 : i64, label_smoothing = 1.000000e-01 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
// CHECK: nn.cross_entropy_loss %[[X]], %[[T]] reduction none : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<4xf32>
// CHECK: nn.cross_entropy_loss_backward %[[G]], %[[X]], %[[T]] : (tensor<f32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
// CHECK: nn.cross_entropy_loss_backward %[[GN]], %[[X]], %[[T]] reduction none {label_smoothing = 2.000000e-01 : f64} : (tensor<4xf32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
func.func @cross_entropy(%x: tensor<4x10xf32>, %t: tensor<4xi64>, %g: tensor<f32>, %gn: tensor<4xf32>) -> (tensor<f32>, tensor<f32>, tensor<4xf32>, tensor<4x10xf32>, tensor<4x10xf32>) {
  %0 = nn.cross_entropy_loss %x, %t reduction mean {label_smoothing = 0.0 : f64, ignore_index = -100 : i64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  %1 = nn.cross_entropy_loss %x, %t reduction sum {label_smoothing = 0.1 : f64, ignore_index = 3 : i64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  %2 = nn.cross_entropy_loss %x, %t reduction none : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<4xf32>
  %3 = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
  %4 = nn.cross_entropy_loss_backward %gn, %x, %t reduction none {label_smoothing = 0.2 : f64} : (tensor<4xf32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
  return %0, %1, %2, %3, %4 : tensor<f32>, tensor<f32>, tensor<4xf32>, tensor<4x10xf32>, tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @mse
// CHECK-SAME: (%[[Y:[a-zA-Z0-9_]+]]: tensor<8x4xf32>, %[[T:[a-zA-Z0-9_]+]]: tensor<8x4xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<f32>)
// CHECK: nn.mse_loss %[[Y]], %[[T]] : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
// CHECK: nn.mse_loss %[[Y]], %[[T]] reduction sum : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
// CHECK: %[[N:[a-zA-Z0-9_]+]] = nn.mse_loss %[[Y]], %[[T]] reduction none : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK: nn.mse_loss_backward %[[G]], %[[Y]], %[[T]] : (tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK: nn.mse_loss_backward %[[N]], %[[Y]], %[[T]] reduction none : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
func.func @mse(%y: tensor<8x4xf32>, %t: tensor<8x4xf32>, %g: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) {
  %0 = nn.mse_loss %y, %t reduction mean : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  %1 = nn.mse_loss %y, %t reduction sum : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  %2 = nn.mse_loss %y, %t reduction none : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  %3 = nn.mse_loss_backward %g, %y, %t : (tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  %4 = nn.mse_loss_backward %2, %y, %t reduction none : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0, %1, %2, %3, %4 : tensor<f32>, tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// sgd_update with a momentum buffer; without one: sgd-update-no-buffer.mlir.
// CHECK-LABEL: func.func @sgd_update
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[G:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[BUF:[a-zA-Z0-9_]+]]: tensor<16xf32>, %[[LR:[a-zA-Z0-9_]+]]: tensor<f32>, %[[STEP:[a-zA-Z0-9_]+]]: tensor<i64>)
// CHECK: nn.sgd_update %[[P]], %[[G]], momentum_buffer %[[BUF]], lr %[[LR]], step %[[STEP]] {dampening = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
// CHECK: nn.sgd_update %[[P]], %[[G]], momentum_buffer %[[BUF]], lr %[[LR]], step %[[STEP]] {maximize, momentum = 9.000000e-01 : f64, nesterov, weight_decay = 1.000000e-02 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
func.func @sgd_update(%p: tensor<16xf32>, %g: tensor<16xf32>, %buf: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %buf, lr %lr, step %step {momentum = 0.9 : f64, dampening = 0.1 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  %2, %3 = nn.sgd_update %p, %g, momentum_buffer %buf, lr %lr, step %step {momentum = 0.9 : f64, nesterov, weight_decay = 0.01 : f64, maximize} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return %0, %1, %2, %3 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}
