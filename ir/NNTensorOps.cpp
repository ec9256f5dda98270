// Shape inference, gradient rules and folders of reductions, layout,
// slicing and joining ops (NNTensorOps.td).
#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

#include "mlir/IR/PatternMatch.h"

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

LogicalResult AmaxOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       ValueRange operands, DictionaryAttr attrs,
                                       OpaqueProperties props,
                                       RegionRange regions,
                                       SmallVectorImpl<Type> &types) {
  return inferReduce<AmaxOp>(ctx, loc, operands, attrs, props, regions, types);
}

LogicalResult AminOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       ValueRange operands, DictionaryAttr attrs,
                                       OpaqueProperties props,
                                       RegionRange regions,
                                       SmallVectorImpl<Type> &types) {
  return inferReduce<AminOp>(ctx, loc, operands, attrs, props, regions, types);
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

/// amax / amin: dx = where(x == y, dy / count, 0), count being the number
/// of elements equal to the result in each reduced group.
static Value extremumGradient(OpBuilder &b, Location loc, Value dy, Value input,
                              Value result, ArrayRef<int64_t> dims) {
  MLIRContext *ctx = b.getContext();
  auto type = tensorType(input);
  Value atExtremum = b.create<CompareOp>(
      loc, RankedTensorType::get(type.getShape(), b.getI1Type()),
      ComparePredicate::eq, input, spread(b, loc, result, input, dims));
  Value zero = scalarConstant(b, loc, 0);
  Value ones = b.create<WhereOp>(loc, type, atExtremum,
                                 scalarConstant(b, loc, 1), zero);
  auto kept = f32Tensor(ctx, rules::reduce(shapeVector(input), dims.vec(), true).shape);
  Value count = b.create<SumOp>(loc, kept, ones, b.getDenseI64ArrayAttr(dims),
                                b.getUnitAttr());
  Value share = binary<DivOp>(b, loc, reshapeTo(b, loc, dy, kept), count);
  return b.create<WhereOp>(loc, type, atExtremum,
                           b.create<BroadcastToOp>(loc, type, share), zero);
}

LogicalResult AmaxOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  SmallVector<int64_t> dims = normalisedDims(getInput(), getDims());
  operandGrads.assign(1, extremumGradient(b, getLoc(), resultGrads[0],
                                          getInput(), getResult(), dims));
  return success();
}

LogicalResult AminOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  SmallVector<int64_t> dims = normalisedDims(getInput(), getDims());
  operandGrads.assign(1, extremumGradient(b, getLoc(), resultGrads[0],
                                          getInput(), getResult(), dims));
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
  if (in.getElementType() != out.getElementType())
    return emitOpError("cannot reshape ")
           << in.getElementType() << " elements to " << out.getElementType();
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
  if (getInput().getType().getElementType() != getType().getElementType())
    return emitOpError("cannot broadcast ")
           << getInput().getType().getElementType() << " elements to "
           << getType().getElementType();
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
// slice / slice_backward / concat
//===----------------------------------------------------------------------===//

static rules::SliceBounds boundsOf(ArrayRef<int64_t> start, ArrayRef<int64_t> end,
                                   ArrayRef<int64_t> step) {
  return {start.vec(), end.vec(), step.vec(), ""};
}

LogicalResult SliceOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  return typeFrom(rules::slice(shapeVector(a.getInput()),
                               boundsOf(a.getStart(), a.getEnd(), a.getStep())),
                  ctx, loc, getOperationName(), types);
}

// d slice(x) = dy written into zeros of x's shape at the same bounds.
LogicalResult SliceOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool>,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, b.create<SliceBackwardOp>(
                             getLoc(), getInput().getType(), resultGrads[0],
                             getStart(), getEnd(), getStep()));
  return success();
}

LogicalResult SliceBackwardOp::verify() {
  auto out = getType().getShape();
  rules::Inferred sliced = rules::slice(
      rules::Shape(out.begin(), out.end()), boundsOf(getStart(), getEnd(), getStep()));
  if (!sliced.ok())
    return emitOpError(sliced.error);
  if (ArrayRef<int64_t>(sliced.shape) != getInput().getType().getShape())
    return emitOpError("slicing the result shape ")
           << shapeStr(out) << " gives " << shapeStr(sliced.shape)
           << ", not the input shape "
           << shapeStr(getInput().getType().getShape());
  return success();
}

// The adjoint of a linear map's adjoint is the map: slice(dy) again.
LogicalResult SliceBackwardOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool>,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, b.create<SliceOp>(getLoc(), getInput().getType(),
                                           resultGrads[0], getStart(),
                                           getEnd(), getStep()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  std::vector<rules::Shape> shapes;
  for (Value v : a.getInputs())
    shapes.push_back(shapeVector(v));
  return typeFrom(rules::concat(shapes, a.getDim()), ctx, loc,
                  getOperationName(), types);
}

/// The verified op's dim in [0, rank).
static int64_t concatDim(ConcatOp op) {
  int64_t dim = op.getDim();
  return normalisedDims(op.getInputs().front(), dim).front();
}

// d concat(x_0, ..., x_n) = the slices of dy that each x_i filled.
LogicalResult ConcatOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needGrad,
                                      SmallVectorImpl<Value> &operandGrads) {
  int64_t dim = concatDim(*this);
  auto shape = getType().getShape();
  SmallVector<int64_t> start(shape.size(), 0), end(shape), step(shape.size(), 1);
  operandGrads.assign(getInputs().size(), Value());
  int64_t offset = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    int64_t size = shapeOf(input)[dim];
    start[dim] = offset;
    end[dim] = offset + size;
    offset += size;
    if (needGrad[i])
      operandGrads[i] = b.create<SliceOp>(getLoc(), input.getType(),
                                          resultGrads[0], start, end, step);
  }
  return success();
}

// No operand is differentiable: autodiff never asks for a gradient.
bool DetachOp::isDifferentiableOperand(unsigned) { return false; }

LogicalResult DetachOp::buildGradient(OpBuilder &, ArrayRef<Value>,
                                      ArrayRef<bool>,
                                      SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
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

// slice(slice(x)) -> one slice of x: element i of the outer slice is
// element s2 + i t2 of the inner one, i.e. s1 + (s2 + i t2) t1 of x.
// A slice whose result has the input's shape covers the whole tensor (a
// dimension of size >= 2 keeps all its elements only with start 0, end =
// size, step 1); so does slice_backward's.
OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<SliceOp>()) {
    SmallVector<int64_t> start, end, step;
    for (auto [i, size] : llvm::enumerate(getType().getShape())) {
      start.push_back(inner.getStart()[i] + getStart()[i] * inner.getStep()[i]);
      step.push_back(inner.getStep()[i] * getStep()[i]);
      end.push_back(size == 0 ? start.back()
                              : start.back() + (size - 1) * step.back() + 1);
    }
    getInputMutable().assign(inner.getInput());
    setStart(start);
    setEnd(end);
    setStep(step);
    if (getInput().getType() != getType())
      return getResult();
  }
  return getInput().getType() == getType() ? getInput() : Value();
}

OpFoldResult SliceBackwardOp::fold(FoldAdaptor) {
  return getInput().getType() == getType() ? getInput() : Value();
}

// concat of one tensor.
OpFoldResult ConcatOp::fold(FoldAdaptor) {
  return getInputs().size() == 1 ? getInputs().front() : Value();
}

namespace {
/// concat(concat(a, b), c) along one dim -> concat(a, b, c): the DSL records
/// torch.cat of n tensors as a chain of two-input cats (a graph node takes
/// a fixed number of inputs), and one op copies each element once.
struct MergeNestedConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    int64_t dim = concatDim(op);
    SmallVector<Value> inputs;
    bool merged = false;
    for (Value v : op.getInputs()) {
      auto inner = v.getDefiningOp<ConcatOp>();
      if (inner && concatDim(inner) == dim) {
        inputs.append(inner.getInputs().begin(), inner.getInputs().end());
        merged = true;
      } else {
        inputs.push_back(v);
      }
    }
    if (!merged)
      return failure();
    rewriter.replaceOpWithNewOp<ConcatOp>(op, op.getType(), inputs, op.getDim());
    return success();
  }
};
} // namespace

void ConcatOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                           MLIRContext *ctx) {
  patterns.add<MergeNestedConcat>(ctx);
}
