// Shape inference, gradient rules and folders of reductions and layout ops
// (NNTensorOps.td).
#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

using namespace mlir;
using namespace kiln::nn;

namespace rules = kiln::shape_rules;

/// A shape rule's result as the op's type, or its error on `loc`.
static LogicalResult typeFrom(const rules::Inferred &r, MLIRContext *ctx,
                              std::optional<Location> loc, StringRef op,
                              SmallVectorImpl<Type> &types) {
  if (!r.ok())
    return emitOptionalError(loc, op, ": ", r.error);
  types.push_back(f32Tensor(ctx, r.shape));
  return success();
}

static rules::Shape shapeVector(Value v) {
  auto s = shapeOf(v);
  return rules::Shape(s.begin(), s.end());
}

/// The verified op's dims, normalised (dims were checked at creation).
static SmallVector<int64_t> normalisedDims(Value input, ArrayRef<int64_t> dims) {
  rules::Inferred d = rules::normaliseDims(shapeVector(input), dims.vec());
  return SmallVector<int64_t>(d.shape.begin(), d.shape.end());
}

template <typename Op>
static LogicalResult inferReduce(MLIRContext *ctx, std::optional<Location> loc,
                                 ValueRange operands, DictionaryAttr attrs,
                                 OpaqueProperties props, RegionRange regions,
                                 SmallVectorImpl<Type> &types) {
  typename Op::Adaptor a(operands, attrs, props, regions);
  return typeFrom(rules::reduce(shapeVector(a.getInput()), a.getDims().vec(),
                                a.getKeepdim()),
                  ctx, loc, Op::getOperationName(), types);
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
  rules::Inferred kept = rules::reduce(shapeVector(input), dims.vec(), true);
  return b.create<BroadcastToOp>(
      loc, tensorType(input),
      reshapeTo(b, loc, dy, f32Tensor(b.getContext(), kept.shape)));
}

// d sum(x) = dy broadcast over the reduced dims.
LogicalResult SumOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool>,
                                   SmallVectorImpl<Value> &operandGrads) {
  SmallVector<int64_t> dims = normalisedDims(getInput(), getDims());
  operandGrads.assign(1, spread(b, getLoc(), resultGrads[0], getInput(), dims));
  return success();
}

// d mean(x) = dy / count broadcast over the reduced dims.
LogicalResult MeanOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  SmallVector<int64_t> dims = normalisedDims(getInput(), getDims());
  int64_t count = 1;
  for (int64_t d : dims)
    count *= shapeOf(getInput())[d];
  Value scaled = binary<DivOp>(b, getLoc(), resultGrads[0],
                               scalarConstant(b, getLoc(), count));
  operandGrads.assign(1, spread(b, getLoc(), scaled, getInput(), dims));
  return success();
}

LogicalResult PermuteOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  return typeFrom(rules::permute(shapeVector(a.getInput()), a.getDims().vec()),
                  ctx, loc, getOperationName(), types);
}

// d permute(x, p) = permute(dy, p^-1).
LogicalResult PermuteOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  int64_t rank = getDims().size();
  SmallVector<int64_t> inverse(rank);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = getDims()[i];
    inverse[d < 0 ? d + rank : d] = i;
  }
  operandGrads.assign(1, b.create<PermuteOp>(getLoc(), getInput().getType(),
                                             resultGrads[0], inverse));
  return success();
}

//===----------------------------------------------------------------------===//
// flatten / reshape / broadcasting
//===----------------------------------------------------------------------===//

LogicalResult FlattenOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  return typeFrom(rules::flatten(shapeVector(a.getInput()), a.getStartDim(),
                                 a.getEndDim()),
                  ctx, loc, getOperationName(), types);
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeStr(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << shapeStr(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}
LogicalResult SumToSizeOp::verify() {
  auto in = getInput().getType().getShape(), out = getType().getShape();
  if (!isBroadcastableTo(out, in))
    return emitOpError("result shape ")
           << shapeStr(out) << " does not broadcast to input shape "
           << shapeStr(in);
  return success();
}

LogicalResult BroadcastToOp::verify() {
  auto in = getInput().getType().getShape(), out = getType().getShape();
  if (!isBroadcastableTo(in, out))
    return emitOpError("input shape ")
           << shapeStr(in) << " does not broadcast to " << shapeStr(out);
  return success();
}

LogicalResult FlattenOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(
      1, reshapeTo(b, getLoc(), resultGrads[0], getInput().getType()));
  return success();
}

LogicalResult ReshapeOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(
      1, reshapeTo(b, getLoc(), resultGrads[0], getInput().getType()));
  return success();
}

LogicalResult SumToSizeOp::buildGradient(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool>,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, b.create<BroadcastToOp>(getLoc(), getInput().getType(),
                                                 resultGrads[0]));
  return success();
}

LogicalResult BroadcastToOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool>,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(
      1, sumTo(b, getLoc(), resultGrads[0], getInput().getType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Folders and canonicalization patterns: each removes an op that does
// nothing or merges two ops into one.
//===----------------------------------------------------------------------===//

// reshape(reshape(x)) -> reshape(x); reshape to the input's own type -> x.
OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    if (getInput().getType() != getType())
      return getResult();
  }
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

// Same type in and out: nothing to sum / broadcast.
OpFoldResult SumToSizeOp::fold(FoldAdaptor) {
  return getInput().getType() == getType() ? getInput() : Value();
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor) {
  return getInput().getType() == getType() ? getInput() : Value();
}

// The identity permutation.
OpFoldResult PermuteOp::fold(FoldAdaptor) {
  int64_t rank = getType().getRank();
  for (auto [i, d] : llvm::enumerate(getDims()))
    if ((d < 0 ? d + rank : d) != static_cast<int64_t>(i))
      return {};
  return getInput();
}

