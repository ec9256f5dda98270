// Lowering of layer, shape and elementwise nn ops to linalg on tensors.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// `v` as [rows, last] (collapse of the leading dims; identity for rank 2).
Value collapseToMatrix(OpBuilder &b, Location loc, Value v) {
  auto type = typeOf(v);
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType()),
        v, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    lead.push_back(i);
  return b.create<tensor::CollapseShapeOp>(
      loc, v, ArrayRef<ReassociationIndices>{lead, {type.getRank() - 1}});
}

/// Reshape through a 1-D tensor: always expressible with collapse/expand,
/// and free after bufferization.
Value reshapeTensor(OpBuilder &b, Location loc, Value v,
                    RankedTensorType to) {
  auto from = typeOf(v);
  if (from == to)
    return v;
  auto flatType = RankedTensorType::get({from.getNumElements()},
                                        from.getElementType());
  Value flat = v;
  if (from.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < from.getRank(); ++i)
      all.push_back(i);
    flat = from.getRank() == 0
               ? b.create<tensor::ExpandShapeOp>(
                     loc, flatType, v, ArrayRef<ReassociationIndices>{})
                     .getResult()
               : b.create<tensor::CollapseShapeOp>(
                     loc, flatType, v, ArrayRef<ReassociationIndices>{all})
                     .getResult();
  }
  if (to.getRank() == 1)
    return flat;
  ReassociationIndices all;
  for (int64_t i = 0; i < to.getRank(); ++i)
    all.push_back(i);
  if (to.getRank() == 0)
    return b.create<tensor::CollapseShapeOp>(loc, to, flat,
                                             ArrayRef<ReassociationIndices>{});
  return b.create<tensor::ExpandShapeOp>(loc, to, flat,
                                         ArrayRef<ReassociationIndices>{all});
}

/// C[M,N] = op(A) op(B) accumulated onto `init`.
Value matmulInto(OpBuilder &b, Location loc, Value lhs, Value rhs,
                 bool transposeLhs, bool transposeRhs, Value init) {
  if (!transposeLhs && !transposeRhs)
    return b.create<linalg::MatmulOp>(loc, ValueRange{lhs, rhs}, init)
        .getResult(0);
  // Whether B^T is worth copying first is the backend's call (the CPU
  // backend materialises it: kiln-cpu-materialize-transposes).
  if (!transposeLhs && transposeRhs)
    return b.create<linalg::MatmulTransposeBOp>(loc, ValueRange{lhs, rhs}, init)
        .getResult(0);
  if (transposeLhs && !transposeRhs)
    return b.create<linalg::MatmulTransposeAOp>(loc, ValueRange{lhs, rhs}, init)
        .getResult(0);
  // Both transposed: C[m,n] += A[k,m] B[n,k].
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> maps{AffineMap::get(3, 0, {k, m}, ctx),
                              AffineMap::get(3, 0, {n, k}, ctx),
                              AffineMap::get(3, 0, {m, n}, ctx)};
  SmallVector<utils::IteratorType> iters{utils::IteratorType::parallel,
                                         utils::IteratorType::parallel,
                                         utils::IteratorType::reduction};
  return b
      .create<linalg::GenericOp>(
          loc, init.getType(), ValueRange{lhs, rhs}, init, maps, iters,
          [](OpBuilder &nb, Location nl, ValueRange a) {
            Value p = nb.create<arith::MulFOp>(nl, a[0], a[1]);
            nb.create<linalg::YieldOp>(nl,
                                       ValueRange{nb.create<arith::AddFOp>(nl, a[2], p)});
          })
      .getResult(0);
}

// y = x W^T + b: the bias is broadcast into the accumulator first, so the
// matmul's epilogue needs no separate pass over y.
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = collapseToMatrix(rewriter, loc, adaptor.getInput());
    int64_t m = typeOf(x).getDimSize(0);
    int64_t n = typeOf(adaptor.getWeight()).getDimSize(0);
    Value init;
    if (Value bias = adaptor.getBias()) {
      Value empty = rewriter.create<tensor::EmptyOp>(
          loc, ArrayRef<int64_t>{m, n}, rewriter.getF32Type());
      init = rewriter
                 .create<linalg::BroadcastOp>(loc, bias, empty,
                                              ArrayRef<int64_t>{0})
                 .getResult()[0];
    } else {
      init = filledTensor(rewriter, loc, {m, n}, rewriter.getF32Type(),
                          rewriter.getF32FloatAttr(0));
    }
    Value y = matmulInto(rewriter, loc, x, adaptor.getWeight(), false, true,
                         init);
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, y, op.getType()));
    return success();
  }
};

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value init = filledTensor(rewriter, op.getLoc(), op.getType().getShape(),
                              rewriter.getF32Type(),
                              rewriter.getF32FloatAttr(0));
    rewriter.replaceOp(op, matmulInto(rewriter, op.getLoc(), adaptor.getLhs(),
                                      adaptor.getRhs(), op.getTransposeLhs(),
                                      op.getTransposeRhs(), init));
    return success();
  }
};

// relu(x) = max(x, 0); NaN propagates like torch.
struct ReluLowering : OpConversionPattern<ReluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(), adaptor.getInput(),
        [](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          return {b.create<arith::MaximumFOp>(loc, a[0], f32Const(b, loc, 0))};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

// threshold_backward(g, x) = x > threshold ? g : 0
struct ThresholdBackwardLowering : OpConversionPattern<ThresholdBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ThresholdBackwardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    double threshold = op.getThreshold().convertToFloat();
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(),
        ValueRange{adaptor.getGrad(), adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          Value pass = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT,
                                               a[1], f32Const(b, loc, threshold));
          return {b.create<arith::SelectOp>(loc, pass, a[0],
                                            f32Const(b, loc, 0))};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

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

/// One pattern for the whole broadcasting binary family.
template <typename Op, typename ArithOp>
struct BinaryLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto results = broadcastElementwise(
        rewriter, op.getLoc(), op.getType().getShape(),
        ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        [](OpBuilder &b, Location loc, ValueRange a) -> SmallVector<Value> {
          return {b.create<ArithOp>(loc, a[0], a[1])};
        });
    rewriter.replaceOp(op, results);
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
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void kiln::populateLowerLayersPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearLowering, MatmulLowering, ReluLowering,
               ThresholdBackwardLowering, ReshapeLikeLowering<FlattenOp>,
               ReshapeLikeLowering<ReshapeOp>,
               BinaryLowering<AddOp, arith::AddFOp>,
               BinaryLowering<SubOp, arith::SubFOp>,
               BinaryLowering<MulOp, arith::MulFOp>, SumToSizeLowering,
               BroadcastToLowering>(patterns.getContext());
}
