// nn.ctc_loss and nn.ctc_loss_backward as calls of the runtime's CTC routines
// (runtime/lib/ctc.cpp: kiln_ctc_loss_forward / _backward): one
// nn.library_call each, on the tensors as they are ([T, N, C] log_probs,
// [N, S] or concatenated [S] targets, [N] lengths), with the sizes, the
// blank, zero_infinity and whether the targets are concatenated
// as the call's parameters (kiln/runtime.h, KILN_CTC_PARAMS_SIZE). Why a
// routine: the recursions run over each sample's own lengths and pick labels
// from the targets, which linalg cannot express as a structured op.
// Preconditions: the ops verified (static shapes, blank in [0, C)); the
// runtime's index check keeps the integer operands in the ranges the
// routines index with.
#include "passes/LowerToLinalg.h"

#include "ir/NNDialect.h"

using namespace mlir;
using namespace kiln;

namespace {

/// T, N, C, S, blank, zero_infinity, concatenated (1-D targets).
SmallVector<int64_t> ctcParams(Value logProbs, Value targets, int64_t blank,
                               bool zeroInfinity) {
  auto lp = cast<ShapedType>(logProbs.getType()).getShape();
  auto t = cast<ShapedType>(targets.getType()).getShape();
  return {lp[0], lp[1], lp[2], t.back(), blank, zeroInfinity ? 1 : 0, t.size() == 1 ? 1 : 0};
}

struct LowerCtcLoss : OpConversionPattern<nn::CtcLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::CtcLossOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, libraryCall(rewriter, op.getLoc(), "kiln_ctc_loss_forward",
                        ctcParams(a.getLogProbs(), a.getTargets(), op.getBlank(),
                                  op.getZeroInfinity()),
                        {a.getLogProbs(), a.getTargets(), a.getInputLengths(),
                         a.getTargetLengths()},
                        op.getType()));
    return success();
  }
};

struct LowerCtcLossBackward : OpConversionPattern<nn::CtcLossBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::CtcLossBackwardOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, libraryCall(rewriter, op.getLoc(), "kiln_ctc_loss_backward",
                        ctcParams(a.getLogProbs(), a.getTargets(), op.getBlank(),
                                  op.getZeroInfinity()),
                        {a.getLogProbs(), a.getTargets(), a.getInputLengths(),
                         a.getTargetLengths(), a.getGrad()},
                        op.getType()));
    return success();
  }
};

} // namespace

void kiln::populateLowerCtcPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerCtcLoss, LowerCtcLossBackward>(patterns.getContext());
}
