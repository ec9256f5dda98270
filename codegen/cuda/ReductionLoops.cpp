// The loop shape the CUDA backend's reduction passes take (ReductionLoops.h).
#include "codegen/cuda/ReductionLoops.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"

using namespace mlir;

std::optional<kiln::cuda::ReductionLoops> kiln::cuda::reductionLoops(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  ReductionLoops loops;
  while (loops.parallel < iterators.size() &&
         linalg::isParallelIterator(iterators[loops.parallel]))
    ++loops.parallel;
  if (loops.parallel == iterators.size())
    return std::nullopt;
  for (unsigned d = loops.parallel; d < iterators.size(); ++d)
    if (!linalg::isReductionIterator(iterators[d]))
      return std::nullopt;
  loops.ranges = op.getStaticLoopRanges();
  if (llvm::any_of(loops.ranges, ShapedType::isDynamic))
    return std::nullopt;
  for (unsigned d = 0; d < loops.ranges.size(); ++d)
    (d < loops.parallel ? loops.outputs : loops.length) *= loops.ranges[d];
  return loops;
}
