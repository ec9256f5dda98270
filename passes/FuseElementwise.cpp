// kiln-fuse-elementwise (Passes.td): the pattern set of MLIR 19's
// linalg-fuse-elementwise-ops (LinalgElementwiseOpFusionPass) under a
// control function that also keeps named linalg ops (the matmuls the
// lowering emits) out of reshape folding, but for unit dims, so the backend
// still sees them as matmuls.
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

/// Whether a reshape only adds or drops unit dims (every group of its
/// reassociation has at most one dim of size > 1): folding such a reshape
/// into a matmul is what upstream did for the MLP's [128, 1, 10] logits,
/// and is kept so that W1's kernels stay as they were.
bool onlyUnitDims(Operation *reshape) {
  auto check = [](ShapedType expanded, ArrayRef<ReassociationIndices> groups) {
    return llvm::all_of(groups, [&](const ReassociationIndices &g) {
      return llvm::count_if(g, [&](int64_t d) {
               return expanded.getDimSize(d) != 1;
             }) <= 1;
    });
  };
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(reshape))
    return check(e.getResultType(), e.getReassociationIndices());
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(reshape))
    return check(c.getSrcType(), c.getReassociationIndices());
  return false;
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
    // on either side is only expanded by unit dims.
    linalg::ControlFusionFn keepNamed = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      Operation *owner = fused->getOwner();
      if (isNamedLinalg(producer))
        return onlyUnitDims(owner);
      if (isNamedLinalg(owner))
        return onlyUnitDims(producer);
      return true;
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
