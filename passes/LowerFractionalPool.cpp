// Lowering of nn.fractional_max_pool and its adjoint (NNPoolOps.td) to
// linalg on tensors. Preconditions: the ops verified, static shapes, f32
// data and samples, i64 indices.
//
//   fractional_max_pool           one linalg.generic over [N, C, *out] with a
//                                 reduction loop per spatial dimension
//                                 walking the kernel from the window's start;
//                                 the start is recomputed in the body from
//                                 the plane's sample (torch's interval rule,
//                                 in f32 as torch's float kernel)
//   fractional_max_pool_backward  dx[n, c, i[n, c, o]] += dy[n, c, o]: the
//                                 windows overlap, so several outputs may
//                                 add to one position; scf.for loops in
//                                 torch's order (n, c, o), inserting into a
//                                 zero tensor, in place after bufferization
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

/// The start of window `o` (an index) of spatial dimension `d` in plane
/// (n, c), torch's fractional_max_pool{2,3}d_generate_intervals:
///   alpha = f32(in - k) / f32(out - 1)
///   start = int((f32(o) + u) * alpha) - int(u * alpha), in - k for the last
/// with u = samples[n, c, j] (j = 1 - d in 2-d, torch's kernel reads sample
/// 0 for the width; j = d in 3-d). Samples outside [0, 1) (an explicit
/// samples input; torch reads out of bounds there) are kept in bounds: each
/// product is clamped before the conversion (no poison from fptosi), the
/// start to [0, in - k].
Value windowStart(OpBuilder &b, Location l, Value samples, Value n, Value c,
                  int64_t d, int64_t r, Value o, int64_t in, int64_t out,
                  int64_t k) {
  Value last = indexConst(b, l, in - k);
  if (out == 1)
    return last;
  Value j = indexConst(b, l, r == 2 ? 1 - d : d);
  Value u = b.create<tensor::ExtractOp>(l, samples, ValueRange{n, c, j});
  float alphaValue = static_cast<float>(in - k) / static_cast<float>(out - 1);
  Value alpha = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(alphaValue));
  Value lo = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(-1.0f));
  Value hi = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(float(in + 1)));
  auto truncated = [&](Value v) {
    // maxnumf / minnumf map a NaN to the bound.
    v = b.create<arith::MinNumFOp>(l, b.create<arith::MaxNumFOp>(l, v, lo), hi);
    return b.create<arith::FPToSIOp>(l, b.getI64Type(), v).getResult();
  };
  Value of = b.create<arith::SIToFPOp>(
      l, b.getF32Type(), b.create<arith::IndexCastOp>(l, b.getI64Type(), o));
  Value start = b.create<arith::SubIOp>(
      l, truncated(b.create<arith::MulFOp>(l, b.create<arith::AddFOp>(l, of, u), alpha)),
      truncated(b.create<arith::MulFOp>(l, u, alpha)));
  start = b.create<arith::IndexCastOp>(l, b.getIndexType(), start);
  start = b.create<arith::MinSIOp>(
      l, b.create<arith::MaxSIOp>(l, start, indexConst(b, l, 0)), last);
  Value isLast = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, o,
                                         indexConst(b, l, out - 1));
  return b.create<arith::SelectOp>(l, isLast, last, start);
}

// Scan order is the loop order (k_1 outermost), as torch's kernels: a
// position replaces the maximum when it is greater or NaN, and the first
// position always does (a window of -inf reports its first position).
struct FractionalMaxPoolLowering : OpConversionPattern<FractionalMaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FractionalMaxPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), samples = adaptor.getSamples();
    auto inShape = typeOf(x).getShape();
    auto outShape = op.getResult().getType().getShape();
    ArrayRef<int64_t> kernel = op.getKernelSize();
    int64_t rank = outShape.size(), r = rank - 2;
    Value values = filledTensor(
        rewriter, loc, outShape, rewriter.getF32Type(),
        rewriter.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value indices = filledTensor(rewriter, loc, outShape, rewriter.getI64Type(),
                                 rewriter.getI64IntegerAttr(-1));
    // An unread [*kernel] operand bounds the reduction loops.
    Value window = rewriter.create<tensor::EmptyOp>(loc, kernel, rewriter.getI1Type());
    SmallVector<AffineExpr> outExprs, windowExprs;
    for (int64_t d = 0; d < rank; ++d)
      outExprs.push_back(getAffineDimExpr(d, ctx));
    for (int64_t d = 0; d < r; ++d)
      windowExprs.push_back(getAffineDimExpr(rank + d, ctx));
    AffineMap outMap = AffineMap::get(rank + r, 0, outExprs, ctx);
    SmallVector<AffineMap> maps{AffineMap::get(rank + r, 0, windowExprs, ctx),
                                outMap, outMap};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.append(r, utils::IteratorType::reduction);
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{values.getType(), indices.getType()}, ValueRange{window},
        ValueRange{values, indices}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value n = b.create<linalg::IndexOp>(l, 0);
          Value c = b.create<linalg::IndexOp>(l, 1);
          SmallVector<Value> at{n, c};
          Value flat;
          for (int64_t d = 0; d < r; ++d) {
            Value start = windowStart(b, l, samples, n, c, d, r,
                                      b.create<linalg::IndexOp>(l, 2 + d),
                                      inShape[2 + d], outShape[2 + d], kernel[d]);
            Value pos = b.create<arith::AddIOp>(
                l, start, b.create<linalg::IndexOp>(l, rank + d));
            at.push_back(pos);
            flat = flat ? b.create<arith::AddIOp>(
                              l, b.create<arith::MulIOp>(
                                     l, flat, indexConst(b, l, inShape[2 + d])),
                              pos)
                        : pos;
          }
          Value v = b.create<tensor::ExtractOp>(l, x, at);
          Value flat64 = b.create<arith::IndexCastOp>(l, b.getI64Type(), flat);
          Value greater =
              b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, v, args[1]);
          Value isNan = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v, v);
          Value first = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::eq, args[2],
              b.create<arith::ConstantIntOp>(l, -1, 64));
          Value take = b.create<arith::OrIOp>(
              l, b.create<arith::OrIOp>(l, greater, isNan), first);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, take, v, args[1]),
                            b.create<arith::SelectOp>(l, take, flat64, args[2])});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// [N, C, *s] as [N, C, prod(s)]: (n, c) planes with flat positions.
Value planes(OpBuilder &b, Location loc, Value v) {
  auto type = typeOf(v);
  int64_t plane = 1;
  for (int64_t d : type.getShape().drop_front(2))
    plane *= d;
  return reshapeTensor(
      b, loc, v,
      RankedTensorType::get({type.getDimSize(0), type.getDimSize(1), plane},
                            type.getElementType()));
}

// for n, c, o in order: p = indices[n, c, o]; if 0 <= p < plane:
//   dx[n, c, p] += dy[n, c, o]
struct FractionalMaxPoolBackwardLowering
    : OpConversionPattern<FractionalMaxPoolBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FractionalMaxPoolBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = planes(rewriter, loc, adaptor.getGradOutput());
    Value indices = planes(rewriter, loc, adaptor.getIndices());
    auto dyShape = typeOf(dy).getShape();
    int64_t plane = 1;
    for (int64_t d : op.getType().getShape().drop_front(2))
      plane *= d;
    Value init = filledTensor(rewriter, loc, {dyShape[0], dyShape[1], plane},
                              rewriter.getF32Type(), rewriter.getF32FloatAttr(0));
    int64_t count = dyShape[0] * dyShape[1] * dyShape[2];
    auto loop = rewriter.create<scf::ForOp>(
        loc, indexConst(rewriter, loc, 0), indexConst(rewriter, loc, count),
        indexConst(rewriter, loc, 1), ValueRange{init},
        [&](OpBuilder &b, Location l, Value t, ValueRange acc) {
          Value o = b.create<arith::RemUIOp>(l, t, indexConst(b, l, dyShape[2]));
          Value nc = b.create<arith::DivUIOp>(l, t, indexConst(b, l, dyShape[2]));
          Value c = b.create<arith::RemUIOp>(l, nc, indexConst(b, l, dyShape[1]));
          Value n = b.create<arith::DivUIOp>(l, nc, indexConst(b, l, dyShape[1]));
          Value p = b.create<tensor::ExtractOp>(l, indices, ValueRange{n, c, o});
          Value inRange = b.create<arith::AndIOp>(
              l,
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, p,
                                      b.create<arith::ConstantIntOp>(l, 0, 64)),
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, p,
                                      b.create<arith::ConstantIntOp>(l, plane, 64)));
          auto add = b.create<scf::IfOp>(
              l, inRange,
              [&](OpBuilder &tb, Location tl) {
                Value at = tb.create<arith::IndexCastOp>(tl, tb.getIndexType(), p);
                Value g = tb.create<tensor::ExtractOp>(tl, dy, ValueRange{n, c, o});
                Value cur = tb.create<tensor::ExtractOp>(tl, acc[0], ValueRange{n, c, at});
                Value sum = tb.create<arith::AddFOp>(tl, cur, g);
                tb.create<scf::YieldOp>(
                    tl, ValueRange{tb.create<tensor::InsertOp>(
                            tl, sum, acc[0], ValueRange{n, c, at})});
              },
              [&](OpBuilder &eb, Location el) {
                eb.create<scf::YieldOp>(el, ValueRange{acc[0]});
              });
          b.create<scf::YieldOp>(l, add.getResults());
        });
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, loop.getResult(0),
                                         op.getType()));
    return success();
  }
};

} // namespace

void kiln::populateLowerFractionalPoolPatterns(RewritePatternSet &patterns) {
  patterns.add<FractionalMaxPoolLowering, FractionalMaxPoolBackwardLowering>(
      patterns.getContext());
}
