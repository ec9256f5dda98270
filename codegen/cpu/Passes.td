#ifndef KILN_CODEGEN_CPU_PASSES
#define KILN_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CPU
//===----------------------------------------------------------------------===//

def CPUMaterializeTransposes : Pass<"kiln-cpu-materialize-transposes", "mlir::ModuleOp"> {
  let summary = "Copy B^T before a linalg.matmul_transpose_b, then multiply plainly (tensors)";
  let description = [{
    The target-independent lowering writes `y = x W^T` (nn.linear) as one
    contraction with a transposed operand. The CPU kernels would read that
    operand with a stride of K; copying it once (O(NK), itself tiled and
    threaded by `kiln-cpu-tile-and-vectorize`) lets the O(MNK) product read
    rows contiguously, which is cheaper for every batch size we run.

      %y = linalg.matmul_transpose_b ins(%x, %w : tensor<MxKxf32>, tensor<NxKxf32>)
                                     outs(%acc : tensor<MxNxf32>)

    becomes

      %e = tensor.empty() : tensor<KxNxf32>
      %wt = linalg.transpose ins(%w : tensor<NxKxf32>) outs(%e : tensor<KxNxf32>)
                             permutation = [1, 0]
      %y = linalg.matmul ins(%x, %wt : tensor<MxKxf32>, tensor<KxNxf32>)
                         outs(%acc : tensor<MxNxf32>)

    Runs first in the CPU pipeline, on tensors; a contraction on buffers or
    with dynamic shapes is left as it is (it still lowers, to loops).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def CPUFuseRowReductions : Pass<"kiln-cpu-fuse-row-reductions", "mlir::ModuleOp"> {
  let summary = "Compute row reductions per block of rows inside their consumer's loop (tensors)";
  let description = [{
    A `linalg.generic` that reads per-row statistics (the max and the sum
    of exponentials of a softmax or a cross entropy, a norm's mean) would
    otherwise run after one full pass over the tensor per statistic. This
    pass tiles such a consumer along its outermost parallel loop that
    indexes every output (rows) and fuses into that loop the reductions it
    reads, and the generics and fills that only feed them
    (`scf::tileAndFuseProducerOfSlice`): per block of rows, the statistics
    and then the consumer, while the rows are in L1. A producer with a
    user outside the group is not moved (it would be computed twice), nor
    one that every block reads whole (each block would compute all of it),
    and a producer result is fused once per slice and reused by every op
    of the loop that reads the same slice.

    Blocks: the thread tasks `kiln-cpu-tile-and-vectorize` would make for
    the consumer (`scf.forall`, blocks of at least 4096 iterations) when
    there are two or more; else sequential `scf.for` blocks of at most 4096
    iterations when the rows do not fit one; else nothing changes. The loop
    carries `kiln.fused_rows`, so that `kiln-cpu-tile-and-vectorize` does
    not tile its ops again. Runs on tensors, before it. With `remarks`,
    each group fused or left alone is a remark at the consumer.

    Before (softmax rows):
    ```mlir
    %m = linalg.generic {iterator_types = ["parallel", "reduction"]} ins(%x) outs(%m0)   // max
    %s = linalg.generic {iterator_types = ["parallel", "reduction"]} ins(%x, %m) outs(%s0) // sum exp
    %p = linalg.generic {iterator_types = ["parallel", "parallel"]} ins(%x, %m, %s) outs(%e)
    ```
    After:
    ```mlir
    %p = scf.forall (%b) in (4) shared_outs(%o = %e) {
      %xb = tensor.extract_slice %x[%b * 16, 0] [16, 1000] [1, 1]
      %mb = linalg.generic ... ins(%xb) ...          // max of 16 rows
      %sb = linalg.generic ... ins(%xb, %mb) ...     // their sums
      %pb = linalg.generic ... ins(%xb, %mb, %sb) ...
      scf.forall.in_parallel { tensor.parallel_insert_slice %pb into %o[...] }
    } {kiln.fused_rows}
    ```
  }];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "Report each group fused or left alone (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::tensor::TensorDialect"];
}

def CPUTileAndVectorize : Pass<"kiln-cpu-tile-and-vectorize", "mlir::ModuleOp"> {
  let summary = "Tile contractions for threads and registers and vectorize them (tensors)";
  let description = [{
    Tiles every `linalg.matmul` / `linalg.matmul_transpose_a`: an
    `scf.forall` over thread tiles (at most 64 x 128, dividing the result),
    then `scf.for` register tiles 8 x 32 x 1 (8 x 16 x 1 when N is not a
    multiple of 32; an M in [4, 16] or N in [5, 32] that these do not divide
    is taken whole, e.g. one 10-lane vector for 10 classes), vectorized. An M
    or N that these do not divide is first split (linalg::splitOp) into a
    part they divide and a remainder of fewer than 8 rows / 16 columns,
    which is a register tile of its own when it has at least 4 rows / 5
    columns and otherwise keeps the scalar path. 2-D `linalg.transpose`
    with sides that are multiples of 16 (the W^T copies) gets thread tiles
    of at most 128 x 128 and 16 x 16 register blocks transposed in
    vectors. All-parallel `linalg.generic` ops get an `scf.forall` over row
    blocks of at least 4096 elements when that makes two or more tasks.
    Runs on tensors, before bufferization. With `remarks`, each generic
    that stays sequential says why, as a remark at its location.
  }];
  let options = [
    Option<"tileContractions", "tile-contractions", "bool", "true",
           "Tile and vectorize matmuls here (false: kiln-cpu-gemm-to-runtime "
           "calls the runtime's GEMM for them later)">,
    Option<"remarks", "remarks", "bool", "false",
           "Report generics left sequential and why (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CPULowerVectors : Pass<"kiln-cpu-lower-vectors", "mlir::ModuleOp"> {
  let summary = "Hoist and lower vectorized contractions to FMAs (memrefs)";
  let description = [{
    After bufferization: folds subviews into transfers, hoists loop
    invariant accumulator reads/writes out of the reduction loop, and lowers
    `vector.contract` to outer products (broadcast + FMA).
  }];
  let dependentDialects = ["::mlir::transform::TransformDialect",
                           "::mlir::vector::VectorDialect"];
}

def CPUSplitDeallocs : Pass<"kiln-cpu-split-deallocs", "mlir::ModuleOp"> {
  let summary = "One bufferization.dealloc per memref, so none needs a helper function";
  let description = [{
    Between buffer-deallocation-simplification and
    bufferization-lower-deallocations. A `bufferization.dealloc` of several
    memrefs that retains nothing (the ownership-based deallocation leaves
    one where a buffer may alias another: an scf.if that yields either a
    fresh buffer or an existing one) is lowered upstream through a
    generated helper function over dynamically shaped memrefs, which the
    bare-pointer calling convention of Kiln's kernels cannot express.
    Instead each memref i gets a dealloc of its own under condition
    `cond_i and not (some earlier j is freed and has the same base
    pointer)`, so each allocation is still freed once, exactly when any of
    its conditions holds. Deallocs that retain values stay as they are.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CPUPlanMemory : Pass<"kiln-cpu-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place kernel temporaries in one caller-provided workspace (memrefs)";
  let description = [{
    After bufferization: in every public function that nothing calls (the
    kernels), each `memref.alloc` of the entry block with a static shape and
    identity layout whose aliases never escape (only view-like ops derive
    from it) gets an offset in one workspace buffer instead of a heap
    allocation. Its lifetime runs from the alloc to the last use of any
    alias, in entry-block order (a use inside a loop or a call keeps the
    buffer alive for the whole op). Buffers whose lifetimes do not overlap
    share bytes: largest first, each at the lowest 64-byte aligned offset
    free for its lifetime. Each alloc becomes a `memref.view` of a new
    trailing argument `memref<Nxi8>`, its deallocs are erased, and the
    function gets `kiln.workspace_bytes = N`. The runtime allocates the
    workspace once per model instance (docs/runtime-abi.md), so a kernel
    call does no heap allocation for these buffers and never page-faults on
    fresh memory.

    With `report` (kilnc --memory-report), each planned kernel gets a remark
    with its workspace, the number of planned buffers and the sum of their
    sizes, and the peak: the most bytes live at once and the op where that
    happens (a remark at its location, the model file's JSON path); the
    largest buffers get a remark each at the op that produced them.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Report each kernel's plan as remarks (kilnc --memory-report)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CPUGemmToRuntime : Pass<"kiln-cpu-gemm-to-runtime", "mlir::ModuleOp"> {
  let summary = "Replace f32 contractions (2-D and batched) on buffers by calls of the runtime's packed GEMM (memrefs)";
  let description = [{
    After bufferization and memory planning: every `linalg.matmul`,
    `linalg.matmul_transpose_a` and `linalg.matmul_transpose_b` on rank-2
    f32 memrefs with static shapes, whose output has contiguous rows,
    becomes a call of libkiln_rt's `kiln_sgemm` (docs/runtime-abi.md),
    which packs, blocks and threads the product (runtime/lib/gemm.cpp).
    Transposition is passed as strides (no transposed copy); addresses are
    the views' aligned pointers plus their offsets.

      linalg.fill ins(%zero) outs(%c)
      linalg.matmul_transpose_b ins(%x, %w : memref<MxK>, memref<NxK>) outs(%c)

    becomes

      func.call @kiln_sgemm(M, N, K, x, K, 1, w, 1, K, c, N, /*accumulate=*/0)

    A zero `linalg.fill` of the same output immediately before the
    contraction is folded in (accumulate = 0); otherwise the call adds to the
    output (accumulate = 1). `linalg.batch_matmul`,
    `linalg.batch_matmul_transpose_a` and `linalg.batch_matmul_transpose_b`
    on rank-3 f32 memrefs become one call of `kiln_sgemm_batched` (batch
    strides added; the items' blocks share the thread pool). Other
    contractions (integer, dynamic shapes) and any whose output may
    overlap an input (the same buffer
    after stripping subviews, casts and reshapes) are left to the loop
    lowering. With `remarks`, each contraction says which it became (and
    with which layout and accumulation), or why it stays loops, and a
    call whose result the next op reads again elementwise says that this
    op was not fused into it, and why.

    With `epilogues` (the default), a linear layer's bias and ReLU join the
    call as the epilogue of `kiln_sgemm_fused`, computed while each tile of
    the output is in registers instead of in passes of their own:

      linalg.broadcast ins(%bias : memref<N>) outs(%c) dimensions = [0]
      linalg.matmul_transpose_b ins(%x, %w) outs(%c)
      scf.forall (%i) = (0) to (M) step (s) {   // or the generic alone
        linalg.generic ins(rows %i.. of %c) outs(rows %i.. of %y) {
          arith.maximumf %in, 0.0 }
      }

    becomes

      func.call @kiln_sgemm_fused(M, N, K, x, ..., c, N, /*accumulate=*/0,
                                  bias, /*KILN_GEMM_RELU*/1, y, N)

    The broadcast must be of N contiguous f32 right before the contraction.
    The ReLU (or a ReLU backward mask, `select(cmpf ogt (z, 0), g, 0)`,
    threshold_backward's lowering, with g the output: an input gradient
    dY W masked for the layer below) must read exactly the output and write
    a buffer of its shape that overlaps neither operand nor the bias and is
    the output itself or does not overlap it; the mask's gate z may not
    overlap what the call writes. It is found among the next 8 ops with
    memory effects when the ones before it are linalg ops on buffers (or
    scf.foralls of them) that touch none of the output and write neither
    operand nor the bias: they run before the call then, which stands
    where the ReLU or mask stood. The output is still written (a training
    step keeps it for the backward).
    The same call adds up a weight gradient's bias gradient: after
    `linalg.matmul_transpose_a ins(%dy, %x)`, the column sum of exactly %dy
    (a generic with maps (d0, d1) -> (d0, d1), (d0, d1) -> (d1), or the
    scf.forall of column blocks made of one), found the same way, becomes
    the call's `a_sums` argument, and the call stands where the sum stood.
    The summation orders are the unfused ones: results are bit-identical.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "Report each contraction's call, or why it stays loops, and the "
           "elementwise op after it left unfused (kilnc --remarks)">,
    Option<"epilogues", "epilogues", "bool", "true",
           "Fold a bias broadcast before and a ReLU or ReLU backward mask "
           "after a contraction, and the bias gradient after a weight "
           "gradient, into the call (kiln_sgemm_fused)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CPULibraryCallsToRuntime
    : Pass<"kiln-cpu-library-calls-to-runtime", "mlir::ModuleOp"> {
  let summary = "Replace nn.library_call ops on buffers by calls of libkiln_rt (memrefs)";
  let description = [{
    After bufferization and memory planning: every `nn.library_call` (the
    convolutions of passes/LowerConvLibrary.cpp) becomes a `func.call` of
    its routine in libkiln_rt (docs/runtime-abi.md), with the parameters as
    a constant `memref.global` of i64 and every buffer as the address of its
    first element; pointers travel as i64. A forward convolution without a
    bias passes 0 for it.

      nn.library_call "kiln_sconv_forward" [1, 3, 8, ...]
          ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>)
          outs(%y : memref<1x8x6xf32>)

    becomes

      %g = memref.get_global @__kiln_params_0 : memref<21xi64>
      func.call @kiln_sconv_forward(g, x, w, 0, y)

    Every buffer must be contiguous (bufferization of the op guarantees it);
    a call that is still on tensors, or a strided buffer, is an error.

    The CUDA pipeline runs it with `collectives-only` and `prefix=kiln_cuda_`:
    the data-parallel collectives (kiln_all_reduce_*, kiln_world_size)
    become calls of the runtime's CUDA versions (kiln_cuda_all_reduce_mean,
    ..., on device pointers), and every other routine is left for
    kiln-cuda-map-to-gpu to refuse by name.
  }];
  let options = [
    Option<"collectivesOnly", "collectives-only", "bool", /*default=*/"false",
           "Only the data-parallel collectives (kiln_all_reduce_*, kiln_world_size)">,
    Option<"prefix", "prefix", "std::string", /*default=*/"\"kiln_\"",
           "What replaces the routine's leading 'kiln_' in the callee">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CPUMergeParallelLoops : Pass<"kiln-cpu-merge-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Merge independent parallel loops and the small ops beside them into one launch (memrefs)";
  let description = [{
    After bufferization and memory planning, before
    `kiln-cpu-outline-parallel`: a run of ops in a block made of
    `scf.forall` loops (static bounds, a body of linalg ops) and linalg ops
    on buffers (each one task), none of which reads or writes what another
    writes, becomes one private function over the run's iterations laid
    end to end,

      func.func private @<parent>_tasks_<k>(%begin: index, %end: index,
                                            <captured values>...)
          attributes {kiln.parallel_body}

    that runs, for each member in order, the tasks whose first iteration is
    in [begin, end), and the run becomes one call over (0, total). The
    launch then splits the work evenly by iterations, whatever the members'
    sizes: the optimizer update of every parameter is one pass on the pool
    (torch's multi-tensor update) instead of one launch per large parameter
    and the small ones on the calling thread. Only runs with at least one
    `scf.forall` are merged (a run of small ops alone would pay a launch it
    did not pay before). Independence is decided on roots and byte ranges:
    workspace views at constant offsets are disjoint when their bytes are;
    distinct allocations never alias; distinct arguments of a kernel (a
    public function that nothing calls) do not alias when one is written
    (docs/runtime-abi.md); anything else may. Memory-effect-free ops
    between members stay in place; any other op ends a run. With `remarks`,
    each merge is reported at its first member, and each parallel loop that
    a dependence keeps out of the launch before it.

      scf.forall (%i) = (0) to (512) step (8) { linalg.generic ... %w ... }
      linalg.generic ... %b ...            // 512 iterations, one task

    becomes

      call @f_tasks_0(%c0, %c262656, %w, %b, ...)
  }];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "Report the launches merged, and parallel loops kept apart by a "
           "dependence (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def CPUOutlineParallel : Pass<"kiln-cpu-outline-parallel", "mlir::ModuleOp"> {
  let summary = "Outline scf.forall thread tiles into functions over a linear range (memrefs)";
  let description = [{
    After bufferization: every outermost `scf.forall` without results
    becomes a private function

      func.func private @<parent>_parallel_<k>(%begin: index, %end: index,
                                               <captured values>...)
          attributes {kiln.parallel_body}

    that runs the linearised iterations [begin, end) in order, and the loop
    is replaced by a call over the whole range, `(0, trip count)`. The
    result is still sequential and correct on its own;
    `kiln-cpu-launch-parallel` later turns each such call into a
    `kiln_parallel_for` launch. Constants are cloned into the body rather
    than captured. A loop that captures a value the launch cannot pass
    through memory (a memref whose layout is not static, or an unsupported
    type) is left alone and runs sequentially.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def CPULaunchParallel : Pass<"kiln-cpu-launch-parallel", "mlir::ModuleOp"> {
  let summary = "Turn calls of outlined parallel bodies into kiln_parallel_for launches (LLVM dialect)";
  let description = [{
    After conversion to the LLVM dialect: each call of an `llvm.func` marked
    `kiln.parallel_body` (arguments `begin, end, captures...`) becomes

      ctx = {begin, captures...} on the caller's stack
      kiln_parallel_for(end - begin, @<body>_thunk, &ctx)

    where the generated thunk `(i64 b, i64 e, ptr ctx)` reloads the
    captures and calls the body over `[begin + b, begin + e)`.
    `kiln_parallel_for` (libkiln_rt, docs/runtime-abi.md) splits the range
    into contiguous chunks, one per pool thread, and returns when all are
    done, so the stack context outlives every chunk.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def CPUApproximateMath : Pass<"kiln-cpu-approximate-math", "mlir::ModuleOp"> {
  let summary = "Expand f32 math.exp and math.tanh into polynomials LLVM can vectorize (scalars and vectors)";
  let description = [{
    `math.exp` and `math.tanh` on f32 would become calls of libm's `expf`
    and `tanhf`, which LLVM's loop vectorizer cannot widen (no vector math
    library is linked), so a loop that computes them stays scalar: on a
    wide classification head the `expf` calls alone were a quarter of the
    train step, and in W5's LSTM `tanhf` (with the `expm1f` it calls) was
    27 % of the profile. This pass rewrites each f32 `math.exp` and
    `math.tanh` into MLIR's polynomial approximation:

    - exp: range reduction by ln 2, a degree-7 polynomial, the exponent put
      back by bit arithmetic (fma, floor, bit casts, selects). Measured
      over every f32 in [-104, 89] against exp in double precision rounded
      to f32: at most 6 ulp (at 88.72, where the result nears FLT_MAX).
      exp(-inf) = 0, exp(+inf) = +inf, NaN stays NaN. Below exp(-87.8) (a
      subnormal result) it returns 0: an absolute error under 1.2e-38.
    - tanh: Eigen's rational approximation (odd numerator of degree 13
      over an even denominator of degree 6) on the input clamped to
      +-7.9988, and x itself below |x| = 0.0004. Measured over every
      non-NaN f32 against tanh in double precision: at most 5 ulp (at
      3.737) and relative error 2.9e-7 (at 5.126). +-0, +-inf (+-1) and
      NaN come out as torch's.

    Both are far inside the rel 1e-5 the parity tests ask. Other math ops
    (erf, log, ...) keep their libm or LLVM lowering. Runs just before the
    math-to-LLVM conversion, so the fusion heuristics before it still see
    one `math.exp` or `math.tanh`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // KILN_CODEGEN_CPU_PASSES
