#ifndef KILN_NN_OPS
#define KILN_NN_OPS

include "NNDialect.td"
include "NNInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def NN_FloatTensor : RankedTensorOf<[F32]>;
def NN_IndexTensor : RankedTensorOf<[I64]>;
def NN_ScalarF32 : 0DTensorOf<[F32]>;

// A differentiable op: its gradient rule lives in NNGradients.cpp.
class NN_DiffOp<string mnemonic, list<Trait> traits = [],
                list<string> gradientOverrides = []>
    : NN_Op<mnemonic, !listconcat([Pure,
        DeclareOpInterfaceMethods<NN_GradientOpInterface, gradientOverrides>],
        traits)>;

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

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
  let summary = "2-D matrix product with optional transposed operands";
  let description = [{
    `result = op(lhs) * op(rhs)` where `op` transposes when the flag is set.
    torch: `torch.mm(a.t() if transpose_lhs else a, b.t() if transpose_rhs else b)`.

    ```mlir
    %c = nn.matmul %a, %b {transpose_rhs} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  }

def NN_ReluOp : NN_DiffOp<"relu", [SameOperandsAndResultType]> {
  let summary = "max(x, 0) elementwise (torch.nn.ReLU)";
  let description = [{
    ```mlir
    %y = nn.relu %x : tensor<128x512xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_ThresholdBackwardOp : NN_Op<"threshold_backward",
    [Pure, SameOperandsAndResultType]> {
  let summary = "grad where input > threshold, else 0 (aten::threshold_backward)";
  let description = [{
    The gradient of `relu` (threshold 0). Not differentiable itself.

    ```mlir
    %dx = nn.threshold_backward %dy, %x {threshold = 0.0 : f32} : tensor<128x512xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.0">:$threshold);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input attr-dict `:` type($result)";
}

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
    ```mlir
    %y = nn.reshape %x : (tensor<128x784xf32>) -> tensor<128x1x28x28xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise arithmetic with torch broadcasting
//===----------------------------------------------------------------------===//

class NN_BroadcastBinaryOp<string mnemonic, string torchName>
    : NN_DiffOp<mnemonic, [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "elementwise " # torchName # " with torch broadcasting";
  let description = [{
    Shapes broadcast as in torch (aligned on the right; a dimension of size 1
    stretches).

    ```mlir
    %z = nn.}] # mnemonic # [{ %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def NN_AddOp : NN_BroadcastBinaryOp<"add", "torch.add">;
def NN_SubOp : NN_BroadcastBinaryOp<"sub", "torch.sub">;
def NN_MulOp : NN_BroadcastBinaryOp<"mul", "torch.mul">;

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
}

def NN_BroadcastToOp : NN_DiffOp<"broadcast_to"> {
  let summary = "broadcast to a larger shape (torch.broadcast_to)";
  let description = [{
    ```mlir
    %b = nn.broadcast_to %x : (tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_OPS
