// Gradient clipping inside the train step (torch.nn.utils.clip_grad_norm_
// and clip_grad_value_), built from nn ops between the gradient call and
// the optimizer updates by nn-build-train-step.
#ifndef KILN_PASSES_GRADCLIP_H
#define KILN_PASSES_GRADCLIP_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace kiln {

struct ClippedGradients {
  llvm::SmallVector<mlir::Value> grads;
  /// The total norm before clipping (f32 scalar tensor) when the module
  /// asks for error_if_nonfinite: train_step returns it marked
  /// `nn.grad_norm`, and the runtime discards a step whose norm is not
  /// finite. Null otherwise.
  mlir::Value checkedNorm;
};

/// Applies the module's nn.clip_grad_value {clip_value} or
/// nn.clip_grad_norm {max_norm, norm_type, error_if_nonfinite} to `grads`
/// (unchanged without either). Emits an error on `module` and fails on a
/// malformed or unsupported attribute.
mlir::FailureOr<ClippedGradients> clipGradients(mlir::OpBuilder &b, mlir::Location loc,
                                                mlir::ModuleOp module,
                                                mlir::ValueRange grads);

} // namespace kiln

#endif // KILN_PASSES_GRADCLIP_H
