// Lowering of the elementwise family (NNElementwiseOps.td): one linalg.generic
// each, with torch broadcasting; the elementwise fusion pass merges chains.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// The scalar computation of one element: operands (already f32 or i1
/// values) -> result.
using ScalarFn = Value (*)(OpBuilder &, Location, ValueRange);

/// One pattern for every elementwise op: a generic over the result shape
/// whose body is `Fn`.
template <typename Op, ScalarFn Fn>
struct ElementwiseLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), type.getShape(), adaptor.getOperands(),
        [](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          return {Fn(b, loc, a)};
        },
        1, type.getElementType());
    rewriter.replaceOp(op, results);
    return success();
  }
};

template <typename MathOp> Value unary(OpBuilder &b, Location l, ValueRange a) {
  return b.create<MathOp>(l, a[0]);
}
template <typename ArithOp> Value binary(OpBuilder &b, Location l, ValueRange a) {
  return b.create<ArithOp>(l, a[0], a[1]);
}

Value constant(OpBuilder &b, Location l, double v) { return f32Const(b, l, v); }

// torch.sign: -1, 0 or 1 (NaN stays NaN).
Value sign(OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0], zero = constant(b, l, 0);
  Value pos = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero);
  Value neg = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, x, zero);
  Value s = b.create<arith::SelectOp>(
      l, pos, constant(b, l, 1),
      b.create<arith::SelectOp>(l, neg, constant(b, l, -1), zero));
  Value nan = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, x, x);
  return b.create<arith::SelectOp>(l, nan, x, s);
}

// sigmoid(x) = 1 / (1 + e^-x)
Value sigmoid(OpBuilder &b, Location l, ValueRange a) {
  Value e = b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, a[0]));
  return b.create<arith::DivFOp>(
      l, constant(b, l, 1), b.create<arith::AddFOp>(l, constant(b, l, 1), e));
}

Value where(OpBuilder &b, Location l, ValueRange a) {
  return b.create<arith::SelectOp>(l, a[0], a[1], a[2]);
}

/// nn.compare: ordered predicates (false on NaN), except `ne` (true on NaN),
/// as torch.
struct CompareLowering : OpConversionPattern<CompareOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CompareOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    arith::CmpFPredicate p = predicateOf(op.getPredicate());
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(), adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          return {b.create<arith::CmpFOp>(loc, p, a[0], a[1])};
        },
        1, rewriter.getI1Type());
    rewriter.replaceOp(op, results);
    return success();
  }

  static arith::CmpFPredicate predicateOf(ComparePredicate p) {
    switch (p) {
    case ComparePredicate::eq:
      return arith::CmpFPredicate::OEQ;
    case ComparePredicate::ne:
      return arith::CmpFPredicate::UNE;
    case ComparePredicate::lt:
      return arith::CmpFPredicate::OLT;
    case ComparePredicate::le:
      return arith::CmpFPredicate::OLE;
    case ComparePredicate::gt:
      return arith::CmpFPredicate::OGT;
    case ComparePredicate::ge:
      return arith::CmpFPredicate::OGE;
    }
    llvm_unreachable("unknown predicate");
  }
};

} // namespace

void kiln::populateLowerElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering<NegOp, unary<arith::NegFOp>>,
               ElementwiseLowering<AbsOp, unary<math::AbsFOp>>,
               ElementwiseLowering<SignOp, sign>,
               ElementwiseLowering<ExpOp, unary<math::ExpOp>>,
               ElementwiseLowering<LogOp, unary<math::LogOp>>,
               ElementwiseLowering<Log1pOp, unary<math::Log1pOp>>,
               ElementwiseLowering<SqrtOp, unary<math::SqrtOp>>,
               ElementwiseLowering<RsqrtOp, unary<math::RsqrtOp>>,
               ElementwiseLowering<TanhOp, unary<math::TanhOp>>,
               ElementwiseLowering<SigmoidOp, sigmoid>,
               ElementwiseLowering<ErfOp, unary<math::ErfOp>>,
               ElementwiseLowering<AddOp, binary<arith::AddFOp>>,
               ElementwiseLowering<SubOp, binary<arith::SubFOp>>,
               ElementwiseLowering<MulOp, binary<arith::MulFOp>>,
               ElementwiseLowering<DivOp, binary<arith::DivFOp>>,
               // maximumf / minimumf propagate NaN, as torch.maximum / minimum.
               ElementwiseLowering<MaximumOp, binary<arith::MaximumFOp>>,
               ElementwiseLowering<MinimumOp, binary<arith::MinimumFOp>>,
               // powf as torch's CPU kernel: NaN for a negative base and a
               // non-integer exponent, pow(0, 0) = 1.
               ElementwiseLowering<PowOp, binary<math::PowFOp>>,
               ElementwiseLowering<WhereOp, where>, CompareLowering>(
      patterns.getContext());
}
