// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=descriptor | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=descriptor --mode=inference | FileCheck %s --check-prefix=INFER
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=descriptor --in-place-updates=false | FileCheck %s --check-prefix=NEXT
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=descriptor --data-parallel | FileCheck %s --check-prefix=DP

// --emit=descriptor: the kiln_model_metadata the object carries, as text.
// Numbers are exact (shortest round-trip): 1/sqrt(8) and 1/sqrt(16).

// CHECK: kiln-model-metadata 15
// CHECK-NEXT: name tiny_mlp
// CHECK-NEXT: device cpu
// CHECK-NEXT: lr 0.1
// CHECK-NEXT: workspace_bytes {{[0-9]+}}
// CHECK-NEXT: arena_bytes {{[0-9]+}}
// CHECK-NEXT: tensor 0 parameter 0.weight f32 [16, 8] uniform -0.35355339059327373 0.35355339059327373
// CHECK-NEXT: tensor 1 parameter 0.bias f32 [16] uniform -0.35355339059327373 0.35355339059327373
// CHECK-NEXT: tensor 2 parameter 2.weight f32 [3, 16] uniform -0.25 0.25
// CHECK-NEXT: tensor 3 parameter 2.bias f32 [3] uniform -0.25 0.25
// CHECK-NEXT: tensor 4 input x f32 [4, 8] zeros
// CHECK-NEXT: tensor 5 output output0 f32 [4, 3] zeros
// CHECK-NEXT: tensor 6 state 0.weight.momentum_buffer f32 [16, 8] zeros
// CHECK:      tensor 10 step step i64 [] zeros
// CHECK-NEXT: tensor 11 lr lr f32 [] constant 0.1
// CHECK-NEXT: tensor 12 target target i64 [4] zeros indices [0, 3) or -100
// CHECK-NEXT: tensor 13 loss loss f32 [] zeros
// CHECK-NEXT: tensor 14 grad_sum 0.weight.grad f32 [16, 8] zeros
// CHECK-NEXT: tensor 15 grad_sum 0.bias.grad f32 [16] zeros
// CHECK-NEXT: tensor 16 grad_sum 2.weight.grad f32 [3, 16] zeros
// CHECK-NEXT: tensor 17 grad_sum 2.bias.grad f32 [3] zeros
// CHECK-NEXT: kernel forward any tiny_mlp__forward: 0.weight 0.bias 2.weight 2.bias x output0 workspace
// CHECK-NEXT: kernel gradients any tiny_mlp__gradients: 0.weight 0.bias 2.weight 2.bias x target loss grad(0.weight) grad(0.bias) grad(2.weight) grad(2.bias) workspace
// CHECK-NEXT: kernel train_step any tiny_mlp__train_step: update(0.weight) update(0.bias) update(2.weight) update(2.bias) update(0.weight.momentum_buffer) update(0.bias.momentum_buffer) update(2.weight.momentum_buffer) update(2.bias.momentum_buffer) update(step) lr x target loss grad(0.weight) grad(0.bias) grad(2.weight) grad(2.bias) workspace
// Gradient accumulation: add gradients into the grad sums; step on them,
// then write zeros.
// CHECK-NEXT: kernel accumulate any tiny_mlp__accumulate: grad(0.weight) grad(0.bias) grad(2.weight) grad(2.bias) update(0.weight.grad) update(0.bias.grad) update(2.weight.grad) update(2.bias.grad) workspace
// CHECK-NEXT: kernel apply any tiny_mlp__apply: update(0.weight) update(0.bias) update(2.weight) update(2.bias) update(0.weight.momentum_buffer) update(0.bias.momentum_buffer) update(2.weight.momentum_buffer) update(2.bias.momentum_buffer) update(step) lr update(0.weight.grad) update(0.bias.grad) update(2.weight.grad) update(2.bias.grad) workspace
// CHECK-NOT: kernel

// INFER: name tiny_mlp
// INFER-NOT: lr
// INFER: tensor 5 output output0 f32 [4, 3] zeros
// INFER-NEXT: kernel forward any tiny_mlp__forward: 0.weight 0.bias 2.weight 2.bias x output0 workspace
// INFER-NOT: kernel

// --in-place-updates=false: next values beside the current ones
// (KILN_ARG_TENSOR_NEXT, double-buffered by the runtime), for comparison.
// NEXT: kernel train_step any tiny_mlp__train_step: 0.weight 0.bias 2.weight 2.bias 0.weight.momentum_buffer 0.bias.momentum_buffer 2.weight.momentum_buffer 2.bias.momentum_buffer step lr x target loss grad(0.weight) grad(0.bias) grad(2.weight) grad(2.bias) next(0.weight) next(0.bias) next(2.weight) next(2.bias) next(0.weight.momentum_buffer) next(0.bias.momentum_buffer) next(2.weight.momentum_buffer) next(2.bias.momentum_buffer) next(step) workspace
// NEXT-NOT: update(

// --data-parallel is recorded (KILN_MODEL_DATA_PARALLEL in the metadata's
// flags), so that kiln_model_attach_comm can refuse a plain build; the
// plain build has none (its lr line is followed by workspace_bytes).
// DP: lr 0.1
// DP-NEXT: data_parallel
// DP-NEXT: workspace_bytes
