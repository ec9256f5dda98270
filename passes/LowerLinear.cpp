// Lowering of the linear family (NNLinearOps.td): nn.linear and nn.matmul to
// linalg contractions on tensors (a batched nn.matmul to linalg.batch_matmul
// and its transposed forms, its batch dimensions collapsed into one).
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

/// C[..., m, n] += A[..., k, m] B[..., n, k] as a linalg.generic, with a
/// leading batch loop when `batched`: no named linalg op has both operands
/// transposed (and no gradient rule makes such a product from one that
/// has not).
Value bothTransposedInto(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         Value init, bool batched) {
  MLIRContext *ctx = b.getContext();
  unsigned loops = batched ? 4 : 3;
  AffineExpr m = getAffineDimExpr(loops - 3, ctx),
             n = getAffineDimExpr(loops - 2, ctx),
             k = getAffineDimExpr(loops - 1, ctx);
  auto map = [&](AffineExpr row, AffineExpr column) {
    SmallVector<AffineExpr> results;
    if (batched)
      results.push_back(getAffineDimExpr(0, ctx));
    results.append({row, column});
    return AffineMap::get(loops, 0, results, ctx);
  };
  SmallVector<AffineMap> maps{map(k, m), map(n, k), map(m, n)};
  SmallVector<utils::IteratorType> iters(loops - 1,
                                         utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
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
  return bothTransposedInto(b, loc, lhs, rhs, init, /*batched=*/false);
}

/// C[B,M,N] = op(A) op(B) per item b, accumulated onto `init`: the batched
/// forms of matmulInto (the backends call a batched GEMM for each).
Value batchMatmulInto(OpBuilder &b, Location loc, Value lhs, Value rhs,
                      bool transposeLhs, bool transposeRhs, Value init) {
  if (!transposeLhs && !transposeRhs)
    return b.create<linalg::BatchMatmulOp>(loc, ValueRange{lhs, rhs}, init)
        .getResult(0);
  if (!transposeLhs && transposeRhs)
    return b
        .create<linalg::BatchMatmulTransposeBOp>(loc, ValueRange{lhs, rhs},
                                                 init)
        .getResult(0);
  if (transposeLhs && !transposeRhs)
    return b
        .create<linalg::BatchMatmulTransposeAOp>(loc, ValueRange{lhs, rhs},
                                                 init)
        .getResult(0);
  return bothTransposedInto(b, loc, lhs, rhs, init, /*batched=*/true);
}

/// `v` [d0, ..., dr-3, x, y] as [d0 * ... * dr-3, x, y] (rank >= 3).
Value collapseBatch(OpBuilder &b, Location loc, Value v) {
  int64_t rank = typeOf(v).getRank();
  if (rank == 3)
    return v;
  ReassociationIndices batch;
  for (int64_t i = 0; i + 2 < rank; ++i)
    batch.push_back(i);
  return b.create<tensor::CollapseShapeOp>(
      loc, v, ArrayRef<ReassociationIndices>{batch, {rank - 2}, {rank - 1}});
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
    Location loc = op.getLoc();
    ArrayRef<int64_t> shape = op.getType().getShape();
    if (shape.size() == 2) {
      Value init = filledTensor(rewriter, loc, shape, rewriter.getF32Type(),
                                rewriter.getF32FloatAttr(0));
      rewriter.replaceOp(op, matmulInto(rewriter, loc, adaptor.getLhs(),
                                        adaptor.getRhs(), op.getTransposeLhs(),
                                        op.getTransposeRhs(), init));
      return success();
    }
    // Batched: the batch dimensions as one, then back.
    int64_t items = 1;
    for (int64_t d : shape.drop_back(2))
      items *= d;
    Value init = filledTensor(
        rewriter, loc, {items, shape[shape.size() - 2], shape.back()},
        rewriter.getF32Type(), rewriter.getF32FloatAttr(0));
    Value c = batchMatmulInto(rewriter, loc,
                              collapseBatch(rewriter, loc, adaptor.getLhs()),
                              collapseBatch(rewriter, loc, adaptor.getRhs()),
                              op.getTransposeLhs(), op.getTransposeRhs(), init);
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, c, op.getType()));
    return success();
  }
};

} // namespace

void kiln::populateLowerLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearLowering, MatmulLowering>(patterns.getContext());
}
