// RUN: kilnc %S/../Inputs/tiny_sparse_adam.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_sparse_adam.json --emit=descriptor | FileCheck %s --check-prefix=DESC

// An Embedding with sparse=True (padding_idx 1) under SparseAdam, its head
// under AdamW (a parameter group of its own type: two torch optimizers).
// The gradients kernel returns dense gradients only; train_step counts the
// rows the indices read (padding row zeroed) and SparseAdam's update takes
// them as `rows`, broadcast along each row; the private copy of the
// gradient function it called is inlined and gone.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32>, tensor<6x2xf32>, tensor<2x2xf32>, tensor<2xf32>) {
// CHECK-NOT: sparse_rows
// CHECK-LABEL: func.func @train_step
// CHECK: %[[COUNTS:.+]] = nn.gather_backward %{{.+}}, %{{.+}} {dim = 0 : i64} : (tensor<4xf32>, tensor<4xi64>) -> tensor<6xf32>
// CHECK: %[[KEPT:.+]] = nn.mul %[[COUNTS]], %{{.+}} : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
// CHECK: %[[ROWS:.+]] = nn.reshape %[[KEPT]] : (tensor<6xf32>) -> tensor<6x1xf32>
// CHECK: nn.optimizer_update %arg0, %{{.+}}, states(%{{.+}}, %{{.+}}), lr %{{.+}}, step %{{.+}} rows %[[ROWS]] {{.+}}optimizer = "SparseAdam"
// CHECK: nn.optimizer_update %arg1, {{.+}}optimizer = "AdamW"
// CHECK-NOT: func.func @accumulate
// CHECK-NOT: func.func private @loss_grad_sparse_rows

// No accumulate or apply kernel: SparseAdam's update needs each batch's rows.
// DESC: kernel gradients any {{.+}} grad(emb.weight) grad(head.weight) grad(head.bias) workspace
// DESC: kernel train_step any
// DESC-NOT: kernel accumulate
// DESC-NOT: kernel apply
