// kiln-cpu-approximate-math (Passes.td): f32 math.exp and math.tanh ->
// MLIR's polynomial approximations, so that loops computing them vectorize
// (libm's expf and tanhf are opaque calls to LLVM's loop vectorizer).
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CPUAPPROXIMATEMATH
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CPUApproximateMathPass
    : kiln::impl::CPUApproximateMathBase<CPUApproximateMathPass> {
  void runOnOperation() override {
    // Only the ops whose approximations were measured (Passes.td: ulp
    // over every f32); the others keep their libm or LLVM lowering.
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<math::ExpOp, math::TanhOp>(op) &&
          getElementTypeOrSelf(op->getResult(0).getType()).isF32())
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    // MLIR 19 populates every approximation at once; applying the patterns
    // to these ops alone (ExistingOps) leaves the other math ops, and the
    // fma, floor and clamps that the expansions create, as they are.
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyOpPatternsAndFold(ops, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
