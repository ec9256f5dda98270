#ifndef KILN_NN_OPTIMIZER_OPS
#define KILN_NN_OPTIMIZER_OPS

include "NNBase.td"

def NN_SgdUpdateOp : NN_Op<"sgd_update", [Pure, AttrSizedOperandSegments]> {
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
    `momentum_buffer` and the second result exist iff momentum != 0 or the
    momentum is cycled. `lr` and `step` (completed steps) are runtime
    scalars so the learning rate can change without recompiling. With the
    optional `cycled_momentum` scalar (a CyclicLR / OneCycleLR with
    cycle_momentum sets the group's momentum every step), that value
    replaces the `momentum` attribute, and a step at momentum 0 leaves the
    buffer as it is and takes d as torch does.

    ```mlir
    %p2, %b2 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<512xf32>, tensor<512xf32>, tensor<512xf32>, tensor<f32>, tensor<i64>) -> (tensor<512xf32>, tensor<512xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$param, NN_FloatTensor:$grad,
                       Optional<NN_FloatTensor>:$momentum_buffer,
                       NN_ScalarF32:$lr, 0DTensorOf<[I64]>:$step,
                       Optional<NN_ScalarF32>:$cycled_momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$dampening,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       UnitAttr:$nesterov, UnitAttr:$maximize);
  let results = (outs NN_FloatTensor:$new_param,
                      Optional<NN_FloatTensor>:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` (`momentum_buffer` $momentum_buffer^ `,`)? `lr` $lr `,` `step` $step (`cycled_momentum` $cycled_momentum^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_OptimizerUpdateOp : NN_Op<"optimizer_update", [Pure, AttrSizedOperandSegments]> {
  let summary = "one torch.optim step of a named optimizer for one parameter";
  let description = [{
    The update of `param` by the torch.optim optimizer `optimizer` (its
    class name: "Adam", "RMSprop", ...) with the hyper-parameters `hyper`
    (torch's option names, numbers as f64, flags as bools), from the
    gradient and the parameter's state tensors, in the optimizer's state
    order: those shaped like it (Adam's exp_avg, exp_avg_sq[,
    max_exp_avg_sq]), then its 0-d f32 states (NAdam's mu_product, which a
    cycled beta1 makes path-dependent). Results: the new parameter and the
    new states, each typed as its state. `lr` and `step` (the
    number of completed steps) are runtime scalars, so a scheduler can
    change the learning rate without recompiling. The optional
    `cycled_momentum` scalar replaces the hyper-parameter a CyclicLR /
    OneCycleLR with cycle_momentum sets every step: RMSprop's momentum, the
    Adam family's beta1. The optional `rows` operand (f32, broadcastable
    to the param: [num_embeddings, 1] for an embedding's weight) is > 0
    where the gradient is a sparse gradient's entry (torch's
    Embedding(sparse=True) gradient has the rows its indices read): an
    optimizer that updates lazily (SparseAdam) changes the parameter and
    its state tensors there only and keeps them elsewhere.

    The semantics of each optimizer, operation for operation as
    torch.optim's single-tensor implementation (1.13), live with its rule
    in passes/optim/ (OptimizerRules.h), which the lowering and
    nn-build-train-step look up by name; this op's verifier checks the
    structure only.

    ```mlir
    %p2, %m2, %v2 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "Adam", hyper = {amsgrad = false, betas = [0.9, 0.999], eps = 1.0e-8 : f64, weight_decay = 0.0 : f64, maximize = false}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins NN_FloatTensor:$param, NN_FloatTensor:$grad,
                       Variadic<NN_FloatTensor>:$states,
                       NN_ScalarF32:$lr, 0DTensorOf<[I64]>:$step,
                       Optional<NN_ScalarF32>:$cycled_momentum,
                       Optional<NN_FloatTensor>:$rows,
                       StrAttr:$optimizer, DictionaryAttr:$hyper);
  let results = (outs NN_FloatTensor:$new_param,
                      Variadic<NN_FloatTensor>:$new_states);
  let assemblyFormat = [{
    $param `,` $grad `,` `states` `(` $states `)` `,` `lr` $lr `,` `step` $step (`cycled_momentum` $cycled_momentum^)? (`rows` $rows^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_NN_OPTIMIZER_OPS
