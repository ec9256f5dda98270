// kiln-fuse-elementwise (Passes.td): the pattern set of MLIR 19's
// linalg-fuse-elementwise-ops (LinalgElementwiseOpFusionPass) under a
// control function that also keeps named linalg ops (the matmuls the
// lowering emits) out of reshape folding, so the backend still sees them as
// matmuls.
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
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

/// What `op` is to a reader of remarks: its name, and for a generic the
/// body's first computation (arith.addf, math.exp, ...).
std::string describe(Operation *op) {
  std::string name = op->getName().getStringRef().str();
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    for (Operation &inner : generic.getBody()->without_terminator())
      return name + " (" + inner.getName().getStringRef().str() + ")";
  }
  return name;
}

/// The first costly op (math dialect, division) of a producer that the
/// consumer reads broadcast (its operand map leaves out some of the
/// consumer's loops): fused, that op would run once per consumer element
/// instead of once per producer element (a row's log-sum over every class,
/// a channel's rsqrt over every pixel). Null when the read is not a
/// broadcast or the producer is cheap.
Operation *costlyBroadcast(OpOperand *fused) {
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  if (!consumer || !producer)
    return nullptr;
  AffineMap map = consumer.getMatchingIndexingMap(fused);
  if (map.getNumResults() >= consumer.getNumLoops())
    return nullptr;
  for (Operation &op : producer.getBody()->without_terminator())
    if (isa<math::MathDialect>(op.getDialect()) ||
        isa<arith::DivFOp, arith::RemFOp>(op))
      return &op;
  return nullptr;
}

/// Remarks of the fusion decisions. A refusal is reported once per pair
/// (the greedy driver may ask again when a neighbour changes); a fusion
/// happens once, and then erases both ops, whose addresses a later op may
/// reuse: their pairs are forgotten.
class FusionRemarks {
public:
  explicit FusionRemarks(bool enabled) : enabled(enabled) {}

  void fused(Operation *producer, Operation *consumer) {
    if (!enabled)
      return;
    ++fusedCount;
    consumer->emitRemark() << "fusion: " << describe(producer) << " fused into "
                           << describe(consumer) << " (one loop nest, no temporary)";
    llvm::SmallVector<std::pair<Operation *, Operation *>> stale;
    for (const auto &pair : seen)
      if (llvm::is_contained({pair.first, pair.second}, producer) ||
          llvm::is_contained({pair.first, pair.second}, consumer))
        stale.push_back(pair);
    for (const auto &pair : stale)
      seen.erase(pair);
  }
  void severalUsers(Operation *producer, Operation *consumer) {
    if (enabled && seen.insert({producer, consumer}).second) {
      ++unfusedCount;
      producer->emitRemark() << "fusion: " << describe(producer) << " not fused into "
                             << describe(consumer) << ": it has "
                             << std::distance(producer->getUsers().begin(),
                                              producer->getUsers().end())
                             << " users, and fusing would compute it once per user";
    }
  }
  void broadcastCostly(Operation *producer, Operation *consumer, Operation *costly) {
    if (enabled && seen.insert({producer, consumer}).second) {
      ++unfusedCount;
      producer->emitRemark() << "fusion: " << describe(producer) << " not fused into "
                             << describe(consumer) << ": the user reads each of its values for "
                                "several elements, and fusing would compute its "
                             << costly->getName().getStringRef() << " once per element";
    }
  }
  void keptNamed(Operation *producer, Operation *consumer) {
    if (enabled && seen.insert({producer, consumer}).second)
      consumer->emitRemark() << "fusion: " << describe(producer) << " and " << describe(consumer)
                             << " not merged by expanding the reshape: a named linalg op keeps "
                                "its form (the backend matches linalg.matmul and linalg.fill)";
  }
  void summary(func::FuncOp fn) {
    if (enabled && (fusedCount || unfusedCount))
      fn.emitRemark() << "fusion: @" << fn.getSymName() << ": " << fusedCount
                      << " producers fused into their user, " << unfusedCount
                      << " producer-user pairs left unfused (producer with several users, or costly and broadcast)";
  }

private:
  bool enabled;
  unsigned fusedCount = 0, unfusedCount = 0;
  llvm::DenseSet<std::pair<Operation *, Operation *>> seen;
};

struct FuseElementwisePass
    : kiln::impl::FuseElementwiseBase<FuseElementwisePass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    FusionRemarks report(remarks);
    // Upstream's default: fuse a producer only into its single user. The
    // pattern asks only for pairs it can fuse, and fuses when told yes.
    linalg::ControlFusionFn fuseOnce = [&](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer)
        return false;
      if (!producer->hasOneUse()) {
        report.severalUsers(producer, fused->getOwner());
        return false;
      }
      if (Operation *costly = costlyBroadcast(fused)) {
        report.broadcastCostly(producer, fused->getOwner(), costly);
        return false;
      }
      report.fused(producer, fused->getOwner());
      return true;
    };
    // Reshape folding is called with the linalg op's operand (reshape
    // producer) or with the reshape's source (linalg producer): a named op
    // on either side is never expanded. Not even by unit dims: a 1x1
    // convolution's weight gradient [F, C] reshaped to [F, C, 1, 1] became
    // a 5-loop generic that the backend ran as scalar loops (4 % of W3's
    // train step) instead of one call of its GEMM.
    linalg::ControlFusionFn keepNamed = [&](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      if (isNamedLinalg(producer) || isNamedLinalg(fused->getOwner())) {
        report.keptNamed(producer, fused->getOwner());
        return false;
      }
      return true;
    };
    // Constant folding keeps upstream's rule, unreported.
    linalg::ControlFusionFn foldOnce = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, fuseOnce);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, keepNamed);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, foldOnce);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
    report.summary(getOperation());
  }
};

} // namespace
