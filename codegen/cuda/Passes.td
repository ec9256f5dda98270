#ifndef KILN_CODEGEN_CUDA_PASSES
#define KILN_CODEGEN_CUDA_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CUDA
//===----------------------------------------------------------------------===//

def CUDAParallelIteratorsFirst : Pass<"kiln-cuda-parallel-iterators-first", "mlir::ModuleOp"> {
  let summary = "Interchange a linalg.generic's loops so that its parallel iterators come first";
  let description = [{
    A GPU kernel is launched over the parallel loops that enclose a
    generic's body; a reduction loop outside a parallel one (a column sum,
    `iterator_types = ["reduction", "parallel"]`) would become one launch
    per reduction step. This pass permutes the loops of every such generic
    (tensors or buffers) so that all parallel iterators are outermost, in
    their order, then the reductions, in theirs. The indexing maps change
    with the loops; what the generic computes does not.

    It also refuses a generic with a parallel loop that some output does
    not depend on: the GPU runs a kernel's parallel iterations at once, so
    they would race on those elements.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def CUDASplitReductions : Pass<"kiln-cuda-split-reductions", "mlir::ModuleOp"> {
  let summary = "Sums with few outputs and long loops -> parallel partial sums, then their sum";
  let description = [{
    A kernel runs one thread per output element and sums sequentially in
    it, so a sum with few outputs and a long loop (a batch norm's
    per-channel statistics, a convolution's bias gradient, a gradient norm
    over all parameters: one output, hundreds of thousands of terms) keeps
    a handful of threads busy. A `linalg.generic` on tensors whose loops
    are parallel first, then reductions (kiln-cuda-parallel-iterators-first),
    with one f32 output that is `init + sum(...)` (its body adds into the
    accumulator once), fewer than 4096 outputs and at least 4096 terms
    each, becomes two: `partial[out..., c]`, the sum over chunk `c` of the
    outermost reduction loop (split into up to 256 chunks that divide it,
    enough for 4096 threads in all; a new parallel loop), and
    `out = init + sum_c partial[out..., c]`. The terms are added in another
    order (as cuBLAS and torch's CUDA reductions do too). With `remarks`,
    each split is a remark.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "Report each split (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def CUDAMaterializeConstants : Pass<"kiln-cuda-materialize-constants", "mlir::ModuleOp"> {
  let summary = "Splat constant tensors -> linalg.fill of tensor.empty";
  let description = [{
    Bufferization turns a constant tensor into a `memref.global` in the
    object's data: a 512x784 zero tensor would be 1.6 MB of object and of
    PTX. A splat constant becomes a fill of a new tensor instead, which the
    GPU writes. Constants with distinct elements stay globals, which
    `kiln-cuda-sink-into-kernels` moves into the kernels' module.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def CUDACtcToLoops : Pass<"kiln-cuda-ctc-to-loops", "mlir::ModuleOp"> {
  let summary = "The CTC loss's runtime calls on buffers -> loops that become kernels";
  let description = [{
    On the CPU the CTC loss is a runtime routine (runtime/lib/ctc.cpp); on
    the GPU there is no such routine, so every `nn.library_call` of
    `kiln_ctc_loss_forward` or `kiln_ctc_loss_backward` on buffers becomes
    the same computation as loops, with the CPU routine's numerics:

    - forward: an `scf.parallel` over the samples; each computes its
      forward variables alpha (sequential loops over its own input length
      and its 2 tl + 1 extended labels) and writes its negative
      log-likelihood (0 where it is infinite, with zero_infinity);
    - backward: a fill of the collected alpha beta products with -inf; an
      `scf.parallel` over the samples computing alpha, beta and those
      products per (time, label); an `scf.parallel` over every element of
      the gradient, (exp(lp) - exp(lcab + nll - lp)) grad_loss inside each
      sample's input length and 0 outside it.

    kiln-cuda-map-to-gpu makes each `scf.parallel` a kernel: one GPU thread
    per sample for the recursions (a recursion over time is sequential),
    one per element for the fill and the gradient. alpha and beta are
    scratch buffers of [T, N (2 S + 1)] floats ([T, 2 S + N] for
    concatenated targets), allocated around the loops: run it after
    bufferization and before kiln-cpu-plan-memory, which places them in
    the workspace.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def CUDAGemmToRuntime : Pass<"kiln-cuda-gemm-to-runtime", "mlir::ModuleOp"> {
  let summary = "f32 matmuls on buffers -> kiln_cuda_sgemm calls (cuBLAS through libkiln_rt)";
  let description = [{
    `linalg.matmul`, `linalg.matmul_transpose_a`, `linalg.matmul_transpose_b`
    and their `batch_` forms on f32 buffers whose rows are contiguous become
    one call each of

      void kiln_cuda_sgemm(i32 trans_a, i32 trans_b, i64 m, i64 n, i64 k,
                           i64 a, i64 lda, i64 b, i64 ldb, f32 beta,
                           i64 c, i64 ldc, i64 batch,
                           i64 stride_a, i64 stride_b, i64 stride_c)

    (row-major `C = op(A) op(B) + beta C`, pointers as i64; the runtime
    queues it on the instance's stream through cuBLAS). A zero fill of the
    output right before the contraction folds into the call (beta = 0).
    Other contractions stay generics and become GPU loops. With
    `remarks`, each product says which it became, and why not a call.
    Precondition: after bufferization and memory planning.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "Report each product's cuBLAS call or why it stays loops (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CUDAMapToGPU : Pass<"kiln-cuda-map-to-gpu", "mlir::ModuleOp"> {
  let summary = "Map the host functions' loops onto GPU blocks and threads";
  let description = [{
    Runs on buffers after `convert-linalg-to-parallel-loops`. Every
    top-level `scf.parallel` of a function becomes one kernel: its
    iteration space is collapsed to one dimension and tiled by `threads`,
    the tiles mapped to blocks (x) and their iterations to threads (x), a
    guard skipping the iterations past the end; loops inside stay
    sequential in each thread. Any other top-level op that reads or
    writes memory (a full reduction's loop nest, a 0-d op's load and
    store) runs on one thread of a one-block kernel, so nothing touches
    device memory from the host. With `remarks`, each such op is a remark.
    An `nn.library_call` (a convolution, the CTC loss, a collective:
    runtime routines only the CPU has so far) is an error naming it: a
    CUDA object never runs part of a step on the CPU behind the user's
    back.
    `convert-parallel-loops-to-gpu` then turns the mapped loops into
    `gpu.launch` regions.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "256", "Threads per block">,
    Option<"remarks", "remarks", "bool", "false",
           "Report the ops that run on one GPU thread (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def CUDASinkIntoKernels : Pass<"kiln-cuda-sink-into-kernels", "mlir::ModuleOp"> {
  let summary = "Constants, index computations and constant tensors into the gpu.launch bodies";
  let description = [{
    What `gpu-launch-sink-index-computations` sinks (constants, `memref.dim`,
    `arith.select`, `arith.cmpi`), and also a constant tensor's
    `memref.get_global` with the views of it: a global of the host module
    is host memory, which a kernel cannot read, while one that
    `gpu-kernel-outlining` copies into the kernel's module is in the PTX,
    loaded into device memory with it. Runs before outlining.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CUDAEmulateOnCPU : Pass<"kiln-cuda-emulate-on-cpu", "mlir::ModuleOp"> {
  let summary = "gpu.launch -> sequential loops, kiln_cuda_sgemm -> kiln_sgemm (testing without a GPU)";
  let description = [{
    `kilnc --target=cuda --emulate-gpu`: after `convert-parallel-loops-to-gpu`,
    every one-dimensional `gpu.launch` becomes a loop over its blocks and,
    inside, over their threads, running the body once per thread in order
    (no kernel of this backend synchronises its threads), and every
    `kiln_cuda_sgemm` call one `kiln_sgemm` call of the CPU runtime per
    batch; the collectives' CUDA versions (kiln_cuda_all_reduce_*,
    kiln_cuda_world_size) become the CPU ones, which take the same
    arguments. So the backend's own lowering (the GEMM calls' operands and
    leading dimensions, the mapping onto blocks and threads and its guards,
    the scalars loaded inside kernels, the one-thread kernels) runs, and is
    compared with torch, on a machine without a GPU. Not a fast path: one
    CPU thread, no vectors.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def CUDALaunchToRuntime : Pass<"kiln-cuda-launch-to-runtime", "mlir::ModuleOp"> {
  let summary = "gpu.launch_func -> kiln_cuda_launch calls; the kernels into one gpu.module";
  let description = [{
    After `gpu-kernel-outlining`: every kernel moves into one
    `gpu.module @kiln_kernels` under its module's (unique) name, listed in
    order in the module attribute `kiln.cuda.kernels`, so that the object
    carries one PTX module that the runtime loads once per instance.
    Each host-side launch becomes

      memref.store ... : memref<Nxi64>   // one 8-byte slot per argument
      func.call @kiln_cuda_launch(i32 kernel, i64 blocks, i64 threads,
                                  i64 args, i32 num_args)

    Buffers pass their aligned pointer (the kernels take bare pointers and
    apply static offsets themselves), index and integer values their
    value, f32 its bits. Only one-dimensional grids and blocks are taken
    (what `kiln-cuda-map-to-gpu` makes).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::gpu::GPUDialect"];
}

#endif // KILN_CODEGEN_CUDA_PASSES
