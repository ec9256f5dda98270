// nn.gather, nn.gather_backward and nn.argmax to linalg / scf on tensors.
//
// gather is a parallel generic over the index's shape that reads the input
// at the index (tensor.extract); its adjoint adds into zeros position by
// position in the index's order (an scf.for carrying the tensor), as
// repeated indices must accumulate. Preconditions: static shapes, 0 <= dim
// < rank; an index outside [0, input.shape[dim]) reads 0 / adds nothing
// (model inputs are range-checked by the runtime before any kernel runs).
//
// argmax is two reductions: the NaN-propagating maximum m along the
// dimension, then the smallest index whose element equals m (both NaN
// counts as equal): torch's first index of the maximum, whatever order a
// later pass gives the reduction loops.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// Whether the i64 `p` lies in [0, size), and p as an index (0 when not).
std::pair<Value, Value> checkedIndex(OpBuilder &b, Location l, Value p, int64_t size) {
  Value zero = b.create<arith::ConstantIntOp>(l, 0, 64);
  Value ok = b.create<arith::AndIOp>(
      l, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, p, zero),
      b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, p,
                              b.create<arith::ConstantIntOp>(l, size, 64)));
  Value at = b.create<arith::IndexCastOp>(l, b.getIndexType(),
                                          b.create<arith::SelectOp>(l, ok, p, zero));
  return {ok, at};
}

// y[q] = x[q with q[dim] = index[q]]
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto shape = op.getType().getShape();
    int64_t rank = shape.size(), dim = op.getDim();
    int64_t size = typeOf(adaptor.getInput()).getDimSize(dim);
    Value input = adaptor.getInput();
    Value init = rewriter.create<tensor::EmptyOp>(loc, shape, rewriter.getF32Type());
    auto identity = AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, op.getType(), ValueRange{adaptor.getIndex()}, init,
        SmallVector<AffineMap>{identity, identity},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto [ok, at] = checkedIndex(b, l, args[0], size);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < rank; ++d)
            coords.push_back(d == dim ? at : b.create<linalg::IndexOp>(l, d));
          Value v = b.create<tensor::ExtractOp>(l, input, coords);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, ok, v, f32Const(b, l, 0))});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

// dx = 0; for p over the index in order: dx[p with p[dim] = index[p]] += dy[p]
struct GatherBackwardLowering : OpConversionPattern<GatherBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherBackwardOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto indexShape = typeOf(adaptor.getIndex()).getShape();
    int64_t rank = indexShape.size(), dim = op.getDim();
    int64_t size = op.getType().getDimSize(dim);
    int64_t count = 1;
    for (int64_t d : indexShape)
      count *= d;
    Value init = filledTensor(rewriter, loc, op.getType().getShape(), rewriter.getF32Type(),
                              rewriter.getF32FloatAttr(0));
    Value index = adaptor.getIndex(), dy = adaptor.getGradOutput();
    auto c = [&](OpBuilder &b, Location l, int64_t v) {
      return b.create<arith::ConstantIndexOp>(l, v).getResult();
    };
    auto loop = rewriter.create<scf::ForOp>(
        loc, c(rewriter, loc, 0), c(rewriter, loc, count), c(rewriter, loc, 1),
        ValueRange{init}, [&](OpBuilder &b, Location l, Value t, ValueRange acc) {
          // t as row-major coordinates of the index.
          SmallVector<Value> coords(rank);
          Value rest = t;
          for (int64_t d = rank - 1; d >= 0; --d) {
            coords[d] = b.create<arith::RemUIOp>(l, rest, c(b, l, indexShape[d]));
            rest = b.create<arith::DivUIOp>(l, rest, c(b, l, indexShape[d]));
          }
          Value p = b.create<tensor::ExtractOp>(l, index, coords);
          Value g = b.create<tensor::ExtractOp>(l, dy, coords);
          auto [ok, at] = checkedIndex(b, l, p, size);
          auto add = b.create<scf::IfOp>(
              l, ok,
              [&](OpBuilder &tb, Location tl) {
                SmallVector<Value> to = coords;
                to[dim] = at;
                Value cur = tb.create<tensor::ExtractOp>(tl, acc[0], to);
                Value sum = tb.create<arith::AddFOp>(tl, cur, g);
                tb.create<scf::YieldOp>(
                    tl, ValueRange{tb.create<tensor::InsertOp>(tl, sum, acc[0], to)});
              },
              [&](OpBuilder &eb, Location el) {
                eb.create<scf::YieldOp>(el, ValueRange{acc[0]});
              });
          b.create<scf::YieldOp>(l, add.getResults());
        });
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }
};

// i = min { k : x[k] == max(x) or both are NaN } along dim (the flattened
// input without a dim)
struct ArgmaxLowering : OpConversionPattern<ArgmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ArgmaxOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    RankedTensorType in = typeOf(x);
    int64_t dim = 0;
    IntegerAttr dimAttr = op.getDimAttr();
    if (!dimAttr || in.getRank() == 0) {
      x = reshapeTensor(rewriter, loc, x,
                        RankedTensorType::get({in.getNumElements()}, rewriter.getF32Type()));
      in = typeOf(x);
    } else {
      dim = dimAttr.getInt() < 0 ? dimAttr.getInt() + in.getRank() : dimAttr.getInt();
    }
    int64_t rank = in.getRank();
    Value m = reduceDims(rewriter, loc, x, {dim}, rewriter.getF32FloatAttr(-INFINITY),
                         [](OpBuilder &b, Location l, Value v, Value acc) -> Value {
                           return b.create<arith::MaximumFOp>(l, v, acc);
                         });
    // candidate[k] = k where x[k] is the maximum, else INT64_MAX.
    SmallVector<AffineExpr> kept;
    for (int64_t d = 0; d < rank; ++d)
      if (d != dim)
        kept.push_back(getAffineDimExpr(d, ctx));
    auto identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    const int64_t none = std::numeric_limits<int64_t>::max();
    Value init = rewriter.create<tensor::EmptyOp>(loc, in.getShape(), rewriter.getI64Type());
    auto candidates = rewriter.create<linalg::GenericOp>(
        loc, init.getType(), ValueRange{x, m}, init,
        SmallVector<AffineMap>{identity, AffineMap::get(rank, 0, kept, ctx), identity},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = args[0], best = args[1];
          Value equal = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, v, best);
          Value bothNan = b.create<arith::AndIOp>(
              l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v, v),
              b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, best, best));
          Value k = b.create<arith::IndexCastOp>(l, b.getI64Type(),
                                                 b.create<linalg::IndexOp>(l, dim));
          Value isMax = b.create<arith::OrIOp>(l, equal, bothNan);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(
                     l, isMax, k, b.create<arith::ConstantIntOp>(l, none, 64))});
        });
    Value first = reduceDims(rewriter, loc, candidates.getResult(0), {dim},
                             rewriter.getI64IntegerAttr(none),
                             [](OpBuilder &b, Location l, Value v, Value acc) -> Value {
                               return b.create<arith::MinSIOp>(l, v, acc);
                             });
    if (typeOf(first) != op.getType())
      first = reshapeTensor(rewriter, loc, first, op.getType());
    rewriter.replaceOp(op, first);
    return success();
  }
};

} // namespace

void kiln::populateLowerIndexPatterns(RewritePatternSet &patterns) {
  patterns.add<GatherLowering, GatherBackwardLowering, ArgmaxLowering>(patterns.getContext());
}
