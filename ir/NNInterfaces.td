#ifndef KILN_NN_INTERFACES
#define KILN_NN_INTERFACES

include "mlir/IR/OpBase.td"

def NN_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let description = [{
    The reverse-mode gradient rule of an op. `nn-autodiff` calls it on every
    op on the path from a differentiated argument to the loss, in reverse
    order, and never looks at op names.
  }];
  let cppNamespace = "::kiln::nn";
  let methods = [
    InterfaceMethod<[{
        Builds the adjoint ops at the builder's insertion point.
        `resultGrads[i]` is the gradient flowing into result i (null when no
        use of that result reaches the loss). For every operand i with
        `needGrad[i]` set, the rule must append a gradient of the operand's
        type to `operandGrads` position i; other positions may stay null.
        Operands that are not differentiable (indices, targets) are never
        requested. Fails with a diagnostic on the op when it cannot.
      }],
      "::mlir::LogicalResult", "buildGradient",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$needGrad,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
    InterfaceMethod<[{
        Whether operand `index` can carry a gradient at all (false for class
        indices, loss targets, step counters).
      }],
      "bool", "isDifferentiableOperand", (ins "unsigned":$index), [{}],
      [{ return true; }]>
  ];
}

def NN_DecomposableOpInterface : OpInterface<"DecomposableOpInterface"> {
  let description = [{
    A composite op that `nn-decompose` replaces by primitive nn ops before
    autodiff, so that it gets its gradient and lowering from them. The pass
    never looks at op names.
  }];
  let cppNamespace = "::kiln::nn";
  let methods = [
    InterfaceMethod<[{
        Builds the replacement at the builder's insertion point and returns
        one value per result, of the result types.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>", "decompose",
      (ins "::mlir::OpBuilder &":$builder)>
  ];
}

def NN_IndexOperandOpInterface : OpInterface<"IndexOperandOpInterface"> {
  let description = [{
    An op that indexes with integer operands (a loss's class indices; later
    embedding rows): which values each may hold. When such an operand is an
    i64 input or target of the compiled model, the runtime checks every
    element the caller passes against it before any kernel runs (as torch
    checks its targets), so a bad batch is an error that changes nothing
    rather than NaN written into the parameters.
  }];
  let cppNamespace = "::kiln::nn";
  let methods = [
    InterfaceMethod<[{
        The values operand `index` may hold, or nothing when the op does not
        index with it.
      }],
      "std::optional<::kiln::nn::IndexBounds>", "getIndexBounds",
      (ins "unsigned":$index)>
  ];
}

#endif // KILN_NN_INTERFACES
