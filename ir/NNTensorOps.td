#ifndef KILN_NN_TENSOR_OPS
#define KILN_NN_TENSOR_OPS

include "NNBase.td"

def NN_FlattenOp : NN_DiffOp<"flatten",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "merge dimensions start_dim..end_dim (torch.nn.Flatten)";
  let description = [{
    Negative dimensions count from the end, as in torch.

    ```mlir
    %y = nn.flatten %x {start_dim = 1 : i64, end_dim = -1 : i64} : (tensor<128x1x28x28xf32>) -> tensor<128x784xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "1">:$start_dim,
                       DefaultValuedAttr<I64Attr, "-1">:$end_dim);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  }

def NN_ReshapeOp : NN_DiffOp<"reshape"> {
  let summary = "same elements, new static shape (torch.reshape)";
  let description = [{
    f32 data, or i64 indices (a max pool's, for an unbatched input) of the
    same element type in and out.

    ```mlir
    %y = nn.reshape %x : (tensor<128x784xf32>) -> tensor<128x1x28x28xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, I64]>:$input);
  let results = (outs RankedTensorOf<[F32, I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NN_SumToSizeOp : NN_DiffOp<"sum_to_size"> {
  let summary = "sum a tensor down to a shape it broadcasts from (Tensor.sum_to_size)";
  let description = [{
    The adjoint of broadcasting: sums the leading extra dimensions and the
    dimensions that are 1 in the result.

    ```mlir
    %b = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NN_BroadcastToOp : NN_DiffOp<"broadcast_to"> {
  let summary = "broadcast to a larger shape (torch.broadcast_to)";
  let description = [{
    ```mlir
    %b = nn.broadcast_to %x : (tensor<8xf32>) -> tensor<4x8xf32>
    ```

    f32 data, or i64 indices (index_select's index spread over the other
    dimensions for nn.gather) of the same element type in and out.
  }];
  let arguments = (ins RankedTensorOf<[F32, I64]>:$input);
  let results = (outs RankedTensorOf<[F32, I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

// Reductions over a set of dimensions and layout changes. Shape inference
// and gradients: NNTensorOps.cpp; lowering: passes/LowerTensorOps.cpp.

class NN_ReduceOp<string mnemonic, string torchName>
    : NN_DiffOp<mnemonic, [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = torchName # " over `dims` (negative dims count from the end)";
  let description = [{
    An empty `dims` reduces every dimension (torch's default). With
    `keepdim` the reduced dimensions stay as size 1.

    ```mlir
    %s = nn.}] # mnemonic # [{ %x {dims = [1], keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$dims,
                       UnitAttr:$keepdim);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_SumOp : NN_ReduceOp<"sum", "torch.sum">;
def NN_MeanOp : NN_ReduceOp<"mean", "torch.mean">;
// The gradient goes to the elements equal to the result, split evenly
// between ties (torch's amax/amin backward). NaN propagates.
def NN_AmaxOp : NN_ReduceOp<"amax", "torch.amax">;
def NN_AminOp : NN_ReduceOp<"amin", "torch.amin">;

def NN_PermuteOp : NN_DiffOp<"permute",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "reorder dimensions (torch.permute)";
  let description = [{
    `result.shape[i] = input.shape[dims[i]]`; negative dims count from the end.

    ```mlir
    %y = nn.permute %x {dims = [1, 0]} : (tensor<4x8xf32>) -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

// Slicing and joining. Shape rules: ir/ShapeRules.h (slice, narrow, concat);
// lowering: linalg.generic reads and writes through strided slices
// (passes/LowerTensorOps.cpp).

def NN_SliceOp : NN_DiffOp<"slice",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "strided slice with static bounds per dimension (torch.narrow, x[a:b:s])";
  let description = [{
    Dimension `i` keeps the indices `start[i], start[i] + step[i], ...` below
    `end[i]`. Bounds are normalised (`0 <= start <= end <= size`,
    `step >= 1`): the importer resolves torch's negative indices. The
    gradient places `dy` into zeros with `nn.slice_backward`.

    ```mlir
    %y = nn.slice %x {start = array<i64: 0, 1>, end = array<i64: 4, 7>, step = array<i64: 1, 2>} : (tensor<4x8xf32>) -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$end, DenseI64ArrayAttr:$step);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def NN_SliceBackwardOp : NN_DiffOp<"slice_backward"> {
  let summary = "zeros of the result type with the input written at a strided slice (aten::slice_backward)";
  let description = [{
    The adjoint of `nn.slice` with the same bounds: `result[slice] = input`,
    every other element 0. The result type gives the sliced tensor's shape;
    the verifier checks that slicing it with the bounds gives the input's.

    ```mlir
    %dx = nn.slice_backward %dy {start = array<i64: 0, 1>, end = array<i64: 4, 7>, step = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$end, DenseI64ArrayAttr:$step);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NN_ConcatOp : NN_DiffOp<"concat",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "join tensors along a dimension (torch.cat)";
  let description = [{
    One or more tensors of one rank, equal in every dimension but `dim`
    (negative counts from the end). The gradient of each input is its slice
    of `dy`.

    ```mlir
    %y = nn.concat %a, %b {dim = -1 : i64} : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_FloatTensor>:$inputs, I64Attr:$dim);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def NN_DetachOp : NN_DiffOp<"detach", [SameOperandsAndResultType],
    ["isDifferentiableOperand"]> {
  let summary = "the input, through which no gradient flows (torch.Tensor.detach)";
  let description = [{
    Forward: the input unchanged. Autodiff sends no gradient into the
    operand, as torch does for `x.detach()` and for values computed under
    `torch.no_grad()` (CosineSimilarity's clamped norms). No folder: it
    must survive until autodiff; the lowering forwards the input.

    ```mlir
    %y = nn.detach %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // KILN_NN_TENSOR_OPS
