#ifndef KILN_NN_NORM_OPS
#define KILN_NN_NORM_OPS

include "NNBase.td"

// Normalisation with batch statistics and its adjoint, the fused form of
// torch's native_batch_norm / native_batch_norm_backward (training branch).
// Inference, verifiers and the gradient rule: NNNormOps.cpp; lowering:
// passes/LowerNorm.cpp. The importer builds BatchNorm (train mode, or
// track_running_stats=False), F.batch_norm(training=True), InstanceNorm
// (as a batch norm of the [1, N * C, *] view) from it; normalising with given
// statistics (eval mode) stays elementwise nn ops.

def NN_BatchNormOp : NN_Op<"batch_norm", [Pure,
    DeclareOpInterfaceMethods<NN_GradientOpInterface>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "normalisation over every dimension but 1 with batch statistics, then a per-channel affine map (torch.nn.BatchNorm1d/2d/3d in train mode)";
  let description = [{
    `input` is `[N, C, *]`, `weight` and `bias` `[C]`. With `mean[c]` and
    the biased `var[c]` of `input[:, c]` (over N and every spatial position):
    `result = (input - mean) * rsqrt(var + eps) * weight + bias`,
    computed as torch's CPU kernel does: `input * a[c] + b[c]` with
    `a = rsqrt(var + eps) * weight`, `b = bias - mean * a`. `mean` and
    `var` are results too (the running statistics are updated from them).
    A layer without affine parameters passes ones and zeros.
    torch: `torch.native_batch_norm(input, weight, bias, None, None, True, 0, eps)`
    (whose third result is `rsqrt(var + eps)`). With `sync`
    (torch.nn.SyncBatchNorm) the statistics are those of the whole batch
    of the data-parallel group: the per-channel sums and element counts
    are summed over the processes of the attached communicator
    (kiln/comm.h) before the mean, and the squared deviations from that
    mean before the variance; alone, the same as without.

    ```mlir
    %y, %mean, %var = nn.batch_norm %x, %w, %b {eps = 1.0e-05 : f64} : (tensor<8x16x5x5xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<8x16x5x5xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       NN_FloatTensor:$bias, F64Attr:$eps, UnitAttr:$sync);
  let results = (outs NN_FloatTensor:$result, NN_FloatTensor:$mean,
                      NN_FloatTensor:$var);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)
  }];
}

def NN_BatchNormBackwardOp : NN_Op<"batch_norm_backward", [Pure]> {
  let summary = "gradient of nn.batch_norm's result with respect to input, weight and bias (aten native_batch_norm_backward, training)";
  let description = [{
    With `invstd = rsqrt(var + eps)`, `n` the element count per channel,
    `sum_dy[c] = sum(grad_output[:, c])` and
    `dot[c] = sum(grad_output[:, c] * (input[:, c] - mean[c]))`:
    `grad_input = (grad_output - sum_dy / n - (input - mean) * dot * invstd^2 / n) * invstd * weight`,
    `grad_weight = dot * invstd`, `grad_bias = sum_dy` (torch's
    batch_norm_backward_cpu). `mean` and `var` are nn.batch_norm's results
    for the same `input`. With `sync` (the backward of a synchronised
    batch norm) `sum_dy`, `dot` and `n` in `grad_input` are summed over the
    processes, as torch's SyncBatchNorm backward all-reduces them;
    `grad_weight` and `grad_bias` stay local (the data-parallel average of
    parameter gradients combines them).

    ```mlir
    %dx, %dw, %db = nn.batch_norm_backward %dy, %x, %mean, %var, %w {eps = 1.0e-05 : f64} : (tensor<8x16x5x5xf32>, tensor<8x16x5x5xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<8x16x5x5xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       NN_FloatTensor:$mean, NN_FloatTensor:$var,
                       NN_FloatTensor:$weight, F64Attr:$eps, UnitAttr:$sync);
  let results = (outs NN_FloatTensor:$grad_input, NN_FloatTensor:$grad_weight,
                      NN_FloatTensor:$grad_bias);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $mean `,` $var `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_NN_NORM_OPS
