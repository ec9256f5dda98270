// nn-decompose: composite ops -> primitive nn ops (DecomposableOpInterface).
//
// Algorithm:
//   1. Collect every op implementing the interface, in program order.
//   2. For each: build its decomposition right before it, replace its
//      results, erase it.
//   3. Repeat while a decomposition produced composite ops itself.
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_DECOMPOSE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

struct DecomposePass : kiln::impl::DecomposeBase<DecomposePass> {
  void runOnOperation() override {
    // A decomposition that re-creates its own op would loop forever; no
    // composite is nested deeper than this.
    constexpr int kMaxRounds = 16;
    for (int round = 0; round < kMaxRounds; ++round) {
      SmallVector<DecomposableOpInterface> composites;
      getOperation().walk(
          [&](DecomposableOpInterface op) { composites.push_back(op); });
      if (composites.empty())
        return;
      for (DecomposableOpInterface op : composites)
        if (failed(decompose(op)))
          return signalPassFailure();
    }
    getOperation().emitError("nn-decompose: composite ops still present after ")
        << kMaxRounds << " rounds (a decomposition produces itself)";
    signalPassFailure();
  }

  LogicalResult decompose(DecomposableOpInterface op) {
    OpBuilder b(op);
    FailureOr<SmallVector<Value>> values = op.decompose(b);
    if (failed(values))
      return failure();
    if (values->size() != op->getNumResults() ||
        TypeRange(ValueRange(*values)) != op->getResultTypes())
      return op->emitOpError("decomposition does not produce the result types");
    op->replaceAllUsesWith(*values);
    op->erase();
    return success();
  }
};

} // namespace
