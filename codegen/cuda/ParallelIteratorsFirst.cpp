// kiln-cuda-parallel-iterators-first: the parallel loops of every
// linalg.generic outermost (Passes.td says why).
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAPARALLELITERATORSFIRST
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// interchangeGenericOp's vector (new loop i is old loop vector[i]) that
/// puts the parallel loops first; empty when they are first already.
SmallVector<unsigned> parallelFirst(linalg::GenericOp op) {
  SmallVector<unsigned> parallel, reduction;
  for (auto [i, type] : llvm::enumerate(op.getIteratorTypesArray()))
    (linalg::isParallelIterator(type) ? parallel : reduction).push_back(i);
  SmallVector<unsigned> order = parallel;
  order.append(reduction);
  bool identity = true;
  for (auto [i, loop] : llvm::enumerate(order))
    identity &= i == loop;
  return identity ? SmallVector<unsigned>() : order;
}

/// Every parallel loop must index every output: threads of a kernel run
/// the iterations of the parallel loops at once, so an output element that
/// several of them write would be a race (CPU loops are sequential).
LogicalResult checkOutputsIndexParallelLoops(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (OpOperand &out : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&out);
    for (auto [d, type] : llvm::enumerate(iterators))
      if (linalg::isParallelIterator(type) && !map.isFunctionOfDim(d))
        return op.emitError("--target=cuda: parallel loop ")
               << d << " does not index output " << out.getOperandNumber()
               << ": its GPU threads would write the same elements";
  }
  return success();
}

struct CUDAParallelIteratorsFirstPass
    : kiln::impl::CUDAParallelIteratorsFirstBase<CUDAParallelIteratorsFirstPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
      if (failed(checkOutputsIndexParallelLoops(op)))
        return signalPassFailure();
      SmallVector<unsigned> order = parallelFirst(op);
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitError("cannot put the parallel loops of this op first");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
