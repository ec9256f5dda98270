// Lowering of nn.batch_norm and nn.batch_norm_backward (NNNormOps.td) to
// linalg on tensors: per-channel reductions, per-channel coefficients, one
// elementwise pass. Precondition: static shapes, f32.
//
// The input [N, C, *] is viewed as [N, C, S] (S the spatial positions, 1 for
// [N, C]). A reduction over N and S keeps C as its outermost output loop,
// which the CPU backend splits over threads (a task owns whole channels, so
// results do not depend on the thread count). When S is a multiple of
// kLanes, S is split further into [S / kLanes, kLanes] with kLanes partial
// sums per channel: the innermost loop is then parallel, so it vectorizes
// without reassociating floating-point adds, and the partial sums are also
// more accurate than one running sum. The lanes are added at the end.
//
// Forward (torch's batch_norm_cpu, training):
//   1. sum[c]  = sum of x[:, c];  mean = sum / n
//   2. sq[c]   = sum of (x[:, c] - mean[c])^2;  var = sq / n (biased)
//   3. a[c] = w[c] / sqrt(var[c] + eps) (in f64, as torch's accumulate type),
//      b[c] = bias[c] - mean[c] * a[c]
//   4. y = x * a[c] + b[c]
// Backward (batch_norm_backward_cpu, training):
//   1. sum_dy[c] = sum of dy[:, c];  dot[c] = sum of dy * (x - mean[c])
//   2. invstd = 1 / sqrt(var + eps);  dw = dot * invstd;  db = sum_dy
//   3. dx = (dy - sum_dy / n - (x - mean) * dot * invstd^2 / n) * invstd * w
#include "passes/LowerToLinalg.h"

#include "ir/ChannelShape.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// Partial sums per channel (a 512-bit vector of f32).
constexpr int64_t kLanes = 16;

/// `v` reshaped to `shape`, its element type kept.
Value viewAs(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  return reshapeTensor(b, loc, v,
                       RankedTensorType::get(shape, typeOf(v).getElementType()));
}

/// The [N, C, *] input of both ops seen as [N, C, S] (S = prod(*)), with the
/// sizes both lowerings use.
struct ChannelMajor {
  RankedTensorType type;     // the input's own type, to view results back
  SmallVector<int64_t> view; // [N, C, S]
  int64_t channels;          // C
  double count;              // N * S: the values each statistic averages
  Value x;                   // the input viewed as `view`

  ChannelMajor(OpBuilder &b, Location loc, Value input)
      : type(typeOf(input)),
        view{type.getDimSize(0), type.getDimSize(1), spatialSize(type.getShape())},
        channels(view[1]),
        count(static_cast<double>(valuesPerChannel(type.getShape()))),
        x(viewAs(b, loc, input, view)) {}
};

/// Per-channel sums over N and S of `numSums` quantities of the [N, C, S]
/// tensors `full` (and the [C] tensors `perChannel`, read at the channel):
/// `body(values, accumulators)` yields the new accumulators, values being
/// the full elements then the per-channel ones. Returns numSums [C] tensors.
SmallVector<Value> channelSums(
    OpBuilder &b, Location loc, ValueRange full, ValueRange perChannel,
    unsigned numSums,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange,
                                    ValueRange)>
        body) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = typeOf(full[0]).getShape();
  int64_t n = shape[0], c = shape[1], s = shape[2];
  bool lanes = s % kLanes == 0;
  auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;

  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<utils::IteratorType> iters;
  SmallVector<int64_t> accShape{c};
  AffineMap channelMap;
  if (lanes) {
    // Loops (n, c, j, l) over [N, C, S / kLanes, kLanes].
    AffineExpr dn, dc, dj, dl;
    bindDims(ctx, dn, dc, dj, dl);
    for (Value v : full) {
      inputs.push_back(viewAs(b, loc, v, {n, c, s / kLanes, kLanes}));
      maps.push_back(AffineMap::get(4, 0, {dn, dc, dj, dl}, ctx));
    }
    channelMap = AffineMap::get(4, 0, {dc}, ctx);
    accShape.push_back(kLanes);
    iters = {red, par, red, par};
    for (Value v : perChannel) {
      inputs.push_back(v);
      maps.push_back(channelMap);
    }
    for (unsigned i = 0; i < numSums; ++i)
      maps.push_back(AffineMap::get(4, 0, {dc, dl}, ctx));
  } else {
    // Loops (n, c, s).
    AffineExpr dn, dc, ds;
    bindDims(ctx, dn, dc, ds);
    for (Value v : full) {
      inputs.push_back(v);
      maps.push_back(AffineMap::get(3, 0, {dn, dc, ds}, ctx));
    }
    channelMap = AffineMap::get(3, 0, {dc}, ctx);
    iters = {red, par, red};
    for (Value v : perChannel) {
      inputs.push_back(v);
      maps.push_back(channelMap);
    }
    for (unsigned i = 0; i < numSums; ++i)
      maps.push_back(channelMap);
  }
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numSums; ++i)
    inits.push_back(filledTensor(b, loc, accShape, b.getF32Type(),
                                 b.getF32FloatAttr(0)));
  unsigned numValues = inputs.size();
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange(ValueRange(inits)), inputs, inits, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        nb.create<linalg::YieldOp>(
            l, body(nb, l, args.take_front(numValues), args.drop_front(numValues)));
      });
  SmallVector<Value> sums(generic.getResults());
  if (lanes)
    for (Value &sum : sums)
      sum = reduceDims(b, loc, sum, {1}, b.getF32FloatAttr(0),
                       [](OpBuilder &nb, Location l, Value x, Value acc) -> Value {
                         return nb.create<arith::AddFOp>(l, acc, x);
                       });
  return sums;
}

/// 1 / sqrt(var + eps) of an f32 `var`, in f64 and rounded once (torch's
/// CPU kernels compute it in their f64 accumulate type).
Value inverseStd(OpBuilder &b, Location loc, Value var, double eps) {
  Value wide = b.create<arith::ExtFOp>(loc, b.getF64Type(), var);
  Value shifted = b.create<arith::AddFOp>(
      loc, wide, b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(eps)));
  Value inv = b.create<arith::DivFOp>(
      loc, b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(1.0)),
      b.create<math::SqrtOp>(loc, shifted));
  return b.create<arith::TruncFOp>(loc, b.getF32Type(), inv);
}

/// A [C] tensor as [1, C, 1] so that it broadcasts per channel over [N, C, S].
Value perChannel(OpBuilder &b, Location loc, Value v) {
  return viewAs(b, loc, v, {1, typeOf(v).getDimSize(0), 1});
}

/// [1] f32 holding a per-channel element count (the piece a synchronised
/// batch norm adds to its message, so the group's count is summed too).
Value countTensor(OpBuilder &b, Location loc, double count) {
  auto type = RankedTensorType::get({1}, b.getF32Type());
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getF32FloatAttr(static_cast<float>(count))));
}

struct BatchNormLowering : OpConversionPattern<BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BatchNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    ChannelMajor in(b, loc, adaptor.getInput());
    const SmallVector<int64_t> &view = in.view;
    int64_t c = in.channels;
    double count = in.count;
    double eps = op.getEps().convertToDouble();
    Value x = in.x;

    Value sum = channelSums(
        b, loc, x, {}, 1,
        [](OpBuilder &nb, Location l, ValueRange v, ValueRange acc) -> SmallVector<Value> {
          return {nb.create<arith::AddFOp>(l, acc[0], v[0])};
        })[0];
    // SyncBatchNorm: the sums and the element count of every process (one
    // message), then the squared deviations from that mean (a second).
    Value groupCount;
    if (op.getSync()) {
      SmallVector<Value> all =
          collective(b, loc, "kiln_all_reduce_sum", {sum, countTensor(b, loc, count)});
      sum = all[0];
      groupCount = all[1];
    }
    // sum / n, with n the constant count, or the group's ([1], broadcast).
    auto divideByCount = [&](Value perChannel) {
      SmallVector<Value> in{perChannel};
      if (groupCount)
        in.push_back(groupCount);
      return broadcastElementwise(
          b, loc, {c}, in,
          [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
            Value n = groupCount ? a[1] : f32Const(nb, l, count);
            return {nb.create<arith::DivFOp>(l, a[0], n)};
          })[0];
    };
    Value mean = divideByCount(sum);
    Value squares = channelSums(
        b, loc, x, mean, 1,
        [](OpBuilder &nb, Location l, ValueRange v, ValueRange acc) -> SmallVector<Value> {
          Value d = nb.create<arith::SubFOp>(l, v[0], v[1]);
          return {nb.create<arith::AddFOp>(l, acc[0], nb.create<arith::MulFOp>(l, d, d))};
        })[0];
    Value biasedVar;
    if (groupCount)
      biasedVar = divideByCount(collective(b, loc, "kiln_all_reduce_sum", {squares})[0]);
    ValueRange coefficients = broadcastElementwise(
        b, loc, {c},
        ValueRange{biasedVar ? biasedVar : squares, mean, adaptor.getWeight(),
                   adaptor.getBias()},
        [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
          Value var =
              biasedVar ? a[0] : nb.create<arith::DivFOp>(l, a[0], f32Const(nb, l, count)).getResult();
          Value scale = nb.create<arith::MulFOp>(l, inverseStd(nb, l, var, eps), a[2]);
          Value shift = nb.create<arith::SubFOp>(
              l, a[3], nb.create<arith::MulFOp>(l, a[1], scale));
          return {var, scale, shift};
        },
        3);
    Value var = coefficients[0];
    Value y = broadcastElementwise(
        b, loc, view,
        ValueRange{x, perChannel(b, loc, coefficients[1]),
                   perChannel(b, loc, coefficients[2])},
        [](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
          return {nb.create<arith::AddFOp>(
              l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])};
        })[0];
    rewriter.replaceOp(op, {reshapeTensor(b, loc, y, in.type),
                            mean, var});
    return success();
  }
};

struct BatchNormBackwardLowering : OpConversionPattern<BatchNormBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BatchNormBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    ChannelMajor in(b, loc, adaptor.getInput());
    const SmallVector<int64_t> &view = in.view;
    int64_t c = in.channels;
    double count = in.count;
    double eps = op.getEps().convertToDouble();
    Value x = in.x;
    Value dy = viewAs(b, loc, adaptor.getGradOutput(), view);
    Value mean = adaptor.getMean();

    SmallVector<Value> sums = channelSums(
        b, loc, ValueRange{dy, x}, mean, 2,
        [](OpBuilder &nb, Location l, ValueRange v, ValueRange acc) -> SmallVector<Value> {
          Value centered = nb.create<arith::SubFOp>(l, v[1], v[2]);
          return {nb.create<arith::AddFOp>(l, acc[0], v[0]),
                  nb.create<arith::AddFOp>(l, acc[1],
                                           nb.create<arith::MulFOp>(l, v[0], centered))};
        });
    Value sumDy = sums[0];
    // SyncBatchNorm: dx from the group's sums and count (one message), as
    // torch's SyncBatchNorm backward; grad_weight and grad_bias stay local.
    const bool sync = op.getSync();
    SmallVector<Value> perChannelIn{sumDy, sums[1], adaptor.getVar(), adaptor.getWeight()};
    if (sync)
      llvm::append_range(perChannelIn, collective(b, loc, "kiln_all_reduce_sum",
                                        {sumDy, sums[1], countTensor(b, loc, count)}));
    // Per channel: grad_weight, then dx's coefficients
    // scale = invstd * w, shift = sum_dy / n, proj = dot * invstd^2 / n
    // (sync: the group's sum_dy, dot and n).
    ValueRange k = broadcastElementwise(
        b, loc, {c}, perChannelIn,
        [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
          Value invstd = inverseStd(nb, l, a[2], eps);
          Value n = sync ? a[6] : f32Const(nb, l, count);
          Value gradWeight = nb.create<arith::MulFOp>(l, a[1], invstd);
          Value groupWeight =
              sync ? nb.create<arith::MulFOp>(l, a[5], invstd).getResult() : gradWeight;
          Value scale = nb.create<arith::MulFOp>(l, invstd, a[3]);
          Value shift = nb.create<arith::DivFOp>(l, sync ? a[4] : a[0], n);
          Value proj = nb.create<arith::DivFOp>(
              l, nb.create<arith::MulFOp>(l, groupWeight, invstd), n);
          return {gradWeight, scale, shift, proj};
        },
        4);
    Value dx = broadcastElementwise(
        b, loc, view,
        ValueRange{dy, x, perChannel(b, loc, mean), perChannel(b, loc, k[1]),
                   perChannel(b, loc, k[2]), perChannel(b, loc, k[3])},
        [](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
          Value centered = nb.create<arith::SubFOp>(l, a[1], a[2]);
          Value g = nb.create<arith::SubFOp>(
              l, nb.create<arith::SubFOp>(l, a[0], a[4]),
              nb.create<arith::MulFOp>(l, centered, a[5]));
          return {nb.create<arith::MulFOp>(l, g, a[3])};
        })[0];
    rewriter.replaceOp(op, {reshapeTensor(b, loc, dx, in.type), k[0], sumDy});
    return success();
  }
};

} // namespace

void kiln::populateLowerNormPatterns(RewritePatternSet &patterns) {
  patterns.add<BatchNormLowering, BatchNormBackwardLowering>(
      patterns.getContext());
}
