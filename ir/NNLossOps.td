#ifndef KILN_NN_LOSS_OPS
#define KILN_NN_LOSS_OPS

include "NNBase.td"

def NN_Reduction : I64EnumAttr<"Reduction", "how a loss reduces its per-element values", [
    I64EnumAttrCase<"none", 0>, I64EnumAttrCase<"mean", 1>, I64EnumAttrCase<"sum", 2>]> {
  let cppNamespace = "::kiln::nn";
}

def NN_CrossEntropyLossOp : NN_DiffOp<"cross_entropy_loss",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "cross entropy of logits against class indices (torch.nn.CrossEntropyLoss)";
  let description = [{
    `input` is `[N, C]` logits, `target` `[N]` int64 class indices. Per row
    `l_i = (1-ε)(lse_i - x_{i,t_i}) + ε/C Σ_c (lse_i - x_{i,c})`, zero where
    `t_i == ignore_index`. `reduction` is `mean` (divided by the number of
    rows not ignored, as torch), `sum` or `none` (result `[N]`).

    ```mlir
    %l = nn.cross_entropy_loss %x, %t reduction sum {label_smoothing = 0.1 : f64, ignore_index = -100 : i64} : (tensor<128x10xf32>, tensor<128xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_IndexTensor:$target,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
}

def NN_CrossEntropyLossBackwardOp : NN_Op<"cross_entropy_loss_backward",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "gradient of cross_entropy_loss with respect to its logits";
  let description = [{
    `result_{i,c} = w_i (softmax(x_i)_c - (1-ε)[c = t_i] - ε/C)`, zero for
    ignored rows; `w_i` is `grad` (sum), `grad / count` (mean) or `grad_i`
    (none).

    ```mlir
    %dx = nn.cross_entropy_loss_backward %g, %x, %t {label_smoothing = 0.0 : f64, ignore_index = -100 : i64} : (tensor<f32>, tensor<128x10xf32>, tensor<128xi64>) -> tensor<128x10xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_IndexTensor:$target,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `,` $target (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MseLossOp : NN_DiffOp<"mse_loss",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>],
    ["isDifferentiableOperand"]> {
  let summary = "squared error (torch.nn.MSELoss)";
  let description = [{
    `(input - target)^2` reduced by `mean`, `sum` or `none` (same shape).
    Only `input` is differentiated (the target is data).

    ```mlir
    %l = nn.mse_loss %y, %t reduction sum : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$target,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
}

def NN_MseLossBackwardOp : NN_Op<"mse_loss_backward",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "gradient of mse_loss with respect to its input";
  let description = [{
    `2 (input - target) grad`, divided by the element count for `mean`.

    ```mlir
    %dy = nn.mse_loss_backward %g, %y, %t {reduction = "mean"} : (tensor<f32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_FloatTensor:$target,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `,` $target (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_LOSS_OPS
