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

def NN_CrossEntropyLossWithGradOp : NN_Op<"cross_entropy_loss_with_grad",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "cross_entropy_loss and its backward, sharing the softmax statistics";
  let description = [{
    What `nn.cross_entropy_loss %x, %t` and `nn.cross_entropy_loss_backward
    %grad, %x, %t` with the same attributes compute, as one op: `loss` is
    the former's result, `input_grad` the latter's. Only
    `nn-fuse-cross-entropy` creates it, after autodiff (it has no gradient
    rule), so that the lowering computes each row's max and sum of
    exponentials once, and one loop over the rows yields both the loss
    terms and the gradient.

    ```mlir
    %l, %dx = nn.cross_entropy_loss_with_grad %g, %x, %t {label_smoothing = 0.0 : f64, ignore_index = -100 : i64} : (tensor<f32>, tensor<128x10xf32>, tensor<128xi64>) -> (tensor<f32>, tensor<128x10xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_IndexTensor:$target,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs NN_FloatTensor:$loss, NN_FloatTensor:$input_grad);
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

def NN_BinaryCrossEntropyOp : NN_DiffOp<"binary_cross_entropy",
    [SameOperandsAndResultType], ["isDifferentiableOperand"]> {
  let summary = "per-element binary cross entropy of probabilities (torch.nn.BCELoss, reduction none)";
  let description = [{
    `(y - 1) max(log(1 - x), -100) - y max(log x, -100)` per element, as
    aten's kernel clamps the logs. A dedicated op for its gradient:
    `dy (x - y) / max(x (1 - x), 1e-12)` is finite at x = 0 and 1, where the
    gradient of a decomposition into logs is not. Weight and reduction are
    applied around it (nn.mul, nn.sum, nn.mean). Only `input` is
    differentiated (the target is data).

    ```mlir
    %l = nn.binary_cross_entropy %p, %t : tensor<8x4xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$target);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` type($result)";
}

def NN_NllLossOp : NN_DiffOp<"nll_loss",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>],
    ["isDifferentiableOperand"]> {
  let summary = "negative log likelihood of class indices (torch.nn.NLLLoss)";
  let description = [{
    `input` is `[N, C, d1, ..., dk]` (or `[C]` unbatched) log-probabilities,
    `target` the int64 class indices of its shape without the class
    dimension, `weight` an optional `[C]`. Per element
    `l = -w[t] input[n, t, d...]`, 0 where `t == ignore_index`. `mean`
    divides the sum by the weights of the elements not ignored (torch's
    total_weight), `sum` sums, `none` keeps the target's shape. Only `input`
    is differentiated.

    ```mlir
    %l = nn.nll_loss %x, %t weight %w reduction sum {ignore_index = -100 : i64} : (tensor<8x5xf32>, tensor<8xi64>, tensor<5xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_IndexTensor:$target,
                       Optional<NN_FloatTensor>:$weight,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target (`weight` $weight^)? (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
}

def NN_NllLossBackwardOp : NN_Op<"nll_loss_backward",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "gradient of nll_loss with respect to its input";
  let description = [{
    `result[n, c, d...] = -w[t] g` where `c == t[n, d...]` and `t` is not
    ignored, else 0; `g` is `grad` (sum), `grad / total_weight` (mean) or
    `grad[n, d...]` (none).

    ```mlir
    %dx = nn.nll_loss_backward %g, %x, %t reduction sum : (tensor<f32>, tensor<8x5xf32>, tensor<8xi64>) -> tensor<8x5xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_IndexTensor:$target, Optional<NN_FloatTensor>:$weight,
                       DefaultValuedAttr<NN_Reduction, "Reduction::mean">:$reduction,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `,` $target (`weight` $weight^)? (`reduction` $reduction^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}


def NN_CtcLossOp : NN_DiffOp<"ctc_loss",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>],
    ["isDifferentiableOperand"]> {
  let summary = "per-sample connectionist temporal classification loss (torch.nn.CTCLoss, reduction none)";
  let description = [{
    `log_probs` is `[T, N, C]`, `targets` `[N, S]` int64 labels (padded:
    row n's first `target_lengths[n]` are read) or `[S]` (torch's
    concatenated form: sample n's labels start at sum(target_lengths[:n]);
    torch requires the lengths to add up to S, which the importer checks
    with a value check), `input_lengths` and
    `target_lengths` `[N]` int64. The result `[N]` is each sample's negative
    log-likelihood over all CTC alignments of its first `input_lengths[n]`
    steps, with `blank` the blank class; an impossible alignment gives inf,
    or 0 with `zero_infinity`. The reduction is left to other ops. The
    runtime checks the integer operands before any kernel (targets in
    [0, C), input lengths in [1, T], target lengths in [0, S]). Only
    `log_probs` is differentiated, with torch's formula (the gradient of
    the logits under a log_softmax, kiln/runtime.h).

    ```mlir
    %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 0 : i64, zero_infinity = false} : (tensor<50x4x20xf32>, tensor<4x10xi64>, tensor<4xi64>, tensor<4xi64>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$log_probs, NN_IndexTensor:$targets,
                       NN_IndexTensor:$input_lengths,
                       NN_IndexTensor:$target_lengths,
                       DefaultValuedAttr<I64Attr, "0">:$blank,
                       DefaultValuedAttr<BoolAttr, "false">:$zero_infinity);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$log_probs `,` $targets `,` $input_lengths `,` $target_lengths attr-dict `:` functional-type(operands, results)";
}

def NN_CtcLossBackwardOp : NN_Op<"ctc_loss_backward",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     DeclareOpInterfaceMethods<NN_IndexOperandOpInterface>]> {
  let summary = "gradient of ctc_loss with respect to its log_probs";
  let description = [{
    torch 1.13's gradient of `sum(ctc_loss * grad)`: for `t < input_lengths[n]`
    `(exp(lp) - exp(log Σ_{s: l'(s) = c} α_t(s) β_t(s) + nll - lp)) grad[n]`,
    0 after, and 0 for a whole sample whose loss is infinite when
    `zero_infinity`.

    ```mlir
    %d = nn.ctc_loss_backward %g, %lp, %t, %il, %tl {blank = 0 : i64, zero_infinity = false} : (tensor<4xf32>, tensor<50x4x20xf32>, tensor<4x10xi64>, tensor<4xi64>, tensor<4xi64>) -> tensor<50x4x20xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$log_probs,
                       NN_IndexTensor:$targets, NN_IndexTensor:$input_lengths,
                       NN_IndexTensor:$target_lengths,
                       DefaultValuedAttr<I64Attr, "0">:$blank,
                       DefaultValuedAttr<BoolAttr, "false">:$zero_infinity);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $log_probs `,` $targets `,` $input_lengths `,` $target_lengths attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_LOSS_OPS
