// Lowering of the pooling family (NNPoolOps.td) to linalg on tensors.
// Preconditions: the ops verified (windows consistent with the shapes),
// static shapes, f32 data, i64 indices.
//
// Each op is one linalg.generic over its result with one reduction loop
// per spatial dimension walking a window (forward) or the windows that
// contain a position (adjoint); the input is read with tensor.extract at a
// clamped position, masked where the position lies outside the input (the
// padding) or outside a variable-length adaptive window:
//   max_pool           y[n, c, o], i[n, c, o] = max / argmax over k of x[n, c, pos(o, k)]
//   sum_pool           y[n, c, o] = sum over k of x[n, c, pos(o, k)]
//   sum_pool_backward  dx[n, c, p] = sum over k of dy[n, c, win(p, k)]
//   max_pool_backward  dx[n, c, p] = sum over k of dy[n, c, win(p, k)]
//                                    where i[n, c, win(p, k)] == flat(p)
// The adjoints gather (one writer per dx element, so they parallelise like
// any generic) rather than scatter dy to the argmax. The last spatial
// dimension is the innermost loop, inside the window loops, so that LLVM
// vectorizes along a row of the result (windowLoops); the checks that the
// geometry makes true everywhere (no padding, windows inside the input)
// are left out. nn.max_unpool is the
// one scatter (its indices may point anywhere in the plane): scf.for loops
// inserting into a zero tensor, in place after bufferization; its adjoint
// gathers.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;
namespace rules = kiln::shape_rules;

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value cmpIndex(OpBuilder &b, Location loc, arith::CmpIPredicate p, Value i,
               int64_t bound) {
  return b.create<arith::CmpIOp>(loc, p, i, indexConst(b, loc, bound));
}

/// a && c, where a null value stands for true.
Value andOf(OpBuilder &b, Location loc, Value a, Value c) {
  if (!a || !c)
    return a ? a : c;
  return b.create<arith::AndIOp>(loc, a, c);
}

/// v * m + a with the constant operations left out when trivial.
Value mulAdd(OpBuilder &b, Location loc, Value v, int64_t m, int64_t a) {
  if (m != 1)
    v = b.create<arith::MulIOp>(loc, v, indexConst(b, loc, m));
  if (a != 0)
    v = b.create<arith::AddIOp>(loc, v, indexConst(b, loc, a));
  return v;
}

Value divConst(OpBuilder &b, Location loc, Value v, int64_t d) {
  return d == 1 ? v : b.create<arith::DivUIOp>(loc, v, indexConst(b, loc, d));
}

/// The windows of one spatial dimension (input size `in`, `out` windows).
struct DimWindows {
  bool adaptive;
  int64_t in, out, kernel = 0, stride = 1, pad = 0, dilation = 1;

  /// Trip count of the forward's window loop: the kernel, or the longest
  /// adaptive window.
  int64_t windowExtent() const {
    if (!adaptive)
      return kernel;
    int64_t longest = 0;
    for (int64_t o = 0; o < out; ++o)
      longest = std::max(longest, rules::adaptiveEnd(o, in, out) -
                                      rules::adaptiveStart(o, in, out));
    return longest;
  }

  /// Trip count of the adjoint's loop: the most windows one position is in.
  int64_t coverExtent() const {
    if (!adaptive)
      return kernel;
    int64_t most = 0;
    for (int64_t i = 0; i < in; ++i)
      most = std::max(most, lastWindow(i) - i * out / in + 1);
    return most;
  }

  /// Non-adaptive windows that never leave the input: no padding, and the
  /// last window (ceil_mode's included) ends inside it.
  bool windowsInside() const {
    return !adaptive && pad == 0 &&
           (out - 1) * stride + (kernel - 1) * dilation < in;
  }

  /// Adaptive: the last window containing position i,
  /// ceil((i + 1) * out / in) - 1.
  int64_t lastWindow(int64_t i) const { return ((i + 1) * out + in - 1) / in - 1; }

  /// Step k of window o: the input position and whether it is read.
  std::pair<Value, Value> inputAt(OpBuilder &b, Location l, Value o,
                                  Value k) const {
    if (adaptive) {
      // start = floor(o * in / out); read while start + k < end.
      Value start = divConst(b, l, mulAdd(b, l, o, in, 0), out);
      Value end = divConst(b, l, mulAdd(b, l, o, in, in + out - 1), out);
      Value pos = b.create<arith::AddIOp>(l, start, k);
      return {pos, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, pos, end)};
    }
    // pos = o * stride - pad + k * dilation, inside [0, in); no check (a
    // null `valid`) when every window lies inside the input.
    Value pos = b.create<arith::AddIOp>(l, mulAdd(b, l, o, stride, -pad),
                                        mulAdd(b, l, k, dilation, 0));
    if (windowsInside())
      return {pos, Value()};
    Value valid = andOf(b, l, cmpIndex(b, l, arith::CmpIPredicate::sge, pos, 0),
                        cmpIndex(b, l, arith::CmpIPredicate::slt, pos, in));
    return {pos, valid};
  }

  /// Step k of the windows containing position i: the window and whether
  /// it contains i.
  std::pair<Value, Value> windowAt(OpBuilder &b, Location l, Value i,
                                   Value k) const {
    if (adaptive) {
      // Windows floor(i * out / in) .. ceil((i + 1) * out / in) - 1.
      Value first = divConst(b, l, mulAdd(b, l, i, out, 0), in);
      Value last = b.create<arith::SubIOp>(
          l, divConst(b, l, mulAdd(b, l, i, out, out + in - 1), in),
          indexConst(b, l, 1));
      Value o = b.create<arith::AddIOp>(l, first, k);
      return {o, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, o, last)};
    }
    // t = i + pad - k * dilation; o = t / stride when t >= 0, stride | t
    // and o < out.
    Value t = b.create<arith::SubIOp>(l, mulAdd(b, l, i, 1, pad),
                                      mulAdd(b, l, k, dilation, 0));
    Value valid = cmpIndex(b, l, arith::CmpIPredicate::sge, t, 0);
    Value o = t;
    if (stride != 1) {
      Value s = indexConst(b, l, stride);
      valid = andOf(b, l, valid,
                    cmpIndex(b, l, arith::CmpIPredicate::eq,
                             b.create<arith::RemSIOp>(l, t, s), 0));
      o = b.create<arith::DivSIOp>(l, t, s);
    }
    valid = andOf(b, l, valid, cmpIndex(b, l, arith::CmpIPredicate::slt, o, out));
    return {o, valid};
  }
};

/// The windows of every spatial dimension of `input` [N, C, *in] pooled to
/// `output` [N, C, *out].
SmallVector<DimWindows> dimWindows(const rules::PoolWindows &w,
                                   ArrayRef<int64_t> input,
                                   ArrayRef<int64_t> output) {
  SmallVector<DimWindows> dims;
  for (size_t i = 0; i + 2 < input.size(); ++i) {
    DimWindows d{w.adaptive, input[i + 2], output[i + 2]};
    if (!w.adaptive) {
      const rules::PoolGeometry &g = w.geometry;
      d.kernel = g.kernel[i];
      d.stride = g.stride[i];
      d.pad = g.padding[i];
      d.dilation = g.dilation[i];
    }
    dims.push_back(d);
  }
  return dims;
}

/// Loop positions of windowLoops' generic for `r` spatial dims, in loop
/// order (n, c, x_1..x_{r-1}, k_1..k_r, x_r): the last spatial dim of the
/// result innermost, after the window loops, so that the innermost loop
/// walks a row of independent outputs (vectorizable) instead of a short
/// reduction. For one output element the window is still scanned in order
/// k_1, .., k_r (max pooling's tie-breaking).
int64_t outputLoop(int64_t r, int64_t d) { return d + 1 < r ? 2 + d : 2 + 2 * r - 1; }
int64_t windowLoop(int64_t r, int64_t d) { return 2 + (r - 1) + d; }

/// The generic over (n, c, x_1..x_r) and window steps (k_1..k_r), in the
/// loop order of outputLoop/windowLoop: parallel dims over the result, one
/// reduction per spatial dim with the given trip counts. The outputs are
/// indexed by the parallel dims; returns the generic's results.
ValueRange windowLoops(OpBuilder &b, Location loc, ValueRange inits,
                       ArrayRef<int64_t> extents,
                       function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = typeOf(inits[0]).getRank(), r = rank - 2;
  int64_t numLoops = rank + r;
  // linalg takes loop bounds from the operands: an unread [*extents]
  // tensor bounds the reduction loops (as the window operand of linalg's
  // named pooling ops).
  SmallVector<AffineExpr> outExprs{getAffineDimExpr(0, ctx),
                                   getAffineDimExpr(1, ctx)};
  SmallVector<AffineExpr> windowExprs;
  SmallVector<utils::IteratorType> iters(numLoops, utils::IteratorType::parallel);
  for (int64_t d = 0; d < r; ++d) {
    outExprs.push_back(getAffineDimExpr(outputLoop(r, d), ctx));
    windowExprs.push_back(getAffineDimExpr(windowLoop(r, d), ctx));
    iters[windowLoop(r, d)] = utils::IteratorType::reduction;
  }
  Value window = b.create<tensor::EmptyOp>(loc, extents, b.getI1Type());
  SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, windowExprs, ctx)};
  SmallVector<Type> types;
  for (Value v : inits) {
    maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));
    types.push_back(v.getType());
  }
  return b
      .create<linalg::GenericOp>(
          loc, types, ValueRange{window}, inits, maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            body(nb, l, args.drop_front());
          })
      .getResults();
}

/// Position `pos` of a [N, C, *spatial] tensor as a flat index into its
/// (n, c) plane (torch's pooling indices), as i64.
Value flatIndex(OpBuilder &b, Location l, ArrayRef<Value> pos,
                ArrayRef<int64_t> spatial) {
  Value acc = pos[0];
  for (size_t d = 1; d < pos.size(); ++d)
    acc = b.create<arith::AddIOp>(l, mulAdd(b, l, acc, spatial[d], 0), pos[d]);
  return b.create<arith::IndexCastOp>(l, b.getI64Type(), acc);
}

/// Reads `source` [N, C, *s] at (n, c, at) where `valid` (at clamped to 0
/// elsewhere, so the read stays in bounds); a null `valid` is always true.
Value readMasked(OpBuilder &b, Location l, Value source, ArrayRef<Value> at,
                 Value valid) {
  SmallVector<Value> index{b.create<linalg::IndexOp>(l, 0),
                           b.create<linalg::IndexOp>(l, 1)};
  Value zero = indexConst(b, l, 0);
  for (Value v : at)
    index.push_back(valid ? b.create<arith::SelectOp>(l, valid, v, zero).getResult() : v);
  return b.create<tensor::ExtractOp>(l, source, index);
}

/// The forward's per-dimension positions for the current (o, k) and
/// whether all of them are read.
std::pair<SmallVector<Value>, Value>
windowPositions(OpBuilder &b, Location l, ArrayRef<DimWindows> dims) {
  int64_t r = dims.size();
  SmallVector<Value> pos;
  Value valid;
  for (int64_t d = 0; d < r; ++d) {
    auto [p, ok] = dims[d].inputAt(b, l, b.create<linalg::IndexOp>(l, outputLoop(r, d)),
                                   b.create<linalg::IndexOp>(l, windowLoop(r, d)));
    pos.push_back(p);
    valid = andOf(b, l, valid, ok);
  }
  return {pos, valid};
}

/// The adjoint's per-dimension windows for the current (i, k) and whether
/// all of them contain i.
std::pair<SmallVector<Value>, Value>
coveringWindows(OpBuilder &b, Location l, ArrayRef<DimWindows> dims) {
  int64_t r = dims.size();
  SmallVector<Value> win;
  Value valid;
  for (int64_t d = 0; d < r; ++d) {
    auto [o, ok] = dims[d].windowAt(b, l, b.create<linalg::IndexOp>(l, outputLoop(r, d)),
                                    b.create<linalg::IndexOp>(l, windowLoop(r, d)));
    win.push_back(o);
    valid = andOf(b, l, valid, ok);
  }
  return {win, valid};
}

SmallVector<int64_t> spatialOf(ArrayRef<int64_t> shape) {
  return SmallVector<int64_t>(shape.drop_front(2));
}

// Scan order is the loop order (k_1 outermost), as torch's kernels: a
// position replaces the maximum when it is greater or NaN, and the first
// position read always does (so a window of -inf reports its first one).
struct MaxPoolLowering : OpConversionPattern<MaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inShape = typeOf(x).getShape();
    auto outShape = op.getResult().getType().getShape();
    auto dims = dimWindows(op.getWindows(), inShape, outShape);
    SmallVector<int64_t> extents;
    for (const DimWindows &d : dims)
      extents.push_back(d.windowExtent());
    Value values = filledTensor(
        rewriter, loc, outShape, rewriter.getF32Type(),
        rewriter.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value indices = filledTensor(rewriter, loc, outShape, rewriter.getI64Type(),
                                 rewriter.getI64IntegerAttr(-1));
    SmallVector<int64_t> spatial = spatialOf(inShape);
    ValueRange results = windowLoops(
        rewriter, loc, {values, indices}, extents,
        [&](OpBuilder &b, Location l, ValueRange acc) {
          auto [pos, valid] = windowPositions(b, l, dims);
          Value v = readMasked(b, l, x, pos, valid);
          Value flat = flatIndex(b, l, pos, spatial);
          Value greater = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, v, acc[0]);
          Value isNan = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v, v);
          Value first = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::eq, acc[1],
              b.create<arith::ConstantIntOp>(l, -1, 64));
          Value take = b.create<arith::OrIOp>(
              l, b.create<arith::OrIOp>(l, greater, isNan), first);
          if (valid)
            take = b.create<arith::AndIOp>(l, take, valid);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, take, v, acc[0]),
                            b.create<arith::SelectOp>(l, take, flat, acc[1])});
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SumPoolLowering : OpConversionPattern<SumPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SumPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inShape = typeOf(x).getShape();
    auto outShape = op.getType().getShape();
    auto dims = dimWindows(op.getWindows(), inShape, outShape);
    SmallVector<int64_t> extents;
    for (const DimWindows &d : dims)
      extents.push_back(d.windowExtent());
    Value acc = filledTensor(rewriter, loc, outShape, rewriter.getF32Type(),
                             rewriter.getF32FloatAttr(0));
    ValueRange results = windowLoops(
        rewriter, loc, {acc}, extents,
        [&](OpBuilder &b, Location l, ValueRange a) {
          auto [pos, valid] = windowPositions(b, l, dims);
          Value v = readMasked(b, l, x, pos, valid);
          Value sum = b.create<arith::AddFOp>(l, a[0], v);
          b.create<linalg::YieldOp>(
              l, ValueRange{valid ? b.create<arith::SelectOp>(l, valid, sum, a[0]).getResult()
                                  : sum});
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SumPoolBackwardLowering : OpConversionPattern<SumPoolBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SumPoolBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = adaptor.getGradOutput();
    auto inShape = op.getType().getShape();
    auto dims = dimWindows(op.getWindows(), inShape, typeOf(dy).getShape());
    SmallVector<int64_t> extents;
    for (const DimWindows &d : dims)
      extents.push_back(d.coverExtent());
    Value acc = filledTensor(rewriter, loc, inShape, rewriter.getF32Type(),
                             rewriter.getF32FloatAttr(0));
    ValueRange results = windowLoops(
        rewriter, loc, {acc}, extents,
        [&](OpBuilder &b, Location l, ValueRange a) {
          auto [win, valid] = coveringWindows(b, l, dims);
          Value g = readMasked(b, l, dy, win, valid);
          Value sum = b.create<arith::AddFOp>(l, a[0], g);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, valid, sum, a[0])});
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct MaxPoolBackwardLowering : OpConversionPattern<MaxPoolBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPoolBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = adaptor.getGradOutput(), indices = adaptor.getIndices();
    auto inShape = op.getType().getShape();
    auto dims = dimWindows(op.getWindows(), inShape, typeOf(dy).getShape());
    SmallVector<int64_t> extents;
    for (const DimWindows &d : dims)
      extents.push_back(d.coverExtent());
    Value acc = filledTensor(rewriter, loc, inShape, rewriter.getF32Type(),
                             rewriter.getF32FloatAttr(0));
    SmallVector<int64_t> spatial = spatialOf(inShape);
    int64_t r = dims.size();
    ValueRange results = windowLoops(
        rewriter, loc, {acc}, extents,
        [&](OpBuilder &b, Location l, ValueRange a) {
          auto [win, valid] = coveringWindows(b, l, dims);
          SmallVector<Value> here;
          for (int64_t d = 0; d < r; ++d)
            here.push_back(b.create<linalg::IndexOp>(l, outputLoop(r, d)));
          Value argmax = readMasked(b, l, indices, win, valid);
          Value mine = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                               argmax,
                                               flatIndex(b, l, here, spatial));
          Value g = readMasked(b, l, dy, win, valid);
          Value sum = b.create<arith::AddFOp>(l, a[0], g);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(
                     l, b.create<arith::AndIOp>(l, valid, mine), sum, a[0])});
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// [N, C, *s] as [N, C, prod(s)]: (n, c) planes with flat positions, as
/// torch's pooling indices count them.
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

/// Whether the i64 index `p` lies in [0, size).
Value indexInRange(OpBuilder &b, Location l, Value p, int64_t size) {
  Value zero = b.create<arith::ConstantIntOp>(l, 0, 64);
  Value end = b.create<arith::ConstantIntOp>(l, size, 64);
  return b.create<arith::AndIOp>(
      l, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, p, zero),
      b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, p, end));
}

// for n, c, o in order: p = indices[n, c, o]; if 0 <= p < plane:
//   y[n, c, p] = x[n, c, o]
struct MaxUnpoolLowering : OpConversionPattern<MaxUnpoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxUnpoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = planes(rewriter, loc, adaptor.getInput());
    Value indices = planes(rewriter, loc, adaptor.getIndices());
    auto xShape = typeOf(x).getShape();
    int64_t plane = 1;
    for (int64_t d : op.getType().getShape().drop_front(2))
      plane *= d;
    Value init = filledTensor(rewriter, loc, {xShape[0], xShape[1], plane},
                              rewriter.getF32Type(), rewriter.getF32FloatAttr(0));
    Value zero = indexConst(rewriter, loc, 0), one = indexConst(rewriter, loc, 1);
    // One loop over the N * C * P_in positions, in torch's order.
    int64_t count = xShape[0] * xShape[1] * xShape[2];
    auto loop = rewriter.create<scf::ForOp>(
        loc, zero, indexConst(rewriter, loc, count), one, ValueRange{init},
        [&](OpBuilder &b, Location l, Value t, ValueRange acc) {
          Value o = b.create<arith::RemUIOp>(l, t, indexConst(b, l, xShape[2]));
          Value nc = b.create<arith::DivUIOp>(l, t, indexConst(b, l, xShape[2]));
          Value c = b.create<arith::RemUIOp>(l, nc, indexConst(b, l, xShape[1]));
          Value n = b.create<arith::DivUIOp>(l, nc, indexConst(b, l, xShape[1]));
          Value p = b.create<tensor::ExtractOp>(l, indices, ValueRange{n, c, o});
          Value v = b.create<tensor::ExtractOp>(l, x, ValueRange{n, c, o});
          auto write = b.create<scf::IfOp>(
              l, indexInRange(b, l, p, plane),
              [&](OpBuilder &tb, Location tl) {
                Value at = tb.create<arith::IndexCastOp>(tl, tb.getIndexType(), p);
                tb.create<scf::YieldOp>(
                    tl, ValueRange{tb.create<tensor::InsertOp>(
                            tl, v, acc[0], ValueRange{n, c, at})});
              },
              [&](OpBuilder &eb, Location el) {
                eb.create<scf::YieldOp>(el, ValueRange{acc[0]});
              });
          b.create<scf::YieldOp>(l, write.getResults());
        });
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, loop.getResult(0),
                                         op.getType()));
    return success();
  }
};

// dx[n, c, o] = dy[n, c, indices[n, c, o]] (0 outside the plane).
struct MaxUnpoolBackwardLowering : OpConversionPattern<MaxUnpoolBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxUnpoolBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = planes(rewriter, loc, adaptor.getGradOutput());
    int64_t plane = typeOf(dy).getDimSize(2);
    auto shape = op.getType().getShape();
    int64_t rank = shape.size();
    Value init = rewriter.create<tensor::EmptyOp>(loc, shape, rewriter.getF32Type());
    auto identity = AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    Value dx =
        rewriter
            .create<linalg::GenericOp>(
                loc, op.getType(), ValueRange{adaptor.getIndices()}, init,
                SmallVector<AffineMap>{identity, identity},
                SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                [&](OpBuilder &b, Location l, ValueRange args) {
                  Value ok = indexInRange(b, l, args[0], plane);
                  Value p = b.create<arith::IndexCastOp>(
                      l, b.getIndexType(),
                      b.create<arith::SelectOp>(
                          l, ok, args[0], b.create<arith::ConstantIntOp>(l, 0, 64)));
                  Value g = b.create<tensor::ExtractOp>(
                      l, dy,
                      ValueRange{b.create<linalg::IndexOp>(l, 0),
                                 b.create<linalg::IndexOp>(l, 1), p});
                  b.create<linalg::YieldOp>(
                      l, ValueRange{b.create<arith::SelectOp>(l, ok, g,
                                                              f32Const(b, l, 0))});
                })
            .getResult(0);
    rewriter.replaceOp(op, dx);
    return success();
  }
};

} // namespace

void kiln::populateLowerPoolPatterns(RewritePatternSet &patterns) {
  patterns.add<MaxPoolLowering, MaxPoolBackwardLowering, SumPoolLowering,
               SumPoolBackwardLowering, MaxUnpoolLowering,
               MaxUnpoolBackwardLowering>(patterns.getContext());
}
