// RUN: kilnc %S/../Inputs/tiny_dropout.json --emit=descriptor | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_dropout.json --emit=descriptor --mode=inference | FileCheck %s --check-prefix=INFER
// RUN: kilnc %S/../Inputs/tiny_dropout.json --emit=nn | FileCheck %s --check-prefix=NN
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=nn | FileCheck %s --check-prefix=PLAIN

// A layer that asks for the mode (Dropout) makes the model mode-dependent:
// an eval-mode forward without random draws, a train-mode forward that
// takes the instance's random state, and training kernels for train mode.
// Two dropouts of [6, 9] and [6, 5] draw 54 + 30 counters per call.
// CHECK: kiln-model-metadata 15
// CHECK: kernel forward eval tiny_dropout__forward: 0.weight 0.bias 2.weight 2.bias x output0 workspace{{$}}
// CHECK-NEXT: kernel forward train tiny_dropout__forward_train: 0.weight 0.bias 2.weight 2.bias x rng output0 workspace (rng_counters 84)
// CHECK-NEXT: kernel gradients train tiny_dropout__gradients: {{.*}} x target rng loss {{.*}} workspace (rng_counters 84)
// CHECK-NEXT: kernel train_step train tiny_dropout__train_step: {{.*}} update(step) lr x target rng loss grad(0.weight) grad(0.bias) grad(2.weight) grad(2.bias) workspace (rng_counters 84)
// Accumulation's own kernels draw nothing and hold in both modes.
// CHECK-NEXT: kernel accumulate any tiny_dropout__accumulate: {{.*}} workspace{{$}}
// CHECK-NEXT: kernel apply any tiny_dropout__apply: {{.*}} workspace{{$}}
// CHECK-NOT: kernel

// An inference compile can never enter train mode: one forward for both.
// INFER: kernel forward any tiny_dropout__forward: 0.weight 0.bias 2.weight 2.bias x output0 workspace{{$}}
// INFER-NOT: kernel

// The two dropouts draw from disjoint counter ranges of one stream; the
// backward multiplies by the forward's noise, never draws again.
// NN-LABEL: func.func @forward(
// NN-SAME: attributes {nn.mode = "eval"}
// NN-NOT: nn.random_uniform
// NN-LABEL: func.func @forward_train(
// NN-SAME: %[[RNG:[a-z0-9]+]]: tensor<2xi64> {nn.name = "rng", nn.role = #nn.role<rng>}
// NN-SAME: attributes {nn.mode = "train", nn.rng_counters = 84 : i64}
// NN: nn.random_uniform %[[RNG]] {offset = 0 : i64} : (tensor<2xi64>) -> tensor<6x9xf32>
// NN: nn.random_uniform %[[RNG]] {offset = 54 : i64} : (tensor<2xi64>) -> tensor<6x5xf32>
// NN-LABEL: func.func @loss_grad(
// NN-SAME: attributes {nn.mode = "train", nn.rng_counters = 84 : i64}
// NN-COUNT-2: nn.random_uniform
// NN-NOT: nn.random_uniform
// NN-LABEL: func.func @train_step(
// NN-SAME: attributes {nn.mode = "train", nn.rng_counters = 84 : i64}

// A model whose layers never ask for the mode: one forward, no mode.
// PLAIN-NOT: nn.mode =
// PLAIN-NOT: forward_train
// PLAIN-NOT: nn.rng
