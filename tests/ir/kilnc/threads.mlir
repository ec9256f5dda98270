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
// for the weight gradients; accumulate = 0, the zero fill folded in), whose
// calls also add up the bias gradients (the column sums of dY, passed last),
// the ReLU masks (136 x 96 in 2 row blocks; 136 x 160 merged into one launch
// with the 160-element zero fill of a bias gradient: 21920 iterations) and
// the SGD update of all six parameters as one launch over their 24266
// elements and the step counter: 160 x 48 + 160 + 96 x 160 + 96 + 10 x 96 +
// 10 + 1 = 24267. (The kernels are inlined into their packed entry points.)
// CHECK-DAG: declare void @kiln_sgemm(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32)
// CHECK-DAG: declare void @kiln_sgemm_fused(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32, i64, i32, i64, i64, i64)
// CHECK-DAG: declare void @kiln_parallel_for(i64, ptr, ptr)
// CHECK-LABEL: define internal void @mlp_threaded_basic__forward_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, i64 %{{.+}}, i64 48, i64 1, i64 %{{.+}}, i64 1, i64 48, i64 %{{.+}}, i64 160, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 160, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, i64 %{{.+}}, i64 160, i64 1, i64 %{{.+}}, i64 1, i64 160, i64 %{{.+}}, i64 96, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 96, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 1, i64 96, i64 %{{.+}}, i64 10, i32 0, i64 %{{.+}}, i32 0, i64 0, i64 0, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK-LABEL: define internal void @mlp_threaded_basic__gradients_packed(
// CHECK-LABEL: define internal void @mlp_threaded_basic__train_step_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, {{.+}}, i32 1, {{.+}}, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, {{.+}}, i32 1, {{.+}}, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, {{.+}}, i32 0, i64 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm(i64 136, i64 96, i64 10, i64 %{{.+}}, i64 10, i64 1, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0)
// CHECK: call void @kiln_sgemm_fused(i64 10, i64 96, i64 136, i64 %{{.+}}, i64 1, i64 10, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0, i64 0, i32 0, i64 0, i64 0, i64 %{{.+}})
// CHECK: call void @kiln_parallel_for(i64 2,
// CHECK: call void @kiln_sgemm(i64 136, i64 160, i64 96, {{.+}}, i32 0)
// CHECK: call void @kiln_sgemm_fused(i64 96, i64 160, i64 136, i64 %{{.+}}, i64 1, i64 96, {{.+}}, i32 0, i64 0, i32 0, i64 0, i64 0, i64 %{{.+}})
// CHECK: call void @kiln_parallel_for(i64 21920,
// CHECK: call void @kiln_sgemm_fused(i64 160, i64 48, i64 136, i64 %{{.+}}, i64 1, i64 160, {{.+}}, i32 0, i64 0, i32 0, i64 0, i64 0, i64 %{{.+}})
// CHECK: call void @kiln_parallel_for(i64 24267, ptr nonnull @mlp_threaded_basic__train_step_tasks_
// CHECK-NOT: call void @kiln_sgemm
// CHECK-NOT: call void @kiln_parallel_for({{.+}}train_step
