#ifndef KILN_NN_TENSOR_OPS
#define KILN_NN_TENSOR_OPS

include "NNOps.td"

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
}

#endif // KILN_NN_TENSOR_OPS
