#ifndef KILN_NN_LINEAR_OPS
#define KILN_NN_LINEAR_OPS

include "NNBase.td"

// Contractions; shape inference and gradients in NNLinearOps.cpp.

def NN_LinearOp : NN_DiffOp<"linear",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "y = x W^T + b over the last dimension (torch.nn.Linear)";
  let description = [{
    `input` is `[..., in]`, `weight` `[out, in]`, optional `bias` `[out]`;
    the result is `[..., out]`. torch: `F.linear(input, weight, bias)`.

    ```mlir
    %y = nn.linear %x, %w, %b : (tensor<128x784xf32>, tensor<512x784xf32>, tensor<512xf32>) -> tensor<128x512xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       Optional<NN_FloatTensor>:$bias);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  }

def NN_MatmulOp : NN_DiffOp<"matmul",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "matrix product, batched over equal leading dimensions, with optional transposed operands";
  let description = [{
    `result = op(lhs) * op(rhs)` where `op` transposes the last two
    dimensions when the flag is set. Both operands have the same rank >= 2;
    the dimensions before the last two are batch dimensions, equal in both
    (no broadcasting: the importer broadcasts first), and the result keeps
    them. torch: `torch.matmul(a.mT if transpose_lhs else a, b.mT if
    transpose_rhs else b)` with equal batch shapes (`torch.mm` at rank 2,
    `torch.bmm` at rank 3).

    ```mlir
    %c = nn.matmul %a, %b {transpose_rhs} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
    %s = nn.matmul %q, %k {transpose_rhs} : (tensor<2x4x5x8xf32>, tensor<2x4x6x8xf32>) -> tensor<2x4x5x6xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  }

#endif // KILN_NN_LINEAR_OPS
