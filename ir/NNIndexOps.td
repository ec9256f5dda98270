#ifndef KILN_NN_INDEX_OPS
#define KILN_NN_INDEX_OPS

include "NNBase.td"

def NN_GatherOp : NN_DiffOp<"gather",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>],
    ["isDifferentiableOperand"]> {
  let summary = "values read at int64 indices along one dimension (torch.gather)";
  let description = [{
    `result[i0, .., i_dim, ..] = input[i0, .., index[i0, .., i_dim, ..], ..]`:
    `index` has the input's rank and at most its size in every other
    dimension; the result has the index's shape. `index_select`,
    `Embedding` and `EmbeddingBag` are this op on a reshaped and broadcast
    index. An index outside [0, input.shape[dim]) reads 0 (torch raises;
    the runtime refuses such model inputs before any kernel runs).

    ```mlir
    %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<4x3xi64>) -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_IndexTensor:$index, I64Attr:$dim);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $index attr-dict `:` functional-type(operands, results)";
}

def NN_GatherBackwardOp : NN_Op<"gather_backward", [Pure,
    DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "gradient of nn.gather: grad_output added into zeros at the indices (Tensor.scatter_add)";
  let description = [{
    Zeros of the result type (the gathered input's), then
    `result[.., index[p], ..] += grad_output[p]` along `dim` for every
    position p of the index, in order; indices outside the dimension add
    nothing.

    ```mlir
    %dx = nn.gather_backward %dy, %i {dim = 1 : i64} : (tensor<4x3xf32>, tensor<4x3xi64>) -> tensor<4x10xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_IndexTensor:$index, I64Attr:$dim);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $index attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_ArgmaxOp : NN_Op<"argmax",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "index of the largest element along `dim`, or in the flattened input (torch.argmax)";
  let description = [{
    torch's semantics: the first index of the maximum; NaN counts as larger
    than every number (the first NaN's index). Without `dim` the index is
    into the flattened input. `keepdim` keeps the reduced dimension (all
    dimensions, without `dim`) as size 1. The reduced dimension must not be
    empty. Not differentiable (an int64 result).

    ```mlir
    %i = nn.argmax %x {dim = 1 : i64} : (tensor<4x10xf32>) -> tensor<4xi64>
    %j = nn.argmax %x {keepdim} : (tensor<4x10xf32>) -> tensor<1x1xi64>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, OptionalAttr<I64Attr>:$dim, UnitAttr:$keepdim);
  let results = (outs NN_IndexTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

#endif // KILN_NN_INDEX_OPS
