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

struct CUDAParallelIteratorsFirstPass
    : kiln::impl::CUDAParallelIteratorsFirstBase<CUDAParallelIteratorsFirstPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
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
