// RUN: kilnc %S/../../parity/models/mlp_threaded_basic.json --emit=llvm -o - | FileCheck %s

// Work is launched on the runtime's pool: the 136 x 160 forward GEMM splits
// into 17 x 5 thread tiles of 8 x 32, the 136 x 96 one into 17 x 1, the
// 136 x 10 logits GEMM (one 10-lane vector per row) into 17 x 1. The W^T
// copies (48 x 160 and 160 x 96, sides multiples of 16) run in 2 tiles of at
// most 128 x 128. Elementwise ops run in row blocks of >= 4096 elements:
// bias + ReLU of 136 x 160 in 4 blocks of 34 rows, of 136 x 96 in 2.
// Training adds the backward GEMMs (96 x 160 weight gradient in 2 x 5
// tiles, 160 x 48 in 4 x 1, ...), the ReLU masks and the SGD update of the
// 96 x 160 weight and its momentum buffer (3 blocks), and the bias
// gradients (column sums over the 136 rows) in column blocks of >= 4096
// iterations: 160 columns in 5 blocks of 32, 96 in 3; the 10 x 96 weight
// gradient of the head is a single tile and runs on the calling thread.
// (The kernels are inlined into their packed entry points.)
// CHECK: declare void @kiln_parallel_for(i64, ptr, ptr)
// CHECK-LABEL: define internal void @mlp_threaded_basic__forward_packed(
// CHECK: call void @kiln_parallel_for(i64 2, ptr nonnull @mlp_threaded_basic__forward_parallel_0_thunk
// CHECK: call void @kiln_parallel_for(i64 85, ptr nonnull @mlp_threaded_basic__forward_parallel_1_thunk
// CHECK: call void @kiln_parallel_for(i64 4, ptr nonnull @mlp_threaded_basic__forward_parallel_2_thunk
// CHECK: call void @kiln_parallel_for(i64 2, ptr nonnull @mlp_threaded_basic__forward_parallel_3_thunk
// CHECK: call void @kiln_parallel_for(i64 17, ptr nonnull @mlp_threaded_basic__forward_parallel_4_thunk
// CHECK: call void @kiln_parallel_for(i64 2, ptr nonnull @mlp_threaded_basic__forward_parallel_5_thunk
// CHECK: call void @kiln_parallel_for(i64 17, ptr nonnull @mlp_threaded_basic__forward_parallel_6_thunk
// CHECK-LABEL: define internal void @mlp_threaded_basic__train_step_packed(
// CHECK-COUNT-16: call void @kiln_parallel_for(i64 {{85|17|10|5|4|3|2}},
// CHECK-NOT: call void @kiln_parallel_for
