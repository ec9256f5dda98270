// Lowering of the activation family (NNActivationOps.td) to elementwise
// linalg.generics. nn.gelu and nn.silu are decomposed (nn-decompose) before
// this runs, so only the primitive activations and their backward ops remain.
#include "passes/LowerToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

// relu(x) = max(x, 0); NaN propagates like torch.
struct ReluLowering : OpConversionPattern<ReluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(), adaptor.getInput(),
        [](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          return {b.create<arith::MaximumFOp>(loc, a[0], f32Const(b, loc, 0))};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

// threshold_backward(g, x) = x > threshold ? g : 0
struct ThresholdBackwardLowering : OpConversionPattern<ThresholdBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ThresholdBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    double threshold = op.getThreshold().convertToFloat();
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(),
        ValueRange{adaptor.getGrad(), adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          Value pass = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT,
                                               a[1], f32Const(b, loc, threshold));
          return {b.create<arith::SelectOp>(loc, pass, a[0],
                                            f32Const(b, loc, 0))};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void kiln::populateLowerActivationPatterns(RewritePatternSet &patterns) {
  patterns.add<ReluLowering, ThresholdBackwardLowering>(patterns.getContext());
}
