// Lowering of the tensor family (NNTensorOps.td): shape changes, broadcasts,
// reductions, layout, slicing and joining ops.
// Preconditions: the ops verified (dims in range, no repeats, slice bounds
// normalised), static shapes.
#include "passes/LowerToLinalg.h"

#include "ir/ShapeRules.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <cmath>

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

/// flatten and reshape: a pure change of shape, one pattern for both.
template <typename Op>
struct ReshapeLikeLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTensor(rewriter, op.getLoc(),
                                         adaptor.getInput(), op.getType()));
    return success();
  }
};

/// detach: the value itself (its only effect, no gradient, is autodiff's).
struct DetachLowering : OpConversionPattern<DetachOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DetachOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

// Sum over the leading extra dims and the dims that are 1 in the result,
// then re-insert the unit dims.
struct SumToSizeLowering : OpConversionPattern<SumToSizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SumToSizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = typeOf(adaptor.getInput()).getShape();
    auto out = op.getType().getShape();
    size_t lead = in.size() - out.size();
    SmallVector<int64_t> reduced;
    SmallVector<bool> kept;
    for (size_t d = 0; d < in.size(); ++d) {
      bool isReduced = d < lead || (out[d - lead] == 1 && in[d] != 1);
      if (isReduced)
        reduced.push_back(d);
      if (d >= lead)
        kept.push_back(!isReduced);
    }
    Value sum = reduceDims(
        rewriter, loc, adaptor.getInput(), reduced, rewriter.getF32FloatAttr(0),
        [](OpBuilder &b, Location l, Value x, Value acc) -> Value {
          return b.create<arith::AddFOp>(l, x, acc);
        });
    if (typeOf(sum) != op.getType())
      sum = rewriter.create<tensor::ExpandShapeOp>(
          loc, op.getType(), sum, unitDimReassociation(kept));
    rewriter.replaceOp(op, sum);
    return success();
  }
};

struct BroadcastToLowering : OpConversionPattern<BroadcastToOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BroadcastToOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(), adaptor.getInput(),
        [](OpBuilder &, Location, ValueRange a) -> SmallVector<Value> {
          return {a[0]};
        },
        1, op.getType().getElementType());
    rewriter.replaceOp(op, results);
    return success();
  }
};

enum class ReduceKind { Sum, Mean, Max, Min };

/// sum / mean / amax / amin: a reduction generic (divided by the count for
/// mean; max and min propagate NaN, as torch), with the unit dims
/// re-inserted for keepdim.
template <typename Op, ReduceKind Kind>
struct ReduceLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = typeOf(adaptor.getInput());
    SmallVector<int64_t> dims = normalised(op.getDims(), in);
    float init = Kind == ReduceKind::Max   ? -INFINITY
                 : Kind == ReduceKind::Min ? INFINITY
                                          : 0.0f;
    Value sum = reduceDimsInLanes(
        rewriter, loc, adaptor.getInput(), dims, rewriter.getF32FloatAttr(init),
        [](OpBuilder &b, Location l, Value x, Value acc) -> Value {
          if (Kind == ReduceKind::Max)
            return b.create<arith::MaximumFOp>(l, x, acc);
          if (Kind == ReduceKind::Min)
            return b.create<arith::MinimumFOp>(l, x, acc);
          return b.create<arith::AddFOp>(l, x, acc);
        });
    if (Kind == ReduceKind::Mean) {
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

/// A parallel linalg.generic over `type` with no inputs whose element at
/// `index` (one index value per dimension) is `element(index)`: a gather
/// that reads its sources with tensor.extract.
///
/// Why gathers, not extract_slice/insert_slice: canonicalization erases
/// identity copies, so a slice inserted into a larger tensor bufferizes to
/// a memref.copy between strided views, which the CPU backend lowers to a
/// call of MLIR's runtime `memrefCopy` (not linked into models). A gather
/// writes each result element once and bufferizes to plain loads.
Value gather(OpBuilder &b, Location loc, RankedTensorType type,
             function_ref<Value(OpBuilder &, Location, ValueRange)> element) {
  int64_t rank = type.getRank();
  Value init =
      b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimIdentityMap(rank, b.getContext())};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return b
      .create<linalg::GenericOp>(
          loc, type, ValueRange(), init, maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange) {
            SmallVector<Value> index;
            for (int64_t d = 0; d < rank; ++d)
              index.push_back(nb.create<linalg::IndexOp>(l, d));
            nb.create<linalg::YieldOp>(l, element(nb, l, index));
          })
      .getResult(0);
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

/// i * scale + offset on indices, without the multiply by 1 or add of 0.
Value scaleAndShift(OpBuilder &b, Location loc, Value i, int64_t scale,
                    int64_t offset) {
  if (scale != 1)
    i = b.create<arith::MulIOp>(loc, i, indexConst(b, loc, scale));
  if (offset != 0)
    i = b.create<arith::AddIOp>(loc, i, indexConst(b, loc, offset));
  return i;
}

Value compare(OpBuilder &b, Location loc, arith::CmpIPredicate p, Value i,
              int64_t bound) {
  return b.create<arith::CmpIOp>(loc, p, i, indexConst(b, loc, bound));
}

/// result[i] = input[start + i * step], per dimension.
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value input = adaptor.getInput();
    ArrayRef<int64_t> start = op.getStart(), step = op.getStep();
    auto element = [&](OpBuilder &b, Location l, ValueRange i) -> Value {
      SmallVector<Value> at;
      for (auto [d, id] : llvm::enumerate(i))
        at.push_back(scaleAndShift(b, l, id, step[d], start[d]));
      return b.create<tensor::ExtractOp>(l, input, at);
    };
    rewriter.replaceOp(op, gather(rewriter, op.getLoc(), op.getType(), element));
    return success();
  }
};

/// result[i] = dy[(i - start) / step] where i - start is a multiple of step
/// in [0, end - start) in every dimension, else 0. Indices outside the slice
/// read dy[0] (then discarded), so every read is in bounds.
struct SliceBackwardLowering : OpConversionPattern<SliceBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto out = op.getType();
    Value dy = adaptor.getInput();
    if (typeOf(dy).getNumElements() == 0) { // nothing sliced: all zeros
      rewriter.replaceOp(op, filledTensor(rewriter, loc, out.getShape(),
                                          out.getElementType(),
                                          rewriter.getF32FloatAttr(0)));
      return success();
    }
    ArrayRef<int64_t> start = op.getStart(), end = op.getEnd(),
                      step = op.getStep();
    auto element = [&](OpBuilder &b, Location l, ValueRange i) -> Value {
      Value hit;
      SmallVector<Value> at;
      for (auto [d, id] : llvm::enumerate(i)) {
        Value inside = b.create<arith::AndIOp>(
            l, compare(b, l, arith::CmpIPredicate::sge, id, start[d]),
            compare(b, l, arith::CmpIPredicate::slt, id, end[d]));
        Value offset = scaleAndShift(b, l, id, 1, -start[d]);
        Value local = offset;
        if (step[d] != 1) {
          Value c = indexConst(b, l, step[d]);
          Value onStep = compare(b, l, arith::CmpIPredicate::eq,
                                 b.create<arith::RemSIOp>(l, offset, c), 0);
          inside = b.create<arith::AndIOp>(l, inside, onStep);
          local = b.create<arith::DivSIOp>(l, offset, c);
        }
        hit = hit ? b.create<arith::AndIOp>(l, hit, inside) : inside;
        at.push_back(
            b.create<arith::SelectOp>(l, inside, local, indexConst(b, l, 0)));
      }
      Value v = b.create<tensor::ExtractOp>(l, dy, at);
      if (!hit) // rank 0
        return v;
      return b.create<arith::SelectOp>(l, hit, v, f32Const(b, l, 0));
    };
    rewriter.replaceOp(op, gather(rewriter, loc, out, element));
    return success();
  }
};

/// result[..., k, ...] = input_j[..., k - offset_j, ...] for the input j
/// whose range along `dim` holds k: a select over the (non-empty) inputs,
/// each read at an index clamped into its bounds.
struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto out = op.getType();
    int64_t dim = normalised({static_cast<int64_t>(op.getDim())}, out).front();
    SmallVector<std::pair<Value, int64_t>> pieces; // (input, offset)
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      if (typeOf(input).getNumElements() > 0)
        pieces.push_back({input, offset});
      offset += typeOf(input).getDimSize(dim);
    }
    if (pieces.empty()) { // no elements at all
      rewriter.replaceOpWithNewOp<tensor::EmptyOp>(op, out.getShape(),
                                                   out.getElementType());
      return success();
    }
    auto element = [&](OpBuilder &b, Location l, ValueRange i) -> Value {
      Value result;
      // Last piece first; an earlier piece takes over below its end, so the
      // first piece that ends after k wins.
      for (auto [input, first] : llvm::reverse(pieces)) {
        int64_t size = typeOf(input).getDimSize(dim);
        Value beforeEnd =
            compare(b, l, arith::CmpIPredicate::slt, i[dim], first + size);
        Value inside = b.create<arith::AndIOp>(
            l, beforeEnd, compare(b, l, arith::CmpIPredicate::sge, i[dim], first));
        SmallVector<Value> at(i);
        at[dim] = b.create<arith::SelectOp>(
            l, inside, scaleAndShift(b, l, i[dim], 1, -first),
            indexConst(b, l, 0));
        Value v = b.create<tensor::ExtractOp>(l, input, at);
        result = result ? b.create<arith::SelectOp>(l, beforeEnd, v, result)
                        : v;
      }
      return result;
    };
    rewriter.replaceOp(op, gather(rewriter, loc, out, element));
    return success();
  }
};

} // namespace

void kiln::populateLowerTensorOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<ReshapeLikeLowering<FlattenOp>, ReshapeLikeLowering<ReshapeOp>,
               SumToSizeLowering, BroadcastToLowering,
               ReduceLowering<SumOp, ReduceKind::Sum>,
               ReduceLowering<MeanOp, ReduceKind::Mean>,
               ReduceLowering<AmaxOp, ReduceKind::Max>,
               ReduceLowering<AminOp, ReduceKind::Min>,
               PermuteLowering, SliceLowering, SliceBackwardLowering,
               ConcatLowering, DetachLowering>(patterns.getContext());
}
