// RUN: kilnc %S/../../parity/models/mlp_threaded_basic.json --emit=llvm -o - | FileCheck %s

// Work is launched on the runtime's pool. Every GEMM is one call of the
// runtime's packed GEMM (kiln_sgemm: m, n, k, then address and (row, col)
// strides of A, B and C, then accumulate), which threads itself; nn.linear's
// x W^T passes W with swapped strides (1, K) instead of copying W^T. The
// forward GEMMs call kiln_sgemm_fused: the bias broadcast before each is
// folded in (accumulate = 0, then the bias address) and the ReLU after the
// hidden ones computed in the epilogue (activation 1, then the ReLU's buffer
// and row stride; the 10-class head: activation 0, no buffer), so the
// forward launches nothing but GEMMs. Training adds the backward GEMMs (dY W
// for the input gradients, dY^T X with A read through strides (1, 10) etc.
// for the weight gradients; accumulate = 0, the zero fill folded in), the
// ReLU masks (136 x 96 and 136 x 160, each merged into one launch with a
// small op of 10 or 96 elements: 13066 and 21856 iterations), the bias
// gradients (column sums over the 136 rows, in column blocks of >= 4096
// iterations: 96 columns in 3, 160 in 5) and the SGD update of all six
// parameters as one launch over their 24266 elements and the step counter:
// 160 x 48 + 160 + 96 x 160 + 96 + 10 x 96 + 10 + 1 = 24267. (The kernels
// are inlined into their packed entry points.)
// CHECK-DAG: declare void @kiln_sgemm(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32)
// CHECK-DAG: declare void @kiln_sgemm_fused(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32, i64, i32, i64, i64)
// CHECK-DAG: declare void @kiln_parallel_for(i64, ptr, ptr)
// CHECK-LABEL: define internal void @mlp_threaded_basic__forward_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, i64 %{{.+}}, i64 48, i64 1, i64 %{{.+}}, i64 1, i64 48, i64 %{{.+}}, i64 160, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 160)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, i64 %{{.+}}, i64 160, i64 1, i64 %{{.+}}, i64 1, i64 160, i64 %{{.+}}, i64 96, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 96)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 1, i64 96, i64 %{{.+}}, i64 10, i32 0, i64 %{{.+}}, i32 0, i64 0, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK-LABEL: define internal void @mlp_threaded_basic__gradients_packed(
// CHECK-LABEL: define internal void @mlp_threaded_basic__train_step_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, {{.+}}, i32 1, {{.+}})
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, {{.+}}, i32 1, {{.+}})
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, {{.+}}, i32 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm(i64 136, i64 96, i64 10, i64 %{{.+}}, i64 10, i64 1, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0)
// CHECK: call void @kiln_sgemm(i64 10, i64 96, i64 136, i64 %{{.+}}, i64 1, i64 10, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0)
// CHECK: call void @kiln_parallel_for(i64 13066,
// CHECK: call void @kiln_sgemm(i64 136, i64 160, i64 96, {{.+}}, i32 0)
// CHECK: call void @kiln_sgemm(i64 96, i64 160, i64 136, i64 %{{.+}}, i64 1, i64 96, {{.+}}, i32 0)
// CHECK: call void @kiln_parallel_for(i64 3,
// CHECK: call void @kiln_sgemm(i64 160, i64 48, i64 136, i64 %{{.+}}, i64 1, i64 160, {{.+}}, i32 0)
// CHECK: call void @kiln_parallel_for(i64 5,
// CHECK: call void @kiln_parallel_for(i64 24267, ptr nonnull @mlp_threaded_basic__train_step_tasks_
// CHECK-NOT: call void @kiln_sgemm
// CHECK-NOT: call void @kiln_parallel_for({{.+}}train_step
