// kiln-fuse-elementwise (Passes.td): the pattern set of MLIR 19's
// linalg-fuse-elementwise-ops (LinalgElementwiseOpFusionPass) under a
// control function that also keeps named linalg ops (the matmuls the
// lowering emits) out of reshape folding, so the backend still sees them as
// matmuls.
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A linalg op other than linalg.generic (matmul, fill, ...).
bool isNamedLinalg(Operation *op) {
  return op && isa<linalg::LinalgOp>(op) && !isa<linalg::GenericOp>(op);
}

struct FuseElementwisePass
    : kiln::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    // Upstream's default: fuse a producer only into its single user.
    linalg::ControlFusionFn fuseOnce = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    // Reshape folding is called with the linalg op's operand (reshape
    // producer) or with the reshape's source (linalg producer): a named op
    // on either side is never expanded. Not even by unit dims: a 1x1
    // convolution's weight gradient [F, C] reshaped to [F, C, 1, 1] became
    // a 5-loop generic that the backend ran as scalar loops (4 % of W3's
    // train step) instead of one call of its GEMM.
    linalg::ControlFusionFn keepNamed = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      return !isNamedLinalg(producer) && !isNamedLinalg(fused->getOwner());
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, fuseOnce);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, keepNamed);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, fuseOnce);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
