// The loop shape the CUDA backend's reduction passes take
// (kiln-cuda-split-reductions, kiln-cuda-block-reductions).
#ifndef KILN_CODEGEN_CUDA_REDUCTIONLOOPS_H
#define KILN_CODEGEN_CUDA_REDUCTIONLOOPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace kiln::cuda {

/// A linalg.generic's loops when they are parallel ones first, then at
/// least one reduction (kiln-cuda-parallel-iterators-first orders them so),
/// all of static size.
struct ReductionLoops {
  unsigned parallel = 0;            // the leading parallel loops
  llvm::SmallVector<int64_t> ranges; // every loop's trip count
  int64_t outputs = 1;              // the product of the parallel ranges
  int64_t length = 1;               // the product of the reduction ranges
};

/// `op`'s ReductionLoops, or nullopt when its loops are not of that shape.
std::optional<ReductionLoops> reductionLoops(mlir::linalg::GenericOp op);

} // namespace kiln::cuda

#endif // KILN_CODEGEN_CUDA_REDUCTIONLOOPS_H
