#ifndef KILN_NN_OPTIMIZER_OPS
#define KILN_NN_OPTIMIZER_OPS

include "NNBase.td"

def NN_SgdUpdateOp : NN_Op<"sgd_update", [Pure]> {
  let summary = "one torch.optim.SGD step for one parameter";
  let description = [{
    Exactly torch.optim.SGD (1.13):
    ```
    d = maximize ? -grad : grad
    d = d + weight_decay * param                     (if weight_decay != 0)
    buf = step == 0 ? d : momentum*buf + (1-dampening)*d   (if momentum != 0)
    d = nesterov ? d + momentum*buf : buf            (if momentum != 0)
    param = param - lr * d
    ```
    `momentum_buffer` and the second result exist iff momentum != 0. `lr`
    and `step` (completed steps) are runtime scalars so the learning rate
    can change without recompiling.

    ```mlir
    %p2, %b2 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<512xf32>, tensor<512xf32>, tensor<512xf32>, tensor<f32>, tensor<i64>) -> (tensor<512xf32>, tensor<512xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$param, NN_FloatTensor:$grad,
                       Optional<NN_FloatTensor>:$momentum_buffer,
                       NN_ScalarF32:$lr, 0DTensorOf<[I64]>:$step,
                       DefaultValuedAttr<F64Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$dampening,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       UnitAttr:$nesterov, UnitAttr:$maximize);
  let results = (outs NN_FloatTensor:$new_param,
                      Optional<NN_FloatTensor>:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` (`momentum_buffer` $momentum_buffer^ `,`)? `lr` $lr `,` `step` $step attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_NN_OPTIMIZER_OPS
