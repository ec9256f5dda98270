// f32 constants that builders of several families make (EmbeddingBag's bag
// matrix, the value checks' positions, CTCLoss's length divisors).
#ifndef KILN_FRONTEND_IMPORT_CONSTANTS_H
#define KILN_FRONTEND_IMPORT_CONSTANTS_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// An arith.constant f32 tensor of `shape` holding `values` (as many as the
/// shape has elements), at the call's location.
mlir::Value f32Constant(BuildContext &c, llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<float> values);

/// 0, 1, ..., n - 1 as f32 of `shape` (n elements).
mlir::Value iota(BuildContext &c, llvm::ArrayRef<int64_t> shape, int64_t n);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_CONSTANTS_H
