// Lowering of the loss ops (and their backward ops) to linalg on tensors.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// [N] -> [N, 1], so right-aligned broadcasting reads it per row.
Value asColumn(OpBuilder &b, Location loc, Value v) {
  auto t = typeOf(v);
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get({t.getDimSize(0), 1}, t.getElementType()), v,
      ArrayRef<ReassociationIndices>{{0, 1}});
}

Value sumAll(OpBuilder &b, Location loc, Value v) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < typeOf(v).getRank(); ++d)
    dims.push_back(d);
  return reduceDimsInLanes(b, loc, v, dims, b.getF32FloatAttr(0),
                           [](OpBuilder &nb, Location l, Value x, Value acc) -> Value {
                             return nb.create<arith::AddFOp>(l, x, acc);
                           });
}

/// The loops of a generic over the rows of [N, C] logits that accumulates
/// per row: (i, c), or, with C a multiple of kReductionLanes (at least two
/// of them), (i, j, l) over class j * kReductionLanes + l, each row keeping
/// kReductionLanes partial results in an innermost parallel loop that LLVM
/// vectorizes without reassociating anything (the order of every addition
/// is the IR's, the same in every function: bit-for-bit contracts such as
/// train_step == gradients + apply hold). reduceDimsInLanes does this for
/// plain reductions; these generics carry an exp and a fused gradient.
struct RowLoops {
  bool lanes;
  unsigned numDims;
  AffineMap perElement, perRow, perAccumulator, whole;
  SmallVector<utils::IteratorType> iterators;
  SmallVector<int64_t> elementShape, accShape;
  Value logits; // x viewed as elementShape

  RowLoops(OpBuilder &b, Location loc, Value x) {
    MLIRContext *ctx = b.getContext();
    int64_t n = typeOf(x).getDimSize(0), numClasses = typeOf(x).getDimSize(1);
    lanes = numClasses % kReductionLanes == 0 && numClasses >= 2 * kReductionLanes;
    numDims = lanes ? 3 : 2;
    AffineExpr i = getAffineDimExpr(0, ctx);
    perElement = AffineMap::getMultiDimIdentityMap(numDims, ctx);
    perRow = AffineMap::get(numDims, 0, {i}, ctx);
    whole = AffineMap::get(numDims, 0, {}, ctx);
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    iterators = {par, red};
    elementShape = {n, numClasses};
    accShape = {n};
    perAccumulator = perRow;
    logits = x;
    if (lanes) {
      perAccumulator = AffineMap::get(numDims, 0, {i, getAffineDimExpr(2, ctx)}, ctx);
      iterators.push_back(par);
      elementShape = {n, numClasses / kReductionLanes, kReductionLanes};
      accShape.push_back(kReductionLanes);
      logits = reshapeTensor(b, loc, x, RankedTensorType::get(elementShape, b.getF32Type()));
    }
  }

  /// A zero accumulator (perAccumulator's shape).
  Value zeros(OpBuilder &b, Location loc) const {
    return filledTensor(b, loc, accShape, b.getF32Type(), b.getF32FloatAttr(0));
  }

  /// Inside the body: the class index of this iteration.
  Value classIndex(OpBuilder &b, Location l) const {
    Value index = b.create<linalg::IndexOp>(l, 1);
    if (!lanes)
      return index;
    return b.create<arith::AddIOp>(
        l, b.create<arith::MulIOp>(l, index, b.create<arith::ConstantIndexOp>(l, kReductionLanes)),
        b.create<linalg::IndexOp>(l, 2));
  }

  /// A sum accumulated per perAccumulator, as one value per row ([N]).
  Value sumLanes(OpBuilder &b, Location loc, Value acc) const {
    if (!lanes)
      return acc;
    return reduceDims(b, loc, acc, {1}, b.getF32FloatAttr(0),
                      [](OpBuilder &nb, Location l, Value v, Value sum) -> Value {
                        return nb.create<arith::AddFOp>(l, sum, v);
                      });
  }
};

/// Row-wise log-sum-exp ingredients of [N, C] logits: max and sum(exp(x-max)).
std::pair<Value, Value> softmaxStatistics(OpBuilder &b, Location loc, Value x) {
  Value rowMax = reduceDimsInLanes(
      b, loc, x, {1}, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()),
      [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
        return nb.create<arith::MaximumFOp>(l, v, acc);
      });
  RowLoops rows(b, loc, x);
  Value init = rows.zeros(b, loc);
  Value sumExp =
      b.create<linalg::GenericOp>(
           loc, init.getType(), ValueRange{rows.logits, rowMax}, init,
           SmallVector<AffineMap>{rows.perElement, rows.perRow, rows.perAccumulator},
           rows.iterators,
           [](OpBuilder &nb, Location l, ValueRange a) {
             Value e = nb.create<math::ExpOp>(
                 l, nb.create<arith::SubFOp>(l, a[0], a[1]));
             nb.create<linalg::YieldOp>(
                 l, ValueRange{nb.create<arith::AddFOp>(l, a[2], e)});
           })
          .getResult(0);
  return {rowMax, rows.sumLanes(b, loc, sumExp)};
}

/// Whether class index `t` (i64) is not `ignore_index`.
Value notIgnored(OpBuilder &b, Location loc, Value t, int64_t ignore) {
  Value ign = b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(ignore));
  return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, t, ign);
}

/// Per-row validity of class-index targets: 1.0 where target != ignore_index.
Value validRows(OpBuilder &b, Location loc, Value target, int64_t ignore) {
  auto n = typeOf(target).getDimSize(0);
  return broadcastElementwise(
      b, loc, {n}, target,
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        Value ok = notIgnored(nb, l, a[0], ignore);
        return {nb.create<arith::SelectOp>(l, ok, f32Const(nb, l, 1),
                                           f32Const(nb, l, 0))};
      })[0];
}

/// Whether class index `t` (i64) is in [0, numClasses).
Value inRange(OpBuilder &b, Location loc, Value t, int64_t numClasses) {
  Value zero = b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(0));
  Value c = b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(numClasses));
  Value geZero = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, t, zero);
  Value ltC = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, t, c);
  return b.create<arith::AndIOp>(loc, geZero, ltC);
}

/// `num / den` of two rank-0 tensors, as a rank-0 tensor (a mean loss's
/// incoming gradient over the number of rows counted).
Value divideScalars(OpBuilder &b, Location loc, Value num, Value den) {
  return broadcastElementwise(
      b, loc, {}, ValueRange{num, den},
      [](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        return {nb.create<arith::DivFOp>(l, a[0], a[1])};
      })[0];
}

Value nanConst(OpBuilder &b, Location loc) {
  return f32Const(b, loc, std::numeric_limits<float>::quiet_NaN());
}

// Per row: l_i = (1-eps)(lse_i - x[i, t_i]) + eps/C (C lse_i - sum_c x[i,c]),
// 0 for ignored rows, NaN for a class index out of range (torch raises; a
// compiled kernel cannot, and NaN is loud where a clamp would be silent).
struct CrossEntropyLossLowering : OpConversionPattern<CrossEntropyLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyLossOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), t = adaptor.getTarget();
    int64_t n = typeOf(x).getDimSize(0), numClasses = typeOf(x).getDimSize(1);
    double eps = op.getLabelSmoothing().convertToDouble();
    int64_t ignore = op.getIgnoreIndex();
    auto [rowMax, sumExp] = softmaxStatistics(rewriter, loc, x);
    SmallVector<Value> rowInputs{t, rowMax, sumExp};
    if (eps != 0)
      rowInputs.push_back(
          reduceDims(rewriter, loc, x, {1}, rewriter.getF32FloatAttr(0),
                     [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
                       return nb.create<arith::AddFOp>(l, v, acc);
                     }));
    Value perRow = broadcastElementwise(
        rewriter, loc, {n}, rowInputs,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value target = a[0];
          Value valid = notIgnored(b, l, target, ignore);
          Value ok = inRange(b, l, target, numClasses);
          Value zeroIdx = b.create<arith::ConstantOp>(l, b.getI64IntegerAttr(0));
          Value safe = b.create<arith::SelectOp>(l, ok, target, zeroIdx);
          Value row = b.create<linalg::IndexOp>(l, 0);
          Value col = b.create<arith::IndexCastOp>(l, b.getIndexType(), safe);
          Value xt = b.create<tensor::ExtractOp>(l, x, ValueRange{row, col});
          Value lse = b.create<arith::AddFOp>(l, a[1],
                                              b.create<math::LogOp>(l, a[2]));
          Value loss = b.create<arith::SubFOp>(l, lse, xt);
          if (eps != 0) {
            Value smooth = b.create<arith::SubFOp>(
                l, b.create<arith::MulFOp>(l, f32Const(b, l, numClasses), lse),
                a[3]);
            loss = b.create<arith::AddFOp>(
                l, b.create<arith::MulFOp>(l, f32Const(b, l, 1 - eps), loss),
                b.create<arith::MulFOp>(l, f32Const(b, l, eps / numClasses),
                                        smooth));
          }
          loss = b.create<arith::SelectOp>(l, ok, loss, nanConst(b, l));
          return {b.create<arith::SelectOp>(l, valid, loss, f32Const(b, l, 0))};
        })[0];
    Reduction reduction = op.getReduction();
    if (reduction == Reduction::none) {
      rewriter.replaceOp(op, perRow);
      return success();
    }
    Value sum = extractScalar(rewriter, loc, sumAll(rewriter, loc, perRow));
    if (reduction == Reduction::mean) {
      Value count = extractScalar(
          rewriter, loc, sumAll(rewriter, loc, validRows(rewriter, loc, t, ignore)));
      sum = rewriter.create<arith::DivFOp>(loc, sum, count);
    }
    rewriter.replaceOp(op, toScalarTensor(rewriter, loc, sum));
    return success();
  }
};

// dx[i,c] = w_i (softmax(x_i)_c - (1-eps)[c == t_i] - eps/C), 0 for ignored
// rows; w_i = g (sum), g / count (mean), g_i (none).
struct CrossEntropyLossBackwardLowering
    : OpConversionPattern<CrossEntropyLossBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyLossBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), t = adaptor.getTarget(), g = adaptor.getGrad();
    int64_t numClasses = typeOf(x).getDimSize(1);
    double eps = op.getLabelSmoothing().convertToDouble();
    int64_t ignore = op.getIgnoreIndex();
    Reduction reduction = op.getReduction();
    auto [rowMax, sumExp] = softmaxStatistics(rewriter, loc, x);
    if (reduction == Reduction::mean) {
      Value count = sumAll(rewriter, loc, validRows(rewriter, loc, t, ignore));
      g = divideScalars(rewriter, loc, g, count);
    }
    if (reduction == Reduction::none)
      g = asColumn(rewriter, loc, g);
    SmallVector<Value> inputs{x, asColumn(rewriter, loc, t),
                              asColumn(rewriter, loc, rowMax),
                              asColumn(rewriter, loc, sumExp), g};
    Value dx = broadcastElementwise(
        rewriter, loc, op.getType().getShape(), inputs,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value target = a[1];
          Value p = b.create<arith::DivFOp>(
              l, b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[2])),
              a[3]);
          Value col = b.create<arith::IndexCastOp>(
              l, b.getI64Type(), b.create<linalg::IndexOp>(l, 1));
          Value isTarget =
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, col, target);
          Value hit = b.create<arith::SelectOp>(l, isTarget,
                                                f32Const(b, l, 1 - eps),
                                                f32Const(b, l, 0));
          Value d = b.create<arith::SubFOp>(l, p, hit);
          if (eps != 0)
            d = b.create<arith::SubFOp>(l, d, f32Const(b, l, eps / numClasses));
          d = b.create<arith::MulFOp>(l, d, a[4]);
          Value valid = notIgnored(b, l, target, ignore);
          d = b.create<arith::SelectOp>(l, inRange(b, l, target, numClasses), d,
                                        nanConst(b, l));
          return {b.create<arith::SelectOp>(l, valid, d, f32Const(b, l, 0))};
        })[0];
    rewriter.replaceOp(op, dx);
    return success();
  }
};

// Both results of nn.cross_entropy_loss_with_grad from one set of row
// statistics (max_i and log sum_c exp(x_ic - max_i)), then one generic over
// [N, C] (rows parallel, classes a reduction) that, with log-probabilities
// lp = (x - max) - logsum as aten's log_softmax rounds them, writes
//   dx[i,c] = w_i (exp(lp_ic) - (1-eps)[c == t_i] - eps/C)
// and accumulates each row's loss sum_c ((1-eps)[c == t_i] + eps/C) (-lp_ic),
// which is (1-eps) nll_i + eps/C sum_c (-lp_ic) (with eps = 0 every other
// term is an exact zero). Ignored rows give 0, class indices out of range
// NaN, as in the separate ops. The statistics are row reductions that
// kiln-cpu-fuse-row-reductions moves into the loop over row blocks of this
// generic: one pass over the logits.
struct CrossEntropyLossWithGradLowering
    : OpConversionPattern<CrossEntropyLossWithGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyLossWithGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), t = adaptor.getTarget(), g = adaptor.getGrad();
    int64_t n = typeOf(x).getDimSize(0), numClasses = typeOf(x).getDimSize(1);
    double eps = op.getLabelSmoothing().convertToDouble();
    int64_t ignore = op.getIgnoreIndex();
    Reduction reduction = op.getReduction();
    auto [rowMax, sumExp] = softmaxStatistics(rewriter, loc, x);
    Value logSum = broadcastElementwise(
        rewriter, loc, {n}, ValueRange{sumExp},
        [](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          return {b.create<math::LogOp>(l, a[0])};
        })[0];
    Value count;
    if (reduction == Reduction::mean) {
      count = sumAll(rewriter, loc, validRows(rewriter, loc, t, ignore));
      g = divideScalars(rewriter, loc, g, count);
    }
    // Per RowLoops: with enough classes, 16 partial losses per row, so that
    // the loop over classes (dx stores beside the running sum) vectorizes.
    RowLoops rows(rewriter, loc, x);
    SmallVector<AffineMap> maps{rows.perElement, rows.perRow, rows.perRow, rows.perRow,
                                reduction == Reduction::none ? rows.perRow : rows.whole,
                                rows.perAccumulator, rows.perElement};
    Value lossInit = rows.zeros(rewriter, loc);
    Value dxInit = rewriter.create<tensor::EmptyOp>(loc, rows.elementShape,
                                                    rewriter.getF32Type());
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{lossInit.getType(), dxInit.getType()},
        ValueRange{rows.logits, t, rowMax, logSum, g}, ValueRange{lossInit, dxInit}, maps,
        rows.iterators,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value xv = a[0], target = a[1], w = a[4], acc = a[5];
          Value col =
              b.create<arith::IndexCastOp>(l, b.getI64Type(), rows.classIndex(b, l));
          Value isTarget =
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, col, target);
          Value valid = notIgnored(b, l, target, ignore);
          Value ok = inRange(b, l, target, numClasses);
          auto guard = [&](Value v) -> Value {
            v = b.create<arith::SelectOp>(l, ok, v, nanConst(b, l));
            return b.create<arith::SelectOp>(l, valid, v, f32Const(b, l, 0));
          };
          // Weight of this class in the row's loss and its gradient.
          Value weight = b.create<arith::SelectOp>(
              l, isTarget, f32Const(b, l, 1 - eps + eps / numClasses),
              f32Const(b, l, eps / numClasses));
          Value logProb = b.create<arith::SubFOp>(
              l, b.create<arith::SubFOp>(l, xv, a[2]), a[3]);
          Value term = guard(b.create<arith::NegFOp>(
              l, b.create<arith::MulFOp>(l, weight, logProb)));
          Value p = b.create<math::ExpOp>(l, logProb);
          Value d = guard(b.create<arith::MulFOp>(
              l, b.create<arith::SubFOp>(l, p, weight), w));
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::AddFOp>(l, acc, term), d});
        });
    Value dx = generic.getResult(1);
    if (rows.lanes)
      dx = reshapeTensor(rewriter, loc, dx, cast<RankedTensorType>(x.getType()));
    Value loss = rows.sumLanes(rewriter, loc, generic.getResult(0));
    if (reduction != Reduction::none) {
      Value sum = extractScalar(rewriter, loc, sumAll(rewriter, loc, loss));
      if (reduction == Reduction::mean)
        sum = rewriter.create<arith::DivFOp>(loc, sum,
                                             extractScalar(rewriter, loc, count));
      loss = toScalarTensor(rewriter, loc, sum);
    }
    rewriter.replaceOp(op, ValueRange{loss, dx});
    return success();
  }
};

// mse = (x - y)^2, summed, or averaged over every element for mean.
struct MseLossLowering : OpConversionPattern<MseLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MseLossOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto shape = typeOf(adaptor.getInput()).getShape();
    Value sq = broadcastElementwise(
        rewriter, loc, shape, ValueRange{adaptor.getInput(), adaptor.getTarget()},
        [](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value d = b.create<arith::SubFOp>(l, a[0], a[1]);
          return {b.create<arith::MulFOp>(l, d, d)};
        })[0];
    if (op.getReduction() == Reduction::none) {
      rewriter.replaceOp(op, sq);
      return success();
    }
    Value sum = extractScalar(rewriter, loc, sumAll(rewriter, loc, sq));
    if (op.getReduction() == Reduction::mean)
      sum = rewriter.create<arith::DivFOp>(
          loc, sum,
          f32Const(rewriter, loc, typeOf(adaptor.getInput()).getNumElements()));
    rewriter.replaceOp(op, toScalarTensor(rewriter, loc, sum));
    return success();
  }
};

// dx = (norm (x - y)) g with norm = 2 / numel (mean) or 2, as aten does.
struct MseLossBackwardLowering : OpConversionPattern<MseLossBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MseLossBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = typeOf(adaptor.getInput());
    double norm = op.getReduction() == Reduction::mean ? 2.0 / type.getNumElements() : 2.0;
    Value dx = broadcastElementwise(
        rewriter, op.getLoc(), type.getShape(),
        ValueRange{adaptor.getGrad(), adaptor.getInput(), adaptor.getTarget()},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value d = b.create<arith::SubFOp>(l, a[1], a[2]);
          Value scaled = b.create<arith::MulFOp>(l, f32Const(b, l, norm), d);
          return {b.create<arith::MulFOp>(l, scaled, a[0])};
        })[0];
    rewriter.replaceOp(op, dx);
    return success();
  }
};

// (y - 1) max(log(1 - x), -100) - y max(log x, -100), aten's clamped kernel.
struct BinaryCrossEntropyLowering : OpConversionPattern<BinaryCrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BinaryCrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value l = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(),
        ValueRange{adaptor.getInput(), adaptor.getTarget()},
        [](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          Value x = a[0], y = a[1], floor = f32Const(b, loc, -100);
          Value one = f32Const(b, loc, 1);
          Value logX = b.create<arith::MaximumFOp>(
              loc, b.create<math::LogOp>(loc, x), floor);
          Value log1mX = b.create<arith::MaximumFOp>(
              loc,
              b.create<math::LogOp>(loc, b.create<arith::SubFOp>(loc, one, x)),
              floor);
          Value pos = b.create<arith::MulFOp>(
              loc, b.create<arith::SubFOp>(loc, y, one), log1mX);
          return {b.create<arith::SubFOp>(
              loc, pos, b.create<arith::MulFOp>(loc, y, logX))};
        })[0];
    rewriter.replaceOp(op, l);
    return success();
  }
};

/// nll_loss's class dimension: 1, or 0 for an unbatched [C] input.
int64_t nllClassDim(RankedTensorType input) {
  return input.getRank() == 1 ? 0 : 1;
}

/// Reads input[idx with the class index `cls` inserted at the class
/// dimension] inside a generic over the target's shape.
Value gatherClass(OpBuilder &b, Location loc, Value input, Value cls,
                  int64_t classDim) {
  int64_t rank = typeOf(input).getRank();
  SmallVector<Value> idx;
  for (int64_t d = 0, t = 0; d < rank; ++d)
    idx.push_back(d == classDim ? cls
                                : b.create<linalg::IndexOp>(loc, t++).getResult());
  return b.create<tensor::ExtractOp>(loc, input, idx);
}

/// Per element of the target: (loss, weight) = (-w[t] x[.., t, ..], w[t]),
/// both 0 where t is ignore_index. An index outside [0, C) reads class 0:
/// the runtime refuses such targets before the kernels run when they come
/// from the caller (IndexOperandOpInterface).
std::pair<Value, Value> nllPerElement(OpBuilder &rewriter, Location loc,
                                      Value x, Value t, Value weight,
                                      int64_t ignore) {
  auto xt = typeOf(x);
  int64_t classDim = nllClassDim(xt), classes = xt.getDimSize(classDim);
  ValueRange r = broadcastElementwise(
      rewriter, loc, typeOf(t).getShape(), ValueRange{t},
      [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
        Value target = a[0];
        Value zeroIdx = b.create<arith::ConstantOp>(l, b.getI64IntegerAttr(0));
        Value safe = b.create<arith::SelectOp>(l, inRange(b, l, target, classes),
                                               target, zeroIdx);
        Value cls = b.create<arith::IndexCastOp>(l, b.getIndexType(), safe);
        Value w = weight ? b.create<tensor::ExtractOp>(l, weight, ValueRange{cls})
                               .getResult()
                         : f32Const(b, l, 1);
        Value xv = gatherClass(b, l, x, cls, classDim);
        Value loss = b.create<arith::NegFOp>(l, b.create<arith::MulFOp>(l, w, xv));
        Value valid = notIgnored(b, l, target, ignore);
        Value zero = f32Const(b, l, 0);
        return {b.create<arith::SelectOp>(l, valid, loss, zero),
                b.create<arith::SelectOp>(l, valid, w, zero)};
      },
      2);
  return {r[0], r[1]};
}

// nll: -w[t] x[n, t, d...] per element; mean divides the sum by the total
// weight of the elements not ignored, as aten does.
struct NllLossLowering : OpConversionPattern<NllLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(NllLossOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto [loss, weights] =
        nllPerElement(rewriter, loc, adaptor.getInput(), adaptor.getTarget(),
                      adaptor.getWeight(), op.getIgnoreIndex());
    Reduction reduction = op.getReduction();
    if (reduction == Reduction::none) {
      rewriter.replaceOp(op, loss);
      return success();
    }
    Value sum = extractScalar(rewriter, loc, sumAll(rewriter, loc, loss));
    if (reduction == Reduction::mean)
      sum = rewriter.create<arith::DivFOp>(
          loc, sum, extractScalar(rewriter, loc, sumAll(rewriter, loc, weights)));
    rewriter.replaceOp(op, toScalarTensor(rewriter, loc, sum));
    return success();
  }
};

// dx[n, c, d...] = -w[t] g where c == t[n, d...] (not ignored), else 0;
// g = grad (sum), grad / total weight (mean), grad[n, d...] (none).
struct NllLossBackwardLowering : OpConversionPattern<NllLossBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(NllLossBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), t = adaptor.getTarget(), g = adaptor.getGrad();
    Value weight = adaptor.getWeight();
    auto xt = typeOf(x);
    int64_t classDim = nllClassDim(xt), classes = xt.getDimSize(classDim);
    int64_t ignore = op.getIgnoreIndex();
    Reduction reduction = op.getReduction();
    if (reduction == Reduction::mean) {
      Value total = sumAll(rewriter, loc,
                           nllPerElement(rewriter, loc, x, t, weight, ignore).second);
      g = divideScalars(rewriter, loc, g, total);
    }
    Value dx = broadcastElementwise(
        rewriter, loc, xt.getShape(), ValueRange{},
        [&](OpBuilder &b, Location l, ValueRange) -> SmallVector<Value> {
          SmallVector<Value> rowIdx;
          for (int64_t d = 0; d < xt.getRank(); ++d)
            if (d != classDim)
              rowIdx.push_back(b.create<linalg::IndexOp>(l, d));
          Value target = b.create<tensor::ExtractOp>(l, t, rowIdx);
          Value gv = reduction == Reduction::none
                         ? b.create<tensor::ExtractOp>(l, g, rowIdx).getResult()
                         : b.create<tensor::ExtractOp>(l, g, ValueRange{}).getResult();
          Value zeroIdx = b.create<arith::ConstantOp>(l, b.getI64IntegerAttr(0));
          Value safe = b.create<arith::SelectOp>(l, inRange(b, l, target, classes),
                                                 target, zeroIdx);
          Value w = weight
                        ? b.create<tensor::ExtractOp>(
                              l, weight,
                              ValueRange{b.create<arith::IndexCastOp>(
                                  l, b.getIndexType(), safe)})
                              .getResult()
                        : f32Const(b, l, 1);
          Value col = b.create<arith::IndexCastOp>(
              l, b.getI64Type(), b.create<linalg::IndexOp>(l, classDim));
          Value hit = b.create<arith::AndIOp>(
              l, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, col, target),
              notIgnored(b, l, target, ignore));
          Value d = b.create<arith::NegFOp>(l, b.create<arith::MulFOp>(l, w, gv));
          return {b.create<arith::SelectOp>(l, hit, d, f32Const(b, l, 0))};
        })[0];
    rewriter.replaceOp(op, dx);
    return success();
  }
};

} // namespace

void kiln::populateLowerLossesPatterns(RewritePatternSet &patterns) {
  patterns.add<CrossEntropyLossLowering, CrossEntropyLossBackwardLowering,
               CrossEntropyLossWithGradLowering,
               MseLossLowering, MseLossBackwardLowering,
               BinaryCrossEntropyLowering, NllLossLowering,
               NllLossBackwardLowering>(patterns.getContext());
}
