// RUN: kilnc %S/../../parity/models/mlp_threaded_basic.json --emit=llvm -o - | FileCheck %s
// RUN: kilnc %S/../../parity/models/mlp_threaded_basic.json --emit=llvm --gemm-epilogues=false -o - | FileCheck %s --check-prefix=OFF

// --gemm-epilogues=false: plain GEMM calls, the bias, ReLU, masks and bias
// gradients in loops of their own.
// OFF-NOT: kiln_sgemm_fused
// OFF: call void @kiln_sgemm(
// OFF: call void @kiln_parallel_for(
// OFF-NOT: kiln_sgemm_fused

// Work is launched on the runtime's pool. Every GEMM is one call of the
// runtime's packed GEMM (kiln_sgemm: m, n, k, then address and (row, col)
// strides of A, B and C, then accumulate), which threads itself; nn.linear's
// x W^T passes W with swapped strides (1, K) instead of copying W^T. The
// forward GEMMs call kiln_sgemm_fused: the bias broadcast before each is
// folded in (accumulate = 0, then the bias address) and the ReLU after the
// hidden ones computed in the epilogue (activation 1, then the ReLU's buffer
// and row stride; the 10-class head: activation 0, no buffer), so the
// forward launches nothing but GEMMs. Training adds the backward GEMMs: the
// weight gradients dY^T X (A read through strides (1, 10) etc.;
// accumulate = 0, the zero fill folded in), whose calls also add up the
// bias gradients (the column sums of dY, passed last), and the input
// gradients dY W, whose calls apply the ReLU masks in their epilogue
// (activation 2: the masked gradient's buffer, then the gate, the forward
// GEMM's output). What is left to launch is the SGD update of all six
// parameters as one loop over their 24266 elements and the step counter:
// 160 x 48 + 160 + 96 x 160 + 96 + 10 x 96 + 10 + 1 = 24267. (The kernels
// are inlined into their packed entry points.)
// CHECK-DAG: declare void @kiln_sgemm_fused(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32, i64, i32, i64, i64, i64, i64, i64)
// CHECK-DAG: declare void @kiln_parallel_for(i64, ptr, ptr)
// CHECK-LABEL: define internal void @mlp_threaded_basic__forward_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, i64 %{{.+}}, i64 48, i64 1, i64 %{{.+}}, i64 1, i64 48, i64 %{{.+}}, i64 160, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 160, i64 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, i64 %{{.+}}, i64 160, i64 1, i64 %{{.+}}, i64 1, i64 160, i64 %{{.+}}, i64 96, i32 0, i64 %{{.+}}, i32 1, i64 %{{.+}}, i64 96, i64 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 1, i64 96, i64 %{{.+}}, i64 10, i32 0, i64 %{{.+}}, i32 0, i64 0, i64 0, i64 0, i64 0, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK-LABEL: define internal void @mlp_threaded_basic__gradients_packed(
// CHECK-LABEL: define internal void @mlp_threaded_basic__train_step_packed(
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 48, {{.+}}, i32 1, {{.+}}, i64 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 160, {{.+}}, i32 1, {{.+}}, i64 0, i64 0, i64 0)
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 10, i64 96, {{.+}}, i32 0, i64 0, i64 0, i64 0, i64 0, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK: call void @kiln_sgemm_fused(i64 10, i64 96, i64 136, i64 %{{.+}}, i64 1, i64 10, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0, i64 0, i32 0, i64 0, i64 0, i64 0, i64 0, i64 %{{.+}})
// CHECK-NOT: call void @kiln_parallel_for
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 96, i64 10, i64 %{{.+}}, i64 10, i64 1, i64 %{{.+}}, i64 96, i64 1, i64 %{{.+}}, i64 96, i32 0, i64 0, i32 2, i64 %{{.+}}, i64 96, i64 %{{.+}}, i64 96, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK: call void @kiln_sgemm_fused(i64 96, i64 160, i64 136, i64 %{{.+}}, i64 1, i64 96, {{.+}}, i32 0, i64 0, i32 0, i64 0, i64 0, i64 0, i64 0, i64 %{{.+}})
// CHECK-NOT: call void @kiln_parallel_for
// CHECK: call void @kiln_sgemm_fused(i64 136, i64 160, i64 96, {{.+}}, i32 0, i64 0, i32 2, i64 %{{.+}}, i64 160, i64 %{{.+}}, i64 160, i64 0)
// CHECK-NOT: call void @kiln_parallel_for
// CHECK: call void @kiln_sgemm_fused(i64 160, i64 48, i64 136, i64 %{{.+}}, i64 1, i64 160, {{.+}}, i32 0, i64 0, i32 0, i64 0, i64 0, i64 0, i64 0, i64 %{{.+}})
// The update of every parameter is one launch; its loop is apply's, so
// LLVM's MergeFunctions leaves one thunk for both (either name).
// CHECK: call void @kiln_parallel_for(i64 24267, ptr nonnull @mlp_threaded_basic__{{train_step|apply}}_tasks_
// CHECK-NOT: call void @kiln_sgemm
// CHECK-NOT: call void @kiln_parallel_for
// CHECK-LABEL: define internal void @mlp_threaded_basic__accumulate_packed(
