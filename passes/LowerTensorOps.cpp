// Lowering of reductions and layout ops (NNTensorOps.td). Preconditions: the
// ops verified (dims in range, no repeats), static shapes.
#include "passes/LowerToLinalg.h"

#include "ir/ShapeRules.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// The verified op's dims normalised by the shared rule (ir/ShapeRules.h).
SmallVector<int64_t> normalised(ArrayRef<int64_t> dims, RankedTensorType in) {
  shape_rules::Inferred d = shape_rules::normaliseDims(
      shape_rules::Shape(in.getShape().begin(), in.getShape().end()), dims.vec());
  return SmallVector<int64_t>(d.shape.begin(), d.shape.end());
}

/// sum / mean: a reduction generic, divided by the count for mean, with the
/// unit dims re-inserted for keepdim.
template <typename Op, bool IsMean>
struct ReduceLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = typeOf(adaptor.getInput());
    SmallVector<int64_t> dims = normalised(op.getDims(), in);
    Value sum = reduceDims(
        rewriter, loc, adaptor.getInput(), dims, rewriter.getF32FloatAttr(0),
        [](OpBuilder &b, Location l, Value x, Value acc) -> Value {
          return b.create<arith::AddFOp>(l, x, acc);
        });
    if (IsMean) {
      int64_t count = 1;
      for (int64_t d : dims)
        count *= in.getDimSize(d);
      sum = broadcastElementwise(
          rewriter, loc, typeOf(sum).getShape(), sum,
          [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
            return {b.create<arith::DivFOp>(l, a[0], f32Const(b, l, count))};
          })[0];
    }
    if (typeOf(sum) != op.getType()) {
      SmallVector<bool> kept;
      for (int64_t d = 0; d < in.getRank(); ++d)
        kept.push_back(!llvm::is_contained(dims, d));
      sum = reshapeWithUnitDims(rewriter, loc, sum, op.getType(), kept);
    }
    rewriter.replaceOp(op, sum);
    return success();
  }

  /// keepdim: the reduced tensor expanded back to the unit-dim shape.
  static Value reshapeWithUnitDims(OpBuilder &b, Location loc, Value v,
                                   RankedTensorType type, ArrayRef<bool> kept) {
    auto groups = unitDimReassociation(kept);
    if (groups.empty()) // everything reduced: a scalar to all-ones
      return b.create<tensor::ExpandShapeOp>(loc, type, v,
                                             ArrayRef<ReassociationIndices>{});
    return b.create<tensor::ExpandShapeOp>(loc, type, v, groups);
  }
};

/// result[i...] = input[...] read through the inverse permutation.
struct PermuteLowering : OpConversionPattern<PermuteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PermuteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto out = op.getType();
    int64_t rank = out.getRank();
    SmallVector<AffineExpr> inputExprs(rank);
    for (int64_t k = 0; k < rank; ++k) {
      int64_t d = op.getDims()[k];
      inputExprs[d < 0 ? d + rank : d] = getAffineDimExpr(k, ctx);
    }
    Value init = rewriter.create<tensor::EmptyOp>(loc, out.getShape(),
                                                  out.getElementType());
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, inputExprs, ctx),
                                AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, out, adaptor.getInput(), init, maps, iters,
        [](OpBuilder &b, Location l, ValueRange args) {
          b.create<linalg::YieldOp>(l, args[0]);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void kiln::populateLowerTensorOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<SumOp, false>, ReduceLowering<MeanOp, true>,
               PermuteLowering>(patterns.getContext());
}
