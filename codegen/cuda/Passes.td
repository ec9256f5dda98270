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

    - forward: a `gpu.launch` of one block per sample, its threads over
      the sample's 2 tl + 1 extended labels (each thread every 32nd to
      256th of them): alpha's first time step, then a loop over the time
      steps with constant bounds whose body steps every thread's labels
      and ends in a `gpu.barrier` (steps past the sample's input length
      do nothing); thread 0 writes the negative log-likelihood (0 where
      it is infinite, with zero_infinity);
    - backward: a fill of the collected alpha beta products with -inf; a
      block per sample computing alpha the same way, its nll, then beta
      from the last time step down, a barrier per step, then one thread
      per time step collecting alpha beta per label over the positions
      in torch's order; an `scf.parallel` over every element of the
      gradient, (exp(lp) - exp(lcab + nll - lp)) grad_loss inside each
      sample's input length and 0 outside it.

    Why a block per sample: the recursion over time is sequential, but
    each time step's 2 tl + 1 log-sum-exps are independent, so T dependent
    steps of one barrier each replace T (2 tl + 1) on one thread. Every
    barrier is at the top of the kernel or of its time loops, which
    kiln-cuda-emulate-on-cpu runs phase by phase (and checks for races).
    Each phase reads the sample's lengths itself, so no value crosses a
    barrier. alpha and beta are scratch buffers of [T, N (2 S + 1)]
    floats ([T, 2 S + N] for concatenated targets), allocated around the
    kernels: run it after bufferization and before kiln-cpu-plan-memory,
    which places them in the workspace.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
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

def CUDABlockReductions : Pass<"kiln-cuda-block-reductions", "mlir::ModuleOp"> {
  let summary = "Reductions with few outputs or long contiguous rows -> a GPU block per output, reduced in shared memory";
  let description = [{
    `kiln-cuda-map-to-gpu` runs one thread per output element and reduces
    sequentially in it. That leaves a GPU idle when the outputs are few (a
    bias gradient of 10 channels over a batch, a loss's sum over all
    samples: one output) and reads a row-major row's terms one cache line
    per thread when the rows are long (a softmax's max and sum over 1000
    classes, a layer norm's statistics). This pass turns a
    `linalg.generic` on buffers (after memory planning, before
    `convert-linalg-to-parallel-loops`) with parallel loops first, then
    reductions, and static sizes, whose outputs are each either reduced
    (a float buffer indexed by a permutation of the parallel loops, yielded
    as `combine(acc, term)` where `acc` is used only there and `combine`
    is `arith.addf`, `mulf`, `maximumf`, `minimumf`, `maxnumf` or
    `minnumf`) or per term (indexed by a permutation of all loops: a fused
    loss's gradient beside its sum), at least one reduced, into a
    `gpu.launch` of one block per output element: thread t runs the
    iterations t, t + T, ... of its block's reduction (consecutive threads
    read consecutive terms), writing their per-term elements and combining
    their terms; the T partials of each reduced output meet in a
    `workgroup` buffer of T elements through log2(T) halvings each behind
    a `gpu.barrier`, and thread 0 combines the results into the outputs'
    initial values.
    T is the reduction's length rounded up to a power of two, between 32
    and `threads`. Taken when the reduction has at least 32 terms and
    either fewer than 4096 outputs, or at least 128 terms that an input
    reads along its unit-stride last dimension (a column sum over many
    outputs stays one thread per output: its threads already read
    consecutive addresses). Thresholds chosen by reasoning, not measured
    on a GPU yet. The terms are combined in another order (a tree, as
    cuBLAS and torch's CUDA reductions do). Every barrier is at the top
    level of the launch body, which `kiln-cuda-emulate-on-cpu` requires.
    With `remarks`, each rewrite is a remark.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "256",
           "Most threads per block (a power of two in [32, 1024])">,
    Option<"remarks", "remarks", "bool", "false",
           "Report each reduction given a block per output (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
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
    device memory from the host. A top-level `gpu.launch` (a kernel
    already, from `kiln-cuda-block-reductions`) stays as it is, in order;
    scalars loaded for it move into it like a loop's. With `remarks`, each
    op on one thread is a remark.
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
    inside, over their threads, running the body once per thread in order,
    and every
    `kiln_cuda_sgemm` call one `kiln_sgemm` call of the CPU runtime per
    batch; the collectives' CUDA versions (kiln_cuda_all_reduce_*,
    kiln_cuda_world_size) become the CPU ones, which take the same
    arguments. So the backend's own lowering (the GEMM calls' operands and
    leading dimensions, the mapping onto blocks and threads and its guards,
    the scalars loaded inside kernels, the one-thread kernels) runs, and is
    compared with torch, on a machine without a GPU. Not a fast path: one
    CPU thread, no vectors.
    Barriers: a kernel body is cut at its top-level `gpu.barrier` ops into
    phases, and each block runs every thread through one phase before any
    thread starts the next, which is what a barrier guarantees; its
    `workgroup` buffers are one stack buffer per block. A barrier loop (an
    `scf.for` at the top level of the body, with a barrier at the top
    level of its own body, bounds the same for every thread and no
    results: a recursion over time steps) becomes a loop of the block
    around its own phases. A value that one phase computes and a later one
    uses is recomputed there when it is pure (ids, index math,
    constants); any other such value, a barrier elsewhere in control
    flow, a barrier loop whose bounds depend on the thread, or `private`
    memory is an error: this backend's kernels
    (kiln-cuda-block-reductions, kiln-cuda-ctc-to-loops) have none of
    them.
    Races: since the threads run in order, a kernel whose threads race
    would still compute one of the results a GPU might. So every load and
    store of an emulated kernel first calls
    `kiln_emu_race_access(address, write, shared, block, thread, phase)`
    (between `kiln_emu_race_begin(launch)` and `kiln_emu_race_end()`,
    runtime/lib/emulation_races.cpp), which aborts with a message when two
    threads touch one element, one of them writing, in the same phase of
    one block or in different blocks.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect"];
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
