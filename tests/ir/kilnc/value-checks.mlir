// RUN: kilnc %S/../Inputs/tiny_bce_check.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_bce_check.json --emit=descriptor | FileCheck %s --check-prefix=DESC
// RUN: kilnc %S/../Inputs/tiny_bce_check.json --emit=linalg | FileCheck %s --check-prefix=GUARD

// BCELoss checks that its probabilities are in [0, 1] (torch raises): the
// loss function also returns [first failing flat index or -1, its value],
// marked nn.check, which autodiff and nn-build-train-step pass through
// after the other results; the forward has no check.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: -> tensor<4x3xf32> {
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32>, tensor<3x3xf32>, tensor<3xf32>, tensor<2xf32> {nn.check = "BCELoss.input"})
// CHECK: nn.amax
// CHECK: nn.concat {{.+}} -> tensor<2xf32>
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<f32>, tensor<3x3xf32>, tensor<3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<i64>, tensor<2xf32> {nn.check = "BCELoss.input"})

// One KILN_ROLE_CHECK tensor, written by gradients and train_step only.
// DESC: tensor 8 check check.BCELoss.input f32 [2] zeros
// DESC: kernel forward any {{.+}}: fc.weight fc.bias x output0 workspace
// DESC: kernel gradients any {{.+}} grad(fc.bias) check.BCELoss.input workspace
// A call the runtime refuses after it ran (a failed check) must leave
// parameters, state and step as they were: train_step updates them in
// place, guarded by the check (kiln-guard-in-place-results: the old value
// where the check found an element), so nothing is double-buffered.
// DESC: kernel train_step any {{.+}}: update(fc.weight) update(fc.bias) update(step) lr x labels loss grad(fc.weight) grad(fc.bias) check.BCELoss.input workspace
// DESC-NOT: check.BCELoss.input workspace
// DESC: kernel apply any {{.+}}: update(fc.weight) update(fc.bias) update(step) lr update(fc.weight.grad) update(fc.bias.grad) workspace

// Checks in the graph reach every kernel that runs it, forward included:
// EmbeddingBag's offsets (from 0, not decreasing) and F.binary_cross_entropy's
// input, in call order, after the outputs (and, in training, the next
// buffers).
// RUN: kilnc %S/../Inputs/tiny_bag_check.json --emit=nn | FileCheck %s --check-prefix=GRAPH
// RUN: kilnc %S/../Inputs/tiny_bag_check.json --emit=descriptor | FileCheck %s --check-prefix=GDESC
// GRAPH-LABEL: func.func @forward
// GRAPH-SAME: -> (tensor<f32>, tensor<2xf32> {nn.check = "EmbeddingBag.offsets"}, tensor<2xf32> {nn.check = "BCELoss.input"})
// GDESC: tensor 5 check check.EmbeddingBag.offsets f32 [2] zeros
// GDESC: tensor 6 check check.BCELoss.input f32 [2] zeros
// GDESC: kernel forward any {{.+}}: bag.weight tokens offsets p output0 check.EmbeddingBag.offsets check.BCELoss.input workspace

// A second check of the same kind in one graph gets its own tensor (.1).
// RUN: kilnc %S/../Inputs/tiny_two_checks.json --emit=descriptor | FileCheck %s --check-prefix=TWO
// TWO: check check.BCELoss.input f32 [2]
// TWO: check check.BCELoss.input.1 f32 [2]
// TWO: kernel forward any {{.+}} check.EmbeddingBag.offsets check.BCELoss.input check.BCELoss.input.1 workspace

// The guard is fused into the update: one loop reads the parameter and
// writes it back, keeping the old value unless the check passed (its index
// is < 0).
// GUARD-LABEL: func.func @tiny_bce_check__train_step
// GUARD:         %[[IDX:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<2xf32>
// GUARD:         %[[OK:.+]] = arith.cmpf olt, %[[IDX]], %{{.+}} : f32
// GUARD:         %[[OKT:.+]] = tensor.from_elements %[[OK]] : tensor<i1>
// GUARD:         linalg.generic {{.+}} ins(%[[OKT]], %arg0, %{{.+}} : tensor<i1>, tensor<3x3xf32>, tensor<3x3xf32>)
// GUARD:           arith.select %{{.+}}, %{{.+}}, %{{.+}} : f32
