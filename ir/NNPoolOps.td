#ifndef KILN_NN_POOL_OPS
#define KILN_NN_POOL_OPS

include "NNBase.td"

// Pooling over 1, 2 or 3 spatial dimensions: max pooling with its argmax
// indices and a sum pool, each with its adjoint; fractional max pooling
// (windows placed by random samples, lowered in
// passes/LowerFractionalPool.cpp). Average and LP pooling are
// a sum pool divided by a per-position constant (built by the importer,
// frontend/import/Pooling.cpp). Shape rules: ir/PoolShapeRules.h;
// inference, verifiers and gradients: NNPoolOps.cpp; lowering:
// passes/LowerPool.cpp.
//
// Every op carries its windows in one of two forms:
//  - `kernel_size`, `stride`, `padding`, `dilation` (one value per spatial
//    dimension) and `ceil_mode`: window o of a dimension reads positions
//    o * stride - padding + k * dilation, k < kernel_size, as torch's
//    MaxPool / AvgPool (the result size follows torch's rule);
//  - `output_size`: torch's adaptive windows, [floor(o * in / out),
//    ceil((o + 1) * in / out)).
// Positions outside the input are skipped (max) or read as zero (sum).

class NN_PoolOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, traits> {
  dag windowArgs = (ins OptionalAttr<DenseI64ArrayAttr>:$kernel_size,
                        OptionalAttr<DenseI64ArrayAttr>:$stride,
                        OptionalAttr<DenseI64ArrayAttr>:$padding,
                        OptionalAttr<DenseI64ArrayAttr>:$dilation,
                        UnitAttr:$ceil_mode,
                        OptionalAttr<DenseI64ArrayAttr>:$output_size);
  let extraClassDeclaration = [{
    /// The windows from the attributes. Precondition: the op verified.
    ::kiln::shape_rules::PoolWindows getWindows();
  }];
}

def NN_MaxPoolOp : NN_PoolOp<"max_pool", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "window maximum and its position (torch.nn.MaxPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d)";
  let description = [{
    `input` is `[N, C, *in]`; `result` and `indices` are `[N, C, *out]`.
    `result` is the maximum of each window, `indices` the position of that
    maximum as a flat index into its (n, c) plane of the input (torch's
    `return_indices=True`). Ties keep the first maximum in scan order; a NaN
    is a maximum (the last NaN's position), as torch's CPU kernels.

    ```mlir
    %y, %i = nn.max_pool %x {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<8x3x32x32xf32>) -> (tensor<8x3x16x16xf32>, tensor<8x3x16x16xi64>)
    %z, %j = nn.max_pool %x {output_size = array<i64: 5, 7>} : (tensor<8x3x32x32xf32>) -> (tensor<8x3x5x7xf32>, tensor<8x3x5x7xi64>)
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input), windowArgs);
  let results = (outs NN_FloatTensor:$result, NN_IndexTensor:$indices);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_MaxPoolBackwardOp : NN_PoolOp<"max_pool_backward", [Pure]> {
  let summary = "gradient of nn.max_pool: grad_output routed to the argmax positions (aten max_pool2d_with_indices_backward)";
  let description = [{
    `dx[n, c, i] = sum of dy[n, c, o] over the windows o that contain i and
    whose `indices[n, c, o]` is i`. The result type is the pooled input's
    type; the verifier checks that pooling it gives `grad_output`'s shape.

    ```mlir
    %dx = nn.max_pool_backward %dy, %i {kernel_size = array<i64: 3>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x8xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$grad_output, NN_IndexTensor:$indices),
                       windowArgs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_SumPoolOp : NN_PoolOp<"sum_pool", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "window sum over the zero-padded input (average and LP pooling before their divisor)";
  let description = [{
    `input` is `[N, C, *in]`, the result `[N, C, *out]`: the sum of each
    window, positions outside the input counting as zero. torch's
    `avg_pool2d(x, ...) * divisor` for every divisor rule.

    ```mlir
    %s = nn.sum_pool %x {kernel_size = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, ceil_mode} : (tensor<1x3x8x8xf32>) -> tensor<1x3x5x5xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input), windowArgs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_SumPoolBackwardOp : NN_PoolOp<"sum_pool_backward", [Pure]> {
  let summary = "gradient of nn.sum_pool: the transposed window sum";
  let description = [{
    `dx[n, c, i] = sum of dy[n, c, o] over the windows o that contain i`.
    The result type is the pooled input's type; the verifier checks that
    pooling it gives `grad_output`'s shape.

    ```mlir
    %dx = nn.sum_pool_backward %dy {output_size = array<i64: 3>} : (tensor<2x3x3xf32>) -> tensor<2x3x7xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$grad_output), windowArgs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MaxUnpoolOp : NN_Op<"max_unpool", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface, ["isDifferentiableOperand"]>,
    DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "values written at their indices into zeros (torch.nn.MaxUnpool1d/2d/3d)";
  let description = [{
    `input` and `indices` are `[N, C, *in]`, the result `[N, C, *out]`:
    zeros, then `result[n, c, indices[n, c, o]] = input[n, c, o]` for every
    o in order (a later o wins a shared index, as torch's CPU kernel), the
    index flat in the (n, c) plane of the result. Indices outside
    [0, prod(out)) write nothing (torch raises an error).

    ```mlir
    %y = nn.max_unpool %x, %i : (tensor<2x3x4x4xf32>, tensor<2x3x4x4xi64>) -> tensor<2x3x8x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_IndexTensor:$indices);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MaxUnpoolBackwardOp : NN_Op<"max_unpool_backward", [Pure]> {
  let summary = "gradient of nn.max_unpool: grad_output read at the indices";
  let description = [{
    `dx[n, c, o] = dy[n, c, indices[n, c, o]]` (0 for an index outside dy's
    plane). The result has the indices' shape.

    ```mlir
    %dx = nn.max_unpool_backward %dy, %i : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xi64>) -> tensor<2x3x4x4xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_IndexTensor:$indices);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_FractionalMaxPoolOp : NN_Op<"fractional_max_pool", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface, ["isDifferentiableOperand"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "maximum over pseudo-random windows (torch.nn.FractionalMaxPool2d/3d)";
  let description = [{
    `input` is `[N, C, *in]` (2 or 3 spatial dimensions), `samples`
    `[N, C, r]` (torch's `_random_samples`, uniform in [0, 1)); `result`
    and `indices` are `[N, C, *output_size]`. Dimension d of plane (n, c)
    takes the sample `u = samples[n, c, j]` with j = 1 - d for 2 spatial
    dimensions (torch's 2-d kernel reads sample 0 for the width) and j = d
    for 3. Window o of that dimension starts at
      `alpha = f32(in - k) / f32(out - 1)`,
      `start(o) = int((f32(o) + u) * alpha) - int(u * alpha)` (f32
      arithmetic, truncation), and `start(out - 1) = in - k`,
    clamped to [0, in - k], and spans `kernel_size` positions. As
    nn.max_pool: the first maximum in scan order, a NaN wins, `indices` flat
    in the (n, c) plane of the input. The samples get no gradient.

    ```mlir
    %y, %i = nn.fractional_max_pool %x, %u {kernel_size = array<i64: 2, 2>, output_size = array<i64: 5, 4>} : (tensor<2x3x9x8xf32>, tensor<2x3x2xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$samples,
                       DenseI64ArrayAttr:$kernel_size,
                       DenseI64ArrayAttr:$output_size);
  let results = (outs NN_FloatTensor:$result, NN_IndexTensor:$indices);
  let assemblyFormat = "$input `,` $samples attr-dict `:` functional-type(operands, results)";
}

def NN_FractionalMaxPoolBackwardOp : NN_Op<"fractional_max_pool_backward", [Pure]> {
  let summary = "gradient of nn.fractional_max_pool: grad_output added at the indices (aten fractional_max_pool2d_backward)";
  let description = [{
    Zeros of the result type `[N, C, *in]`, then for every (n, c, o) in
    order `result[n, c, indices[n, c, o]] += grad_output[n, c, o]` (the
    windows overlap, so several outputs may add to one position); an index
    outside [0, prod(in)) adds nothing.

    ```mlir
    %dx = nn.fractional_max_pool_backward %dy, %i : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xi64>) -> tensor<2x3x9x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_IndexTensor:$indices);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_POOL_OPS
