#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

def Decompose : Pass<"nn-decompose", "mlir::ModuleOp"> {
  let summary = "Replace composite nn ops by the primitive ops they are made of";
  let description = [{
    Every op implementing `DecomposableOpInterface` (GELU, ...) is replaced
    by what its `decompose` builds, repeatedly until none is left, so that
    autodiff and lowering only ever see primitive ops. Runs first in the
    training and the lowering pipelines. Never looks at op names.

    Before:
    ```mlir
    %y = nn.gelu %x approximate none : tensor<4xf32>
    ```
    After:
    ```mlir
    %c = arith.constant dense<0.707106769> : tensor<f32>
    %0 = nn.mul %x, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
    %1 = nn.erf %0 : tensor<4xf32>
    ...
    ```
  }];
  let dependentDialects = ["::kiln::nn::NNDialect", "::mlir::arith::ArithDialect"];
}

def Autodiff : Pass<"nn-autodiff", "mlir::ModuleOp"> {
  let summary = "Build gradient functions by reverse-mode differentiation";
  let description = [{
    For every `func.func` marked `nn.differentiate` whose first result is a
    scalar loss, adds `<name>_grad` with the same arguments returning the
    loss followed by the gradient of every argument with `nn.role = "param"`
    (and of `nn.role = "input"` arguments with `wrt-inputs`), in argument
    order. Gradient rules come from `GradientOpInterface`; fan-out gradients
    are summed; integer operands and non-differentiable operands are
    skipped; an op on the path to the loss without a rule is an error. The
    gradient of an argument the loss does not reach through differentiable
    ops, or marked `nn.frozen` (torch's requires_grad False: nothing is
    differentiated for its sake), is zeros marked `nn.no_gradient`
    (torch's grad None).

    Before:
    ```mlir
    func.func @loss(%w: tensor<4x8xf32> {nn.role = "param"}, %x: tensor<2x8xf32> {nn.role = "input"}, %t: tensor<2xi64> {nn.role = "target"}) -> tensor<f32> attributes {nn.differentiate} {
      %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
      %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
      return %l : tensor<f32>
    }
    ```
    After (added):
    ```mlir
    func.func @loss_grad(...) -> (tensor<f32>, tensor<4x8xf32>) {
      ... forward ops ...
      %one = arith.constant dense<1.0> : tensor<f32>
      %dy = nn.cross_entropy_loss_backward %one, %y, %t ...
      %dw = nn.matmul %dy, %x {transpose_lhs} ...
      return %l, %dw : tensor<f32>, tensor<4x8xf32>
    }
    ```
  }];
  let options = [
    Option<"wrtInputs", "wrt-inputs", "bool", /*default=*/"false",
           "Also return gradients of `input` arguments (for tests)">
  ];
  let dependentDialects = ["::kiln::nn::NNDialect", "::mlir::arith::ArithDialect"];
}

def BuildTrainStep : Pass<"nn-build-train-step", "mlir::ModuleOp"> {
  let summary = "Assemble forward, loss, backward and optimizer update into one function";
  let description = [{
    Takes the module's `nn.optimizer` dictionary (e.g. `{type = "SGD", lr =
    0.01, momentum = 0.9, ...}`) and the gradient function `<loss>_grad`
    built by `nn-autodiff` for the function marked `nn.loss`, and adds
    `train_step(params..., states..., step, lr, inputs..., target) ->
    (loss, new params..., new states..., step + 1)`: it calls the gradient
    function and applies one optimizer update op per parameter (e.g.
    `nn.sgd_update`), creating the optimizer state arguments (`nn.role =
    "state"`, named `<param>.momentum_buffer`). For gradient accumulation it
    also adds `accumulate(grads..., sums...) -> (sums + grads)...` and
    `apply(params..., states..., step, lr, sums...) -> (new params...,
    new states..., step + 1, zeros...)`, the same update on the grad sums
    (`nn.role = "grad_sum"`, named `<param>.grad`). Run the inliner
    afterwards to get flat functions.
  }];
  let dependentDialects = ["::kiln::nn::NNDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

def LowerNNToLinalg : Pass<"nn-lower-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower nn ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Target-independent: every nn op becomes linalg named ops (matmuls) or
    `linalg.generic`s on tensors, ready for fusion, tiling and
    bufferization by a backend. Fails on an nn op without a lowering.
  }];
  let options = [
    Option<"conv", "conv", "kiln::ConvLowering",
           /*default=*/"kiln::ConvLowering::Library",
           "How f32 convolutions lower (passes/ConvLowering.h)",
           [{::llvm::cl::values(
             clEnumValN(kiln::ConvLowering::Library, "library",
                        "runtime routine calls (1-3 spatial dims)"),
             clEnumValN(kiln::ConvLowering::Gemm, "gemm",
                        "im2col + batched matmuls"),
             clEnumValN(kiln::ConvLowering::Loops, "loops",
                        "one linalg.generic per op"))}]>
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

def UniqueResults : Pass<"kiln-unique-results", "mlir::ModuleOp"> {
  let summary = "Give every returned tensor a value of its own before bufferization";
  let description = [{
    A func.return operand that repeats an earlier operand, is a block
    argument or is a constant becomes a linalg.copy into a fresh tensor, so
    that each function result bufferizes to its own out-parameter (MLIR 19's
    buffer-results-to-out-params crashes on a value returned twice).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def GuardInPlaceResults : Pass<"kiln-guard-in-place-results", "mlir::ModuleOp"> {
  let summary = "Keep the old values of in-place results when a check of the call fails";
  let description = [{
    On nn IR, before lowering. In a function with results marked
    `kiln.in_place = <j>` and results marked `kiln.guard = "check"` (a
    value check: [first failing index or -1, value]) or `"norm"` (the total
    gradient norm of error_if_nonfinite), the runtime refuses the call
    after it ran when a check found an element (index >= 0) or the norm is
    not finite, and a refused call must change nothing. So each in-place
    result becomes `ok ? next : argument j` (nn.where for floats,
    arith.select for integers, both elementwise so that fusion folds them
    into the update), where `ok` is all checks passing. Functions without
    guards are untouched.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::kiln::nn::NNDialect"];
}

def InPlaceResults : Pass<"kiln-in-place-results", "mlir::ModuleOp"> {
  let summary = "Write results marked kiln.in_place into their argument's buffer";
  let description = [{
    Before one-shot bufferization. A function result with the attribute
    `kiln.in_place = <j> : i64` is the next value of argument j, which the
    runtime passes as one buffer (KILN_ARG_TENSOR_UPDATE): its returned
    value becomes `bufferization.materialize_in_destination %v in %arg_j`,
    and the tensor.empty that %v is computed into (through the destinations
    of its producers: a fill and the contraction into it, a thread-tiled
    loop) becomes %arg_j, so the producer writes into the argument's buffer
    directly; where a later read of the old value forbids that,
    bufferization computes into a temporary and copies, so the result is
    right either way. Nothing else is rewritten. Then the result is returned
    as the argument itself, and kiln-drop-in-place-results removes it.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def DropInPlaceResults : Pass<"kiln-drop-in-place-results", "mlir::ModuleOp"> {
  let summary = "Remove the results kiln-in-place-results wrote into arguments";
  let description = [{
    After one-shot bufferization. Each result marked `kiln.in_place = <j>`
    must be returned as argument j's buffer (through casts at most), which
    kiln-in-place-results arranged; it is erased from the function's
    results, so the kernel's signature matches the ABI the metadata states.
    A result that is returned otherwise is an error naming it, never a
    silent mismatch between kernel and metadata.
  }];
}

def FuseCrossEntropy : Pass<"nn-fuse-cross-entropy", "mlir::func::FuncOp"> {
  let summary = "Compute a cross_entropy_loss and its backward as one op";
  let description = [{
    After autodiff a training function holds `nn.cross_entropy_loss %x, %t`
    and `nn.cross_entropy_loss_backward %g, %x, %t`, each of which would
    compute the rows' max and sum of exponentials. This pass replaces such
    a pair (same logits, targets and attributes, same block) by one
    `nn.cross_entropy_loss_with_grad %g, %x, %t`, placed before the forward
    when `%g` is defined there (a seed constant), else before the backward
    when nothing reads the loss before it. A pair whose `%g` is computed
    from the loss stays as it is (a remark says so).

    Before:
    ```mlir
    %l = nn.cross_entropy_loss %x, %t : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
    %dx = nn.cross_entropy_loss_backward %one, %x, %t : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
    ```
    After:
    ```mlir
    %l, %dx = nn.cross_entropy_loss_with_grad %one, %x, %t : (tensor<f32>, tensor<4x3xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x3xf32>)
    ```
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each pair fused or left alone as a remark (kilnc --remarks)">
  ];
  let dependentDialects = ["::kiln::nn::NNDialect"];
}

def BucketAllReduce : Pass<"nn-bucket-all-reduce", "mlir::func::FuncOp"> {
  let summary = "Split a data-parallel gradient average into buckets that overlap the backward";
  let description = [{
    Each `nn.all_reduce` (the gradient average nn-build-train-step inserts
    after the whole backward) becomes buckets, filled in the order their
    tensors are ready (defined in the block; arguments first): the first
    of at most `first-bucket-bytes`, the others of at most `bucket-bytes`
    (DDP's defaults: 1 MiB and 25 MiB), a tensor larger than a bucket
    alone. Each bucket is an `nn.all_reduce_start` right after its last
    tensor's definition and an `nn.all_reduce_wait` right before the first
    op of the block that reads one of its averages (clipping reads them
    all; without clipping, a parameter's update waits only for its own
    bucket), so the runtime's communication thread averages it while the
    rest of the backward and the updates that do not need it run. The ops
    after the average are then put in bucket order (what needs no average,
    then bucket 0's wait and what needs only it, and so on; a stable sort
    by the highest bucket each op depends on, skipped when one of them has
    regions or side effects). Buckets are started in the same order on
    every process (program order).

    Before:
    ```mlir
    %dw2 = ...   // ready first (last layer)
    %dw1 = ...
    %a, %b = nn.all_reduce %dw1, %dw2 : tensor<512x784xf32>, tensor<10x512xf32>
    ```
    After (first-bucket-bytes smaller than both):
    ```mlir
    %dw2 = ...
    %h0 = nn.all_reduce_start %dw2 {bucket = 0 : i64} : tensor<10x512xf32> -> tensor<5120xf32>
    %dw1 = ...
    %h1 = nn.all_reduce_start %dw1 {bucket = 1 : i64} : tensor<512x784xf32> -> tensor<401408xf32>
    %b = nn.all_reduce_wait %h0 {bucket = 0 : i64} : tensor<5120xf32> -> tensor<10x512xf32>
    ... the update of w2 (reads %b), while bucket 1 is in flight
    %a = nn.all_reduce_wait %h1 {bucket = 1 : i64} : tensor<401408xf32> -> tensor<512x784xf32>
    ... the update of w1 (reads %a)
    ```
  }];
  let options = [
    Option<"firstBucketBytes", "first-bucket-bytes", "int64_t", /*default=*/"1048576",
           "Bytes of the first bucket (DDP: 1 MiB)">,
    Option<"bucketBytes", "bucket-bytes", "int64_t", /*default=*/"26214400",
           "Bytes of every later bucket (DDP's bucket_cap_mb: 25 MiB)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each bucket as a remark (kilnc --remarks)">
  ];
  let dependentDialects = ["::kiln::nn::NNDialect"];
}

def FuseElementwise : Pass<"kiln-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise linalg ops; named contractions keep their form";
  let description = [{
    MLIR's linalg-fuse-elementwise-ops, except that no reshape is folded
    into a named linalg op (linalg.matmul and its transposed forms) by
    expanding it, not even one of unit dims: that turns the matmul into a
    higher-rank linalg.generic, which the CPU backend does not hand to its
    GEMM (a linear layer over a [N, L, F] input reshapes around its
    matmul, often with unit dims).

    With `remarks`, each decision is a remark at the op's location (the
    model file's JSON path): a producer fused into its user, a producer
    left alone because it has several users (fusing would compute it once
    per user), a reshape kept out of a named op.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each fusion decision as a remark (kilnc --remarks)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def ProduceIntoSlices : Pass<"kiln-produce-into-slices", "mlir::func::FuncOp"> {
  let summary = "Compute the pieces of a 1-D tensor assembled by insert_slice ops in their slices (tensors)";
  let description = [{
    Before bufferization. A data-parallel gradient bucket (nn-bucket-all-reduce)
    is a chain of `tensor.insert_slice` ops of the flattened gradients into
    a `tensor.empty`, after all their producers; bufferized as it is, every
    gradient is computed into a buffer of its own and copied into the
    bucket (W1: 2.7 MB per step). This pass rebuilds such a chain (one
    block, a 1-D static base, static disjoint unit-stride slices) so that
    each piece whose producer's destinations (DPS inits, `scf.forall`
    shared outputs, each used once, pure) start from a `tensor.empty`
    writes into its slice: that empty becomes an `extract_slice` (and
    `expand_shape`, where the piece was a `collapse_shape`) of the chain's
    value before it, the init ops move to right before the producer and
    the insert to right after it, in the producers' order. One-shot
    bufferization then sees matching extract/insert pairs and copies
    nothing. Pieces that do not qualify (a function argument, a value with
    other uses) are inserted after the others where the chain ended. Other
    uses of the base `tensor.empty` get an empty of their own.

      %e = tensor.empty() : tensor<512x784xf32>
      %z = linalg.fill ins(%zero) outs(%e)
      %g = linalg.matmul ins(...) outs(%z)
      ...
      %b = tensor.empty() : tensor<401920xf32>
      %c = tensor.collapse_shape %g [[0, 1]]
      %i = tensor.insert_slice %c into %b[512] [401408] [1]

    becomes

      %b = tensor.empty() : tensor<401920xf32>
      %s = tensor.extract_slice %b[512] [401408] [1]
      %e = tensor.expand_shape %s [[0, 1]] output_shape [512, 784]
      %z = linalg.fill ins(%zero) outs(%e)
      %g = linalg.matmul ins(...) outs(%z)
      %c = tensor.collapse_shape %g [[0, 1]]
      %i = tensor.insert_slice %c into %b[512] [401408] [1]
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def UnshareFills : Pass<"kiln-unshare-fills", "mlir::ModuleOp"> {
  let summary = "Give every op that writes into a shared linalg.fill a fill of its own (tensors)";
  let description = [{
    Before bufferization: a `linalg.fill` of a `tensor.empty` with several
    uses is cloned (fill and empty) right before each use that writes into
    it (a DPS init, or an `scf.forall` shared output); reads keep the
    original. CSE merges identical fills (every zero accumulator of a
    gradient), and one-shot bufferization would give each further writer a
    copy of the one filled buffer instead: a fill costs no more than that
    copy, and a fill right before a contraction is folded into its GEMM
    call (kiln-cpu-gemm-to-runtime).

      %e = tensor.empty() : tensor<128x512xf32>
      %z = linalg.fill ins(%zero) outs(%e)
      %a = linalg.matmul ins(...) outs(%z)
      %b = linalg.matmul ins(...) outs(%z)

    becomes

      %e0 = tensor.empty() ...
      %z0 = linalg.fill ins(%zero) outs(%e0)
      %a = linalg.matmul ins(...) outs(%z0)
      %e1 = tensor.empty() ...
      %z1 = linalg.fill ins(%zero) outs(%e1)
      %b = linalg.matmul ins(...) outs(%z1)
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // KILN_PASSES
