#ifndef KILN_NN_ACTIVATION_OPS
#define KILN_NN_ACTIVATION_OPS

include "NNBase.td"

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

// Composite activations: each is decomposed into primitive nn ops by
// nn-decompose (DecomposableOpInterface, NNActivationOps.cpp) before
// autodiff, so it needs no gradient rule and no lowering of its own.

def NN_GeluApproximation : I64EnumAttr<"GeluApproximation", "GELU formula", [
    I64EnumAttrCase<"none", 0>, I64EnumAttrCase<"tanh", 1>]> {
  let cppNamespace = "::kiln::nn";
}

def NN_GeluOp : NN_Op<"gelu", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<NN_DecomposableOpInterface>]> {
  let summary = "Gaussian error linear unit (torch.nn.GELU)";
  let description = [{
    `none`: `x/2 (1 + erf(x/√2))`; `tanh`: `x/2 (1 + tanh(√(2/π)(x + 0.044715 x³)))`.

    ```mlir
    %y = nn.gelu %x approximate tanh : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<NN_GeluApproximation, "GeluApproximation::none">:$approximate);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input (`approximate` $approximate^)? attr-dict `:` type($input)";
}

def NN_SiluOp : NN_Op<"silu", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<NN_DecomposableOpInterface>]> {
  let summary = "sigmoid linear unit x sigmoid(x) (torch.nn.SiLU)";
  let description = [{
    ```mlir
    %y = nn.silu %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // KILN_NN_ACTIVATION_OPS
