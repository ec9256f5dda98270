// RUN: kilnc %S/../Inputs/tiny_sparse_adam.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_sparse_adam.json --emit=descriptor | FileCheck %s --check-prefix=DESC

// An Embedding with sparse=True (padding_idx 1) under SparseAdam, its head
// under AdamW (a parameter group of its own type: two torch optimizers).
// train_step counts the rows the indices read (padding row zeroed) and
// SparseAdam's update takes them as `rows`, broadcast along each row. The
// gradients kernel returns those rows too (last), for gradient
// accumulation: accumulate adds them to a rows sum, and apply steps
// SparseAdam on the rows any accumulated batch read, then zeroes the sum.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32>, tensor<6x2xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<6x1xf32> {nn.sparse_rows = "emb.weight"}) {
// CHECK-LABEL: func.func @train_step
// CHECK: %[[COUNTS:.+]] = nn.gather_backward %{{.+}}, %{{.+}} {dim = 0 : i64} : (tensor<4xf32>, tensor<4xi64>) -> tensor<6xf32>
// CHECK: %[[KEPT:.+]] = nn.mul %[[COUNTS]], %{{.+}} : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
// CHECK: %[[ROWS:.+]] = nn.reshape %[[KEPT]] : (tensor<6xf32>) -> tensor<6x1xf32>
// CHECK: nn.optimizer_update %arg0, %{{.+}}, states(%{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} rows %[[ROWS]] {{.+}}optimizer = "SparseAdam"
// CHECK: nn.optimizer_update %arg1, {{.+}}optimizer = "AdamW"
// CHECK-LABEL: func.func @accumulate
// CHECK-LABEL: func.func @apply
// CHECK: nn.optimizer_update %arg0, %arg12, states(%{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} rows %arg15 {{.+}}optimizer = "SparseAdam"

// The rows as tensors of their own (metadata version 10).
// DESC: tensor {{[0-9]+}} sparse_rows emb.weight.grad_rows f32 [6, 1]
// DESC: tensor {{[0-9]+}} rows_sum emb.weight.grad.rows f32 [6, 1] zeros
// DESC: kernel gradients any {{.+}} grad(emb.weight) grad(head.weight) grad(head.bias) emb.weight.grad_rows workspace
// DESC: kernel train_step any
// DESC: kernel accumulate any {{.+}}: grad(emb.weight) grad(head.weight) grad(head.bias) emb.weight.grad_rows update(emb.weight.grad) update(head.weight.grad) update(head.bias.grad) update(emb.weight.grad.rows) workspace
// DESC: kernel apply any {{.+}}: update(emb.weight) {{.+}} update(emb.weight.grad.rows) workspace
