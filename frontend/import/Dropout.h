// What the dropout family (Dropout.cpp) shares with layers that apply
// dropout inside (MultiheadAttention's attention weights).
#ifndef KILN_FRONTEND_IMPORT_DROPOUT_H
#define KILN_FRONTEND_IMPORT_DROPOUT_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// torch 1.13's dropout of `x` with noise of shape `shape` (x's shape, or
/// ones where one noise value is shared): x * (bernoulli(1 - p) / (1 - p))
/// from the instance's stream, x * 0 for p = 1, and x itself when not
/// `active` or p = 0 (then nothing is drawn).
mlir::Value maskedDropout(BuildContext &c, mlir::Value x, llvm::ArrayRef<int64_t> shape,
                          double p, bool active);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_DROPOUT_H
