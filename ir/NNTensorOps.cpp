// Shape inference and gradient rules of reductions and layout ops
// (NNTensorOps.td).
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

/// `dims` normalised to [0, rank) and sorted; an empty list means all.
static FailureOr<SmallVector<int64_t>>
normaliseDims(std::optional<Location> loc, StringRef op, ArrayRef<int64_t> dims,
              int64_t rank) {
  SmallVector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < rank; ++d)
      out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t n = d < 0 ? d + rank : d;
    if (n < 0 || n >= std::max<int64_t>(rank, 1) || llvm::is_contained(out, n))
      return (void)emitOptionalError(loc, op, ": dimension ", d,
                                     " is out of range or repeated for rank ",
                                     rank),
             failure();
    out.push_back(n);
  }
  llvm::sort(out);
  return out;
}

/// The result shape of reducing `shape` over `dims` (normalised).
static SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape,
                                         ArrayRef<int64_t> dims, bool keepdim) {
  SmallVector<int64_t> out;
  for (int64_t d = 0, e = shape.size(); d < e; ++d) {
    if (!llvm::is_contained(dims, d))
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

template <typename Op>
static LogicalResult inferReduce(MLIRContext *ctx, std::optional<Location> loc,
                                 ValueRange operands, DictionaryAttr attrs,
                                 OpaqueProperties props, RegionRange regions,
                                 SmallVectorImpl<Type> &types) {
  typename Op::Adaptor a(operands, attrs, props, regions);
  auto shape = tensorType(a.getInput()).getShape();
  auto dims = normaliseDims(loc, Op::getOperationName(), a.getDims(), shape.size());
  if (failed(dims))
    return failure();
  types.push_back(RankedTensorType::get(reducedShape(shape, *dims, a.getKeepdim()),
                                        Float32Type::get(ctx)));
  return success();
}

LogicalResult SumOp::inferReturnTypes(MLIRContext *ctx,
                                      std::optional<Location> loc,
                                      ValueRange operands, DictionaryAttr attrs,
                                      OpaqueProperties props,
                                      RegionRange regions,
                                      SmallVectorImpl<Type> &types) {
  return inferReduce<SumOp>(ctx, loc, operands, attrs, props, regions, types);
}

LogicalResult MeanOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       ValueRange operands, DictionaryAttr attrs,
                                       OpaqueProperties props,
                                       RegionRange regions,
                                       SmallVectorImpl<Type> &types) {
  return inferReduce<MeanOp>(ctx, loc, operands, attrs, props, regions, types);
}

/// dy of a reduction spread back over the input: reshape to keepdim form,
/// then broadcast.
static Value spread(OpBuilder &b, Location loc, Value dy, Value input,
                    ArrayRef<int64_t> dims) {
  auto in = tensorType(input);
  auto kept = RankedTensorType::get(reducedShape(in.getShape(), dims, true),
                                    b.getF32Type());
  return b.create<BroadcastToOp>(loc, in, reshapeTo(b, loc, dy, kept));
}

// d sum(x) = dy broadcast over the reduced dims.
LogicalResult SumOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool>,
                                   SmallVectorImpl<Value> &operandGrads) {
  auto dims = normaliseDims(getLoc(), getOperationName(), getDims(),
                            tensorType(getInput()).getRank());
  if (failed(dims))
    return failure();
  operandGrads.assign(1, spread(b, getLoc(), resultGrads[0], getInput(), *dims));
  return success();
}

// d mean(x) = dy / count broadcast over the reduced dims.
LogicalResult MeanOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  auto shape = tensorType(getInput()).getShape();
  auto dims = normaliseDims(getLoc(), getOperationName(), getDims(), shape.size());
  if (failed(dims))
    return failure();
  int64_t count = 1;
  for (int64_t d : *dims)
    count *= shape[d];
  Value scaled = binary<DivOp>(b, getLoc(), resultGrads[0],
                               scalarConstant(b, getLoc(), count));
  operandGrads.assign(1, spread(b, getLoc(), scaled, getInput(), *dims));
  return success();
}

/// `dims` as a permutation of [0, rank), negative dims normalised.
static FailureOr<SmallVector<int64_t>>
permutation(std::optional<Location> loc, ArrayRef<int64_t> dims, int64_t rank) {
  if (static_cast<int64_t>(dims.size()) != rank)
    return (void)emitOptionalError(loc, "nn.permute: ", dims.size(),
                                   " dims for rank ", rank),
           failure();
  auto perm = normaliseDims(loc, "nn.permute", dims, rank);
  if (failed(perm))
    return failure();
  SmallVector<int64_t> out;
  for (int64_t d : dims)
    out.push_back(d < 0 ? d + rank : d);
  return out;
}

LogicalResult PermuteOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  auto shape = tensorType(a.getInput()).getShape();
  auto perm = permutation(loc, a.getDims(), shape.size());
  if (failed(perm))
    return failure();
  SmallVector<int64_t> out;
  for (int64_t d : *perm)
    out.push_back(shape[d]);
  types.push_back(RankedTensorType::get(out, Float32Type::get(ctx)));
  return success();
}

// d permute(x, p) = permute(dy, p^-1).
LogicalResult PermuteOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  auto perm = permutation(getLoc(), getDims(), tensorType(getInput()).getRank());
  if (failed(perm))
    return failure();
  SmallVector<int64_t> inverse(perm->size());
  for (size_t i = 0; i < perm->size(); ++i)
    inverse[(*perm)[i]] = i;
  operandGrads.assign(1, b.create<PermuteOp>(getLoc(), getInput().getType(),
                                             resultGrads[0], inverse));
  return success();
}
