#ifndef KILN_NN_CONV_OPS
#define KILN_NN_CONV_OPS

include "NNBase.td"

// Convolution over 1, 2 or 3 spatial dimensions and its two adjoints. Shape
// rule: ir/ShapeRules.h (conv); inference, verifiers and the gradient rule:
// NNConvOps.cpp; lowering: passes/LowerConv.cpp.
//
// Every op carries the same geometry: `stride` and `dilation` with one value
// per spatial dimension, `padding` with one value per spatial dimension
// (both sides) or two (every dimension's low side, then every dimension's
// high side: torch's padding="same" with an even dilated kernel pads one
// more after), and `groups`.

class NN_ConvGeometryOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, traits> {
  let extraClassDeclaration = [{
    /// stride, per-side padding, dilation and groups, padding expanded to
    /// both sides. Precondition: the op verified.
    ::kiln::shape_rules::ConvGeometry getGeometry();
  }];
}

def NN_ConvOp : NN_ConvGeometryOp<"conv", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "N-d cross-correlation with stride, padding, dilation and groups (torch.nn.Conv1d/2d/3d)";
  let description = [{
    `input` is `[N, C, *in]`, `weight` `[F, C / groups, *kernel]`, optional
    `bias` `[F]`; the result is `[N, F, *out]` with
    `out = (in + pad_lo + pad_hi - dilation * (kernel - 1) - 1) / stride + 1`.
    Channel group `g` of the output reads channel group `g` of the input.
    torch: `F.conv2d(input, weight, bias, stride, padding, dilation, groups)`
    (zero padding).

    ```mlir
    %y = nn.conv %x, %w, %b {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<8x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       Optional<NN_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def NN_ConvBackwardInputOp : NN_ConvGeometryOp<"conv_backward_input", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface>]> {
  let summary = "gradient of nn.conv with respect to its input (aten convolution_backward, input); the transposed convolution";
  let description = [{
    `dx[n, c, i] = sum over f in c's group and k with
    i + pad_lo = o * stride + k * dilation of dy[n, f, o] * weight[f, c', k]`.
    The result type is the convolution's input type (it is not determined
    by `grad_output`'s shape when stride > 1); the verifier checks that the
    convolution of such an input with `weight` has `grad_output`'s shape.

    This is also torch's transposed convolution (nn.ConvTranspose1d/2d/3d:
    `grad_output` its input, `weight` its weight `[C_in, C_out / groups,
    *kernel]`, the result type its output size including output_padding),
    so the op is differentiable: both operands get gradients (a conv and a
    conv_backward_weight with the same geometry).

    ```mlir
    %dx = nn.conv_backward_input %dy, %w {dilation = array<i64: 1>, groups = 1 : i64, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<2x4x3xf32>, tensor<4x3x3xf32>) -> tensor<2x3x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_ConvBackwardWeightOp : NN_ConvGeometryOp<"conv_backward_weight", [Pure]> {
  let summary = "gradient of nn.conv with respect to its weight (aten convolution_backward, weight)";
  let description = [{
    `dw[f, c', k] = sum over n, o of dy[n, f, o] * x_padded[n, c, o * stride + k * dilation]`
    with `c` channel `c'` of `f`'s group. The result type is the weight type;
    the verifier checks that convolving `input` with such a weight has
    `grad_output`'s shape.

    ```mlir
    %dw = nn.conv_backward_weight %x, %dy {dilation = array<i64: 1>, groups = 1 : i64, padding = array<i64: 0>, stride = array<i64: 2>} : (tensor<2x3x8xf32>, tensor<2x4x3xf32>) -> tensor<4x3x3xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$grad_output,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $grad_output attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_CONV_OPS
