// Lowering of the convolution family (NNConvOps.td) to linalg on tensors.
// Preconditions: the ops verified (geometry consistent with the shapes),
// static shapes, f32.
//
// Correct first, fast later (issue 8, item 4): each op is one
// linalg.generic over its result with the contraction dimensions as
// reduction loops, the channel dimension split into (group, channel in
// group) by expand_shape so that every access of the forward and the weight
// gradient is affine:
//   forward      y[n, g, f, o]  += xp[n, g, c, o * s + k * d] * w[g, f, c, k]
//   weight grad  dw[g, f, c, k] += dy[n, g, f, o] * xp[n, g, c, o * s + k * d]
//   input grad   dx[n, g, c, i] += dy[n, g, f, (i + lo - k * d) / s] * w[g, f, c, k]
//                where the division is exact and in range (read with
//                tensor.extract at a clamped index, masked by a select)
// xp is the zero-padded input, built by a gather generic (as the slicing
// ops: no insert_slice, which would bufferize to a memrefCopy call).
#include "passes/LowerConv.h"
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;
using namespace kiln::conv;

using Geometry = shape_rules::ConvGeometry;

Value kiln::conv::indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value kiln::conv::cmpIndex(OpBuilder &b, Location loc, arith::CmpIPredicate p,
                          Value i, int64_t bound) {
  return b.create<arith::CmpIOp>(loc, p, i, indexConst(b, loc, bound));
}

Value kiln::conv::andOf(OpBuilder &b, Location loc, Value a, Value c) {
  return a ? b.create<arith::AndIOp>(loc, a, c).getResult() : c;
}

Value kiln::conv::padInput(OpBuilder &b, Location loc, Value x,
                           const Geometry &g) {
  auto type = typeOf(x);
  int64_t r = type.getRank() - 2;
  SmallVector<int64_t> shape(type.getShape());
  bool any = false;
  for (int64_t i = 0; i < r; ++i) {
    shape[i + 2] += g.padLow[i] + g.padHigh[i];
    any |= g.padLow[i] || g.padHigh[i];
  }
  if (!any)
    return x;
  int64_t rank = type.getRank();
  Value init = b.create<tensor::EmptyOp>(loc, shape, type.getElementType());
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimIdentityMap(rank, b.getContext())};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return b
      .create<linalg::GenericOp>(
          loc, init.getType(), ValueRange(), init, maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange) {
            Value inside;
            SmallVector<Value> at;
            for (int64_t d = 0; d < rank; ++d) {
              Value id = nb.create<linalg::IndexOp>(l, d);
              if (d < 2) {
                at.push_back(id);
                continue;
              }
              int64_t lo = g.padLow[d - 2], size = type.getDimSize(d);
              if (lo == 0 && g.padHigh[d - 2] == 0) {
                at.push_back(id);
                continue;
              }
              Value src = nb.create<arith::SubIOp>(l, id, indexConst(nb, l, lo));
              Value ok = nb.create<arith::AndIOp>(
                  l, cmpIndex(nb, l, arith::CmpIPredicate::sge, src, 0),
                  cmpIndex(nb, l, arith::CmpIPredicate::slt, src, size));
              inside = andOf(nb, l, inside, ok);
              at.push_back(
                  nb.create<arith::SelectOp>(l, ok, src, indexConst(nb, l, 0)));
            }
            Value v = nb.create<tensor::ExtractOp>(l, x, at);
            nb.create<linalg::YieldOp>(
                l, ValueRange{nb.create<arith::SelectOp>(l, inside, v,
                                                         f32Const(nb, l, 0))});
          })
      .getResult(0);
}

SmallVector<Value> kiln::conv::sourcePixel(OpBuilder &b, Location l, const Geometry &g,
                                           ValueRange in, ValueRange k, ArrayRef<int64_t> out,
                                           Value *valid) {
  *valid = nullptr;
  SmallVector<Value> pixel;
  for (size_t i = 0; i < in.size(); ++i) {
    // t = in + lo - k * d; o = t / s when t >= 0, s | t and o < out.
    Value t = in[i];
    if (g.padLow[i] != 0)
      t = b.create<arith::AddIOp>(l, t, indexConst(b, l, g.padLow[i]));
    Value kd = k[i];
    if (g.dilation[i] != 1)
      kd = b.create<arith::MulIOp>(l, kd, indexConst(b, l, g.dilation[i]));
    t = b.create<arith::SubIOp>(l, t, kd);
    *valid = andOf(b, l, *valid, cmpIndex(b, l, arith::CmpIPredicate::sge, t, 0));
    Value o = t;
    if (g.stride[i] != 1) {
      Value s = indexConst(b, l, g.stride[i]);
      *valid = andOf(b, l, *valid,
                     cmpIndex(b, l, arith::CmpIPredicate::eq,
                              b.create<arith::RemSIOp>(l, t, s), 0));
      o = b.create<arith::DivSIOp>(l, t, s);
    }
    *valid = andOf(b, l, *valid, cmpIndex(b, l, arith::CmpIPredicate::slt, o, out[i]));
    pixel.push_back(o);
  }
  for (Value &o : pixel)
    o = b.create<arith::SelectOp>(l, *valid, o, indexConst(b, l, 0));
  return pixel;
}

Value kiln::conv::splitGroups(OpBuilder &b, Location loc, Value v, int64_t dim,
                              int64_t groups) {
  auto type = typeOf(v);
  SmallVector<int64_t> shape;
  SmallVector<ReassociationIndices> groupsOf;
  for (int64_t d = 0, out = 0; d < type.getRank(); ++d) {
    if (d == dim) {
      shape.append({groups, type.getDimSize(d) / groups});
      groupsOf.push_back({out, out + 1});
      out += 2;
    } else {
      shape.push_back(type.getDimSize(d));
      groupsOf.push_back({out++});
    }
  }
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get(shape, type.getElementType()), v, groupsOf);
}

Value kiln::conv::mergeGroups(OpBuilder &b, Location loc, Value v, int64_t dim) {
  int64_t rank = typeOf(v).getRank();
  SmallVector<ReassociationIndices> groupsOf;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == dim + 1)
      continue;
    if (d == dim)
      groupsOf.push_back({d, d + 1});
    else
      groupsOf.push_back({d});
  }
  return b.create<tensor::CollapseShapeOp>(loc, v, groupsOf);
}

namespace {

/// Loop nest [parallel * numParallel, reduction * numReduction].
SmallVector<utils::IteratorType> iterators(int64_t numParallel,
                                           int64_t numReduction) {
  SmallVector<utils::IteratorType> iters(numParallel,
                                         utils::IteratorType::parallel);
  iters.append(numReduction, utils::IteratorType::reduction);
  return iters;
}

/// acc + a * b, the body of the forward and the weight gradient.
void multiplyAccumulate(OpBuilder &b, Location loc, ValueRange args) {
  Value p = b.create<arith::MulFOp>(loc, args[0], args[1]);
  b.create<linalg::YieldOp>(loc,
                            ValueRange{b.create<arith::AddFOp>(loc, args[2], p)});
}

// Loops (n, g, f, o_1..o_r | c, k_1..k_r); the accumulator starts at the
// bias (broadcast over n and o) or 0.
struct DirectConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Geometry g = op.getGeometry();
    int64_t r = g.stride.size(), groups = g.groups;
    Value xp = splitGroups(rewriter, loc,
                           padInput(rewriter, loc, adaptor.getInput(), g), 1,
                           groups);
    Value w = splitGroups(rewriter, loc, adaptor.getWeight(), 0, groups);
    auto yType = op.getType();
    SmallVector<int64_t> accShape{yType.getDimSize(0), groups,
                                  yType.getDimSize(1) / groups};
    for (int64_t i = 0; i < r; ++i)
      accShape.push_back(yType.getDimSize(i + 2));
    Value acc;
    if (Value bias = adaptor.getBias()) {
      Value empty =
          rewriter.create<tensor::EmptyOp>(loc, accShape, rewriter.getF32Type());
      SmallVector<int64_t> broadcastDims{0};
      for (int64_t i = 0; i < r; ++i)
        broadcastDims.push_back(3 + i);
      acc = rewriter
                .create<linalg::BroadcastOp>(
                    loc, splitGroups(rewriter, loc, bias, 0, groups), empty,
                    broadcastDims)
                .getResult()[0];
    } else {
      acc = filledTensor(rewriter, loc, accShape, rewriter.getF32Type(),
                         rewriter.getF32FloatAttr(0));
    }
    // Dims: n 0, g 1, f 2, o 3..3+r-1, c 3+r, k 4+r..4+2r-1.
    int64_t numLoops = 4 + 2 * r;
    AffineExpr n = getAffineDimExpr(0, ctx), gr = getAffineDimExpr(1, ctx),
               f = getAffineDimExpr(2, ctx), c = getAffineDimExpr(3 + r, ctx);
    SmallVector<AffineExpr> xExprs{n, gr, c}, wExprs{gr, f, c}, yExprs{n, gr, f};
    for (int64_t i = 0; i < r; ++i) {
      AffineExpr o = getAffineDimExpr(3 + i, ctx),
                 k = getAffineDimExpr(4 + r + i, ctx);
      xExprs.push_back(o * g.stride[i] + k * g.dilation[i]);
      wExprs.push_back(k);
      yExprs.push_back(o);
    }
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, xExprs, ctx),
                                AffineMap::get(numLoops, 0, wExprs, ctx),
                                AffineMap::get(numLoops, 0, yExprs, ctx)};
    Value y = rewriter
                  .create<linalg::GenericOp>(loc, acc.getType(),
                                             ValueRange{xp, w}, acc, maps,
                                             iterators(3 + r, 1 + r),
                                             multiplyAccumulate)
                  .getResult(0);
    rewriter.replaceOp(op, mergeGroups(rewriter, loc, y, 1));
    return success();
  }
};

// Loops (g, f, c, k_1..k_r | n, o_1..o_r) over the zero-padded input.
struct ConvBackwardWeightLowering : OpConversionPattern<ConvBackwardWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvBackwardWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Geometry g = op.getGeometry();
    int64_t r = g.stride.size(), groups = g.groups;
    Value xp = splitGroups(rewriter, loc,
                           padInput(rewriter, loc, adaptor.getInput(), g), 1,
                           groups);
    Value dy = splitGroups(rewriter, loc, adaptor.getGradOutput(), 1, groups);
    auto wType = op.getType();
    SmallVector<int64_t> accShape{groups, wType.getDimSize(0) / groups};
    accShape.append(wType.getShape().begin() + 1, wType.getShape().end());
    Value acc = filledTensor(rewriter, loc, accShape, rewriter.getF32Type(),
                             rewriter.getF32FloatAttr(0));
    // Dims: g 0, f 1, c 2, k 3..3+r-1, n 3+r, o 4+r..4+2r-1.
    int64_t numLoops = 4 + 2 * r;
    AffineExpr gr = getAffineDimExpr(0, ctx), f = getAffineDimExpr(1, ctx),
               c = getAffineDimExpr(2, ctx), n = getAffineDimExpr(3 + r, ctx);
    SmallVector<AffineExpr> dyExprs{n, gr, f}, xExprs{n, gr, c},
        wExprs{gr, f, c};
    for (int64_t i = 0; i < r; ++i) {
      AffineExpr k = getAffineDimExpr(3 + i, ctx),
                 o = getAffineDimExpr(4 + r + i, ctx);
      dyExprs.push_back(o);
      xExprs.push_back(o * g.stride[i] + k * g.dilation[i]);
      wExprs.push_back(k);
    }
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, dyExprs, ctx),
                                AffineMap::get(numLoops, 0, xExprs, ctx),
                                AffineMap::get(numLoops, 0, wExprs, ctx)};
    Value dw = rewriter
                   .create<linalg::GenericOp>(loc, acc.getType(),
                                              ValueRange{dy, xp}, acc, maps,
                                              iterators(3 + r, 1 + r),
                                              multiplyAccumulate)
                   .getResult(0);
    rewriter.replaceOp(op, mergeGroups(rewriter, loc, dw, 0));
    return success();
  }
};

// Loops (n, g, c, i_1..i_r | f, k_1..k_r); dy is read with tensor.extract
// at o = (i + lo - k * d) / s, masked where that is not an exact division
// or falls outside [0, out).
struct ConvBackwardInputLowering : OpConversionPattern<ConvBackwardInputOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvBackwardInputOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Geometry g = op.getGeometry();
    int64_t r = g.stride.size(), groups = g.groups;
    Value dy = splitGroups(rewriter, loc, adaptor.getGradOutput(), 1, groups);
    Value w = splitGroups(rewriter, loc, adaptor.getWeight(), 0, groups);
    auto dyShape = typeOf(dy).getShape();
    auto xType = op.getType();
    SmallVector<int64_t> accShape{xType.getDimSize(0), groups,
                                  xType.getDimSize(1) / groups};
    accShape.append(xType.getShape().begin() + 2, xType.getShape().end());
    Value acc = filledTensor(rewriter, loc, accShape, rewriter.getF32Type(),
                             rewriter.getF32FloatAttr(0));
    // Dims: n 0, g 1, c 2, i 3..3+r-1, f 3+r, k 4+r..4+2r-1.
    int64_t numLoops = 4 + 2 * r;
    AffineExpr gr = getAffineDimExpr(1, ctx), c = getAffineDimExpr(2, ctx),
               f = getAffineDimExpr(3 + r, ctx);
    SmallVector<AffineExpr> wExprs{gr, f, c}, dxExprs;
    for (int64_t d = 0; d < 3 + r; ++d)
      dxExprs.push_back(getAffineDimExpr(d, ctx));
    for (int64_t i = 0; i < r; ++i)
      wExprs.push_back(getAffineDimExpr(4 + r + i, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, wExprs, ctx),
                                AffineMap::get(numLoops, 0, dxExprs, ctx)};
    auto body = [&](OpBuilder &b, Location l, ValueRange args) {
      SmallVector<Value> at;
      for (int64_t d : {0, 1})
        at.push_back(b.create<linalg::IndexOp>(l, d));
      at.push_back(b.create<linalg::IndexOp>(l, 3 + r));
      SmallVector<Value> in, k;
      for (int64_t i = 0; i < r; ++i) {
        in.push_back(b.create<linalg::IndexOp>(l, 3 + i));
        k.push_back(b.create<linalg::IndexOp>(l, 4 + r + i));
      }
      Value valid;
      at.append(sourcePixel(b, l, g, in, k, dyShape.drop_front(3), &valid));
      Value v = b.create<tensor::ExtractOp>(l, dy, at);
      Value p = b.create<arith::MulFOp>(l, v, args[0]);
      p = b.create<arith::SelectOp>(l, valid, p, f32Const(b, l, 0));
      b.create<linalg::YieldOp>(
          l, ValueRange{b.create<arith::AddFOp>(l, args[1], p)});
    };
    Value dx = rewriter
                   .create<linalg::GenericOp>(loc, acc.getType(), ValueRange{w},
                                              acc, maps, iterators(3 + r, 1 + r),
                                              body)
                   .getResult(0);
    rewriter.replaceOp(op, mergeGroups(rewriter, loc, dx, 1));
    return success();
  }
};

} // namespace

void kiln::populateLowerConvPatterns(RewritePatternSet &patterns,
                                     kiln::ConvLowering lowering) {
  patterns.add<DirectConvLowering, ConvBackwardInputLowering,
               ConvBackwardWeightLowering>(patterns.getContext());
  if (lowering == kiln::ConvLowering::Library)
    conv::populateLibraryPatterns(patterns);
  if (lowering == kiln::ConvLowering::Gemm)
    conv::populateGemmPatterns(patterns);
}
