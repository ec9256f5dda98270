// kiln-cpu-approximate-exp (Passes.td): f32 math.exp -> MLIR's polynomial
// approximation, so that loops computing exp vectorize (libm's expf is an
// opaque call to LLVM's loop vectorizer).
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CPUAPPROXIMATEEXP
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CPUApproximateExpPass
    : kiln::impl::CPUApproximateExpBase<CPUApproximateExpPass> {
  void runOnOperation() override {
    SmallVector<Operation *> exps;
    getOperation().walk([&](math::ExpOp op) {
      if (getElementTypeOrSelf(op.getType()).isF32())
        exps.push_back(op);
    });
    if (exps.empty())
      return;
    // MLIR 19 populates every approximation at once; applying the patterns
    // to the exp ops alone (ExistingOps) leaves the other math ops, and the
    // fma and floor that the expansion creates, as they are.
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyOpPatternsAndFold(exps, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
