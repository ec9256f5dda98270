// Gradient clipping declared in the model file's training section.
#ifndef KILN_FRONTEND_IMPORT_GRADCLIP_H
#define KILN_FRONTEND_IMPORT_GRADCLIP_H

#include "frontend/import/Registry.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln::import {

/// Reads training.clip_grad_norm {max_norm, norm_type = 2 (a number or
/// "inf"), error_if_nonfinite = false} and training.clip_grad_value
/// {clip_value} into the module attributes nn.clip_grad_norm /
/// nn.clip_grad_value that nn-build-train-step implements. Fails with the
/// JSON path of a bad value; absent keys add nothing. Runs every training
/// option of the registry (registerGradClipFamily adds them).
void addGradClip(mlir::OpBuilder &b, mlir::ModuleOp module, const json &training);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_GRADCLIP_H
