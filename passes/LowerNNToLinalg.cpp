// nn-lower-to-linalg: the pass and the helpers every op family shares.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERNNTOLINALG
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

Value kiln::f32Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}

Value kiln::filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         Type elementType, TypedAttr value) {
  Value empty = b.create<tensor::EmptyOp>(loc, shape, elementType);
  Value v = b.create<arith::ConstantOp>(loc, value);
  return b.create<linalg::FillOp>(loc, v, empty).getResult(0);
}

/// Indexing map reading a tensor of `inShape` inside a loop nest over
/// `outShape`, aligned on the right; stretched dimensions read index 0.
static AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> inShape,
                              ArrayRef<int64_t> outShape) {
  SmallVector<AffineExpr> exprs;
  size_t lead = outShape.size() - inShape.size();
  for (size_t i = 0; i < inShape.size(); ++i)
    exprs.push_back(inShape[i] == 1 && outShape[lead + i] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(lead + i, ctx));
  return AffineMap::get(outShape.size(), 0, exprs, ctx);
}

ValueRange kiln::broadcastElementwise(OpBuilder &b, Location loc,
                                      ArrayRef<int64_t> shape,
                                      ValueRange inputs, ElementwiseBody body,
                                      unsigned numResults, Type elementType) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(
        ctx, cast<RankedTensorType>(in.getType()).getShape(), shape));
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numResults; ++i) {
    inits.push_back(b.create<tensor::EmptyOp>(
        loc, shape, elementType ? elementType : b.getF32Type()));
    maps.push_back(AffineMap::getMultiDimIdentityMap(shape.size(), ctx));
  }
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange(ValueRange(inits)), inputs, inits, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return generic.getResults();
}

Value kiln::reduceDims(
    OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> reduced,
    TypedAttr init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    bool isReduced = llvm::is_contained(reduced, d);
    iters.push_back(isReduced ? utils::IteratorType::reduction
                              : utils::IteratorType::parallel);
    if (!isReduced) {
      outShape.push_back(type.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
  }
  Value acc = filledTensor(b, loc, outShape, type.getElementType(), init);
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimIdentityMap(type.getRank(), ctx),
      AffineMap::get(type.getRank(), 0, outExprs, ctx)};
  auto generic = b.create<linalg::GenericOp>(
      loc, acc.getType(), input, acc, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, combine(nb, nloc, args[0], args[1]));
      });
  return generic.getResult(0);
}

Value kiln::reduceDimsInLanes(
    OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> reduced,
    TypedAttr init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  if (rank == 0 || !type.hasStaticShape() || !llvm::is_contained(reduced, rank - 1))
    return reduceDims(b, loc, input, reduced, init, combine);
  int64_t size = type.getDimSize(rank - 1);
  if (size % kReductionLanes != 0 || size < 2 * kReductionLanes)
    return reduceDims(b, loc, input, reduced, init, combine);
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = size / kReductionLanes;
  shape.push_back(kReductionLanes);
  Value view = reshapeTensor(b, loc, input,
                             RankedTensorType::get(shape, type.getElementType()));
  // Same reduced dimensions (the last is now the blocks of lanes); the
  // lanes stay a parallel, innermost output dimension.
  Value partial = reduceDims(b, loc, view, reduced, init, combine);
  int64_t lanesDim = cast<RankedTensorType>(partial.getType()).getRank() - 1;
  return reduceDims(b, loc, partial, {lanesDim}, init, combine);
}

SmallVector<ReassociationIndices>
kiln::unitDimReassociation(ArrayRef<bool> kept) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices current;
  for (int64_t i = 0, e = kept.size(); i < e; ++i) {
    current.push_back(i);
    if (kept[i]) {
      groups.push_back(current);
      current.clear();
    }
  }
  if (!current.empty() && !groups.empty())
    groups.back().append(current.begin(), current.end());
  return groups;
}

Value kiln::libraryCall(OpBuilder &b, Location loc, StringRef callee,
                        ArrayRef<int64_t> params, ValueRange inputs,
                        RankedTensorType type) {
  Value init = b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  return b
      .create<nn::LibraryCallOp>(loc, TypeRange{type}, b.getStringAttr(callee),
                                 b.getDenseI64ArrayAttr(params), inputs,
                                 ValueRange{init})
      .getResult(0);
}

Value kiln::reshapeTensor(OpBuilder &b, Location loc, Value v,
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

Value kiln::extractScalar(OpBuilder &b, Location loc, Value scalarTensor) {
  return b.create<tensor::ExtractOp>(loc, scalarTensor, ValueRange{});
}

Value kiln::toScalarTensor(OpBuilder &b, Location loc, Value scalar) {
  return b.create<tensor::FromElementsOp>(
      loc, RankedTensorType::get({}, scalar.getType()), scalar);
}

namespace {
struct LowerNNToLinalgPass
    : kiln::impl::LowerNNToLinalgBase<LowerNNToLinalgPass> {
  using LowerNNToLinalgBase::LowerNNToLinalgBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<nn::NNDialect>();
    // A runtime routine's call is what some nn ops lower to
    // (passes/LowerConvLibrary.cpp); the backend makes it a call.
    target.addLegalOp<nn::LibraryCallOp>();
    // scf: nn.max_unpool's scatter loop (passes/LowerPool.cpp).
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           func::FuncDialect, scf::SCFDialect>();
    RewritePatternSet patterns(ctx);
    populateLowerLinearPatterns(patterns);
    populateLowerConvPatterns(patterns, conv);
    populateLowerPoolPatterns(patterns);
    populateLowerFractionalPoolPatterns(patterns);
    populateLowerActivationPatterns(patterns);
    populateLowerElementwisePatterns(patterns);
    populateLowerTensorOpsPatterns(patterns);
    populateLowerIndexPatterns(patterns);
    populateLowerLossesPatterns(patterns);
    populateLowerCtcPatterns(patterns);
    populateLowerDistributedPatterns(patterns);
    populateLowerNormPatterns(patterns);
    populateLowerOptimizersPatterns(patterns);
    populateLowerRandomPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
