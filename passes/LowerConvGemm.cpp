// Convolutions as im2col + GEMM: the lowering for targets whose matmuls
// are a BLAS call and whose other loops are cheap parallel kernels (the
// CUDA backend: Backend::convolutions() == ConvLowering::Gemm). With the
// channels split into G groups (Cg = C / G input and Fg = F / G output
// channels per group), K = the kernel's taps and P = N x the output's
// pixels, each op becomes one batched matmul over the groups between
// gathers, all of contiguous rows so that the backend's GEMM pass takes it:
//   columns   col[g, c, k, n, o] = x[n, g Cg + c, o s + k d - lo]   (0 in
//             the padding), viewed as [G, Cg K, P]
//   forward   Z[G, Fg, P] = W[G, Fg, Cg K] col;  y[n, g Fg + f, o] =
//             Z[g, f, n, o] + bias (one gather)
//   weight    dW[G, Fg, Cg K] = dyT[G, Fg, P] col^T, dyT the gradient's
//             channels moved ahead of the batch (one gather)
//   input     dcol[G, Cg K, P] = W^T dyT; dx[n, c, i] = the sum over the
//             taps k of dcol[c, k, n, (i + lo - k d) / s] where that is an
//             exact division in range (col2im as a gather: no scatter)
// The forward's and the weight gradient's columns are the same pure
// generic, so CSE keeps one. The columns cost Cg K floats per output pixel;
// a depthwise-like convolution (one input channel per group) reads only K
// values per output, for which the GEMM pays nothing: it keeps the direct
// loops (LowerConv.cpp), as do non-f32 ones.
// Preconditions: the op verified, static shapes.
#include "passes/LowerConv.h"
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <functional>

using namespace mlir;
using namespace kiln;
using namespace kiln::conv;

namespace {

using Geometry = shape_rules::ConvGeometry;

/// Above the direct patterns, which match every convolution.
constexpr unsigned kGemmBenefit = 2;

int64_t product(ArrayRef<int64_t> v) {
  int64_t p = 1;
  for (int64_t d : v)
    p *= d;
  return p;
}

/// Whether the GEMM form applies: f32 data, more than one input channel per
/// group (see the file comment).
bool takesGemm(RankedTensorType x, RankedTensorType w) {
  return x.getElementType().isF32() && w.getDimSize(1) > 1;
}

/// Reassociation of `sizes` consecutive groups of dimensions.
SmallVector<ReassociationIndices> consecutive(ArrayRef<int64_t> sizes) {
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (int64_t size : sizes) {
    ReassociationIndices g;
    for (int64_t i = 0; i < size; ++i)
      g.push_back(next++);
    groups.push_back(g);
  }
  return groups;
}

Value collapse(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> sizes) {
  return b.create<tensor::CollapseShapeOp>(loc, v, consecutive(sizes));
}

Value expand(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape,
             ArrayRef<int64_t> sizes) {
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get(shape, typeOf(v).getElementType()), v,
      consecutive(sizes));
}

/// The sizes a convolution is made of (x [N, C, *in], w [F, Cg, *kernel],
/// y [N, F, *out]).
struct Sizes {
  int64_t r, groups, n, cg, fg, taps, pixels;
  SmallVector<int64_t> in, kernel, out;

  Sizes(const Geometry &g, RankedTensorType x, RankedTensorType w,
        RankedTensorType y)
      : r(x.getRank() - 2), groups(g.groups), n(x.getDimSize(0)),
        cg(w.getDimSize(1)), fg(w.getDimSize(0) / g.groups),
        in(x.getShape().drop_front(2)), kernel(w.getShape().drop_front(2)),
        out(y.getShape().drop_front(2)) {
    taps = product(kernel);
    pixels = n * product(out);
  }
};

/// W [F, Cg, *kernel] as [G, Fg, Cg K].
Value groupedWeight(OpBuilder &b, Location loc, Value w, const Sizes &s) {
  Value flat = collapse(b, loc, w, {1, 1 + s.r});
  return expand(b, loc, flat, {s.groups, s.fg, s.cg * s.taps}, {2, 1});
}

/// The im2col columns of x, [G, Cg K, P] (file comment).
Value columns(OpBuilder &b, Location loc, Value x, const Geometry &g,
              const Sizes &s) {
  int64_t r = s.r;
  SmallVector<int64_t> shape{s.groups, s.cg};
  shape.append(s.kernel);
  shape.push_back(s.n);
  shape.append(s.out);
  int64_t rank = shape.size();
  Value init = b.create<tensor::EmptyOp>(loc, shape, b.getF32Type());
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimIdentityMap(rank, b.getContext())};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto body = [&](OpBuilder &nb, Location l, ValueRange) {
    // Dims: g 0, c 1, k 2..2+r-1, n 2+r, o 3+r..3+2r-1.
    Value channel = nb.create<linalg::IndexOp>(l, 1);
    if (s.groups > 1)
      channel = nb.create<arith::AddIOp>(
          l, nb.create<arith::MulIOp>(l, nb.create<linalg::IndexOp>(l, 0),
                                      indexConst(nb, l, s.cg)),
          channel);
    SmallVector<Value> at{nb.create<linalg::IndexOp>(l, 2 + r), channel};
    Value inside;
    for (int64_t i = 0; i < r; ++i) {
      Value o = nb.create<linalg::IndexOp>(l, 3 + r + i);
      Value k = nb.create<linalg::IndexOp>(l, 2 + i);
      Value src = nb.create<arith::AddIOp>(
          l, nb.create<arith::MulIOp>(l, o, indexConst(nb, l, g.stride[i])),
          nb.create<arith::MulIOp>(l, k, indexConst(nb, l, g.dilation[i])));
      if (g.padLow[i] != 0)
        src = nb.create<arith::SubIOp>(l, src, indexConst(nb, l, g.padLow[i]));
      // Masked only where the geometry can leave the input.
      int64_t lowest = -g.padLow[i];
      int64_t highest = (s.out[i] - 1) * g.stride[i] +
                        (s.kernel[i] - 1) * g.dilation[i] - g.padLow[i];
      if (lowest < 0 || highest >= s.in[i]) {
        Value ok = nb.create<arith::AndIOp>(
            l, cmpIndex(nb, l, arith::CmpIPredicate::sge, src, 0),
            cmpIndex(nb, l, arith::CmpIPredicate::slt, src, s.in[i]));
        inside = andOf(nb, l, inside, ok);
        src = nb.create<arith::SelectOp>(l, ok, src, indexConst(nb, l, 0));
      }
      at.push_back(src);
    }
    Value v = nb.create<tensor::ExtractOp>(l, x, at);
    if (inside)
      v = nb.create<arith::SelectOp>(l, inside, v, f32Const(nb, l, 0));
    nb.create<linalg::YieldOp>(l, ValueRange{v});
  };
  Value col = b.create<linalg::GenericOp>(loc, init.getType(), ValueRange(),
                                          init, maps, iters, body)
                  .getResult(0);
  return collapse(b, loc, col, {1, 1 + r, 1 + r});
}

/// dy [N, F, *out] as dyT [G, Fg, P]: the channels ahead of the batch.
Value channelsFirst(OpBuilder &b, Location loc, Value dy, const Sizes &s) {
  MLIRContext *ctx = b.getContext();
  int64_t r = s.r, rank = 3 + r;
  Value dySplit = splitGroups(b, loc, dy, 1, s.groups);
  SmallVector<int64_t> shape{s.groups, s.fg, s.n};
  shape.append(s.out);
  // Loops (g, f, n, o) over the result; dy read at (n, g, f, o).
  SmallVector<AffineExpr> read{getAffineDimExpr(2, ctx), getAffineDimExpr(0, ctx),
                               getAffineDimExpr(1, ctx)};
  for (int64_t i = 0; i < r; ++i)
    read.push_back(getAffineDimExpr(3 + i, ctx));
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, read, ctx),
                              AffineMap::getMultiDimIdentityMap(rank, ctx)};
  Value init = b.create<tensor::EmptyOp>(loc, shape, b.getF32Type());
  Value t = b.create<linalg::GenericOp>(
                 loc, init.getType(), dySplit, init, maps,
                 SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                 [](OpBuilder &nb, Location l, ValueRange args) {
                   nb.create<linalg::YieldOp>(l, args[0]);
                 })
                .getResult(0);
  return collapse(b, loc, t, {1, 1, 1 + r});
}

/// A zero [shape] tensor, the GEMMs' initial value (the backend folds it
/// into the call: beta 0).
Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  return filledTensor(b, loc, shape, b.getF32Type(), b.getF32FloatAttr(0));
}

/// The term of tap `taps` (one index per spatial dim) in dx[index] (index:
/// n, g, c, i_1..i_r): dcol[g, c, k, n, o] at o = (i + lo - k d) / s where
/// that is an exact division in [0, out), else 0. `dcol` is
/// [G, Cg, *kernel, N, *out].
Value tapValue(OpBuilder &b, Location l, const Geometry &g, const Sizes &s,
               Value dcol, ArrayRef<Value> index, ArrayRef<Value> taps) {
  SmallVector<Value> at{index[1], index[2]};
  at.append(taps.begin(), taps.end());
  at.push_back(index[0]);
  Value valid;
  at.append(sourcePixel(b, l, g, index.drop_front(3), taps, s.out, &valid));
  Value v = b.create<tensor::ExtractOp>(l, dcol, at);
  return b.create<arith::SelectOp>(l, valid, v, f32Const(b, l, 0));
}

struct ConvGemmLowering : OpConversionPattern<nn::ConvOp> {
  ConvGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto x = typeOf(adaptor.getInput()), w = typeOf(adaptor.getWeight());
    if (!takesGemm(x, w))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Geometry g = op.getGeometry();
    Sizes s(g, x, w, op.getType());
    int64_t r = s.r;
    Value col = columns(rewriter, loc, adaptor.getInput(), g, s);
    Value z = rewriter
                  .create<linalg::BatchMatmulOp>(
                      loc, ValueRange{groupedWeight(rewriter, loc, adaptor.getWeight(), s), col},
                      zeros(rewriter, loc, {s.groups, s.fg, s.pixels}))
                  .getResult(0);
    SmallVector<int64_t> zShape{s.groups, s.fg, s.n};
    zShape.append(s.out);
    Value zSplit = expand(rewriter, loc, z, zShape, {1, 1, 1 + r});
    // y as [N, G, Fg, *out], loops (n, g, f, o): Z read at (g, f, n, o).
    int64_t rank = 3 + r;
    SmallVector<AffineExpr> read{getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx),
                                 getAffineDimExpr(0, ctx)};
    for (int64_t i = 0; i < r; ++i)
      read.push_back(getAffineDimExpr(3 + i, ctx));
    SmallVector<Value> inputs{zSplit};
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, read, ctx)};
    if (Value bias = adaptor.getBias()) {
      inputs.push_back(splitGroups(rewriter, loc, bias, 0, s.groups));
      maps.push_back(AffineMap::get(
          rank, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)}, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    SmallVector<int64_t> yShape{s.n, s.groups, s.fg};
    yShape.append(s.out);
    Value init = rewriter.create<tensor::EmptyOp>(loc, yShape, rewriter.getF32Type());
    Value y = rewriter
                  .create<linalg::GenericOp>(
                      loc, init.getType(), inputs, init, maps,
                      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                      [](OpBuilder &nb, Location l, ValueRange args) {
                        Value v = args[0];
                        if (args.size() == 3)
                          v = nb.create<arith::AddFOp>(l, v, args[1]);
                        nb.create<linalg::YieldOp>(l, v);
                      })
                  .getResult(0);
    rewriter.replaceOp(op, mergeGroups(rewriter, loc, y, 1));
    return success();
  }
};

struct ConvBackwardWeightGemmLowering
    : OpConversionPattern<nn::ConvBackwardWeightOp> {
  ConvBackwardWeightGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvBackwardWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto x = typeOf(adaptor.getInput()), w = op.getType();
    if (!takesGemm(x, w))
      return failure();
    Location loc = op.getLoc();
    Geometry g = op.getGeometry();
    Sizes s(g, x, w, typeOf(adaptor.getGradOutput()));
    Value col = columns(rewriter, loc, adaptor.getInput(), g, s);
    Value dyT = channelsFirst(rewriter, loc, adaptor.getGradOutput(), s);
    Value dw = rewriter
                   .create<linalg::BatchMatmulTransposeBOp>(
                       loc, ValueRange{dyT, col},
                       zeros(rewriter, loc, {s.groups, s.fg, s.cg * s.taps}))
                   .getResult(0);
    Value flat = collapse(rewriter, loc, dw, {2, 1});
    rewriter.replaceOp(op, expand(rewriter, loc, flat, w.getShape(), {1, 1 + s.r}));
    return success();
  }
};

struct ConvBackwardInputGemmLowering
    : OpConversionPattern<nn::ConvBackwardInputOp> {
  ConvBackwardInputGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvBackwardInputOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto x = op.getType(), w = typeOf(adaptor.getWeight());
    if (!takesGemm(x, w))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Geometry g = op.getGeometry();
    Sizes s(g, x, w, typeOf(adaptor.getGradOutput()));
    int64_t r = s.r;
    Value dyT = channelsFirst(rewriter, loc, adaptor.getGradOutput(), s);
    Value dcol = rewriter
                     .create<linalg::BatchMatmulTransposeAOp>(
                         loc, ValueRange{groupedWeight(rewriter, loc, adaptor.getWeight(), s), dyT},
                         zeros(rewriter, loc, {s.groups, s.cg * s.taps, s.pixels}))
                     .getResult(0);
    SmallVector<int64_t> colShape{s.groups, s.cg};
    colShape.append(s.kernel);
    colShape.push_back(s.n);
    colShape.append(s.out);
    Value dcolSplit = expand(rewriter, loc, dcol, colShape, {1, 1 + r, 1 + r});
    // dx as [N, G, Cg, *in], loops (n, g, c, i); col2im as a gather: each
    // element sums its taps in nested scf.for loops (the taps cannot be
    // reduction dimensions of the generic: no operand is indexed by them).
    SmallVector<int64_t> dxShape{s.n, s.groups, s.cg};
    dxShape.append(s.in);
    int64_t rank = 3 + r;
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
    auto body = [&](OpBuilder &b, Location l, ValueRange) {
      SmallVector<Value> index;
      for (int64_t d = 0; d < rank; ++d)
        index.push_back(b.create<linalg::IndexOp>(l, d));
      SmallVector<Value> taps;
      // Tap dimension `i` and deeper, accumulating onto `acc`.
      std::function<Value(OpBuilder &, int64_t, Value)> sumTaps =
          [&](OpBuilder &ob, int64_t i, Value acc) -> Value {
        if (i == r)
          return ob.create<arith::AddFOp>(l, acc, tapValue(ob, l, g, s, dcolSplit,
                                                           index, taps));
        auto loop = ob.create<scf::ForOp>(
            l, indexConst(ob, l, 0), indexConst(ob, l, s.kernel[i]),
            indexConst(ob, l, 1), ValueRange{acc},
            [&](OpBuilder &lb, Location, Value k, ValueRange iter) {
              taps.push_back(k);
              Value sum = sumTaps(lb, i + 1, iter[0]);
              taps.pop_back();
              lb.create<scf::YieldOp>(l, sum);
            });
        return loop.getResult(0);
      };
      b.create<linalg::YieldOp>(l, sumTaps(b, 0, f32Const(b, l, 0)));
    };
    Value init = rewriter.create<tensor::EmptyOp>(loc, dxShape, rewriter.getF32Type());
    Value dx = rewriter
                   .create<linalg::GenericOp>(
                       loc, init.getType(), ValueRange(), init, maps,
                       SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                       body)
                   .getResult(0);
    rewriter.replaceOp(op, mergeGroups(rewriter, loc, dx, 1));
    return success();
  }
};

} // namespace

void kiln::conv::populateGemmPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvGemmLowering, ConvBackwardWeightGemmLowering,
               ConvBackwardInputGemmLowering>(patterns.getContext());
}
