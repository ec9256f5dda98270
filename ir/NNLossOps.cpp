// The loss family (NNLossOps.td): shape inference, verifiers and gradient
// rules. Messages name the shapes: they surface as model-file errors.
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

static LogicalResult checkCrossEntropyOperands(std::optional<Location> loc,
                                               Value input, Value target,
                                               double smoothing) {
  auto x = shapeOf(input), t = shapeOf(target);
  if (x.size() != 2)
    return emitOptionalError(
        loc, "nn.cross_entropy_loss: input must be [N, C] logits, got ",
        shapeStr(x), " (spatial and unbatched inputs are not supported yet)");
  if (t.size() != 1 || t[0] != x[0])
    return emitOptionalError(loc, "nn.cross_entropy_loss: target must be [",
                             x[0], "] class indices, got ", shapeStr(t));
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    return emitOptionalError(
        loc, "nn.cross_entropy_loss: label_smoothing must be in [0, 1], got ",
        smoothing);
  return success();
}

static RankedTensorType lossType(MLIRContext *ctx, Reduction reduction,
                                 ArrayRef<int64_t> perElementShape) {
  if (reduction == Reduction::none)
    return f32Tensor(ctx, perElementShape);
  return f32Tensor(ctx, {});
}

LogicalResult CrossEntropyLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkCrossEntropyOperands(loc, a.getInput(), a.getTarget(),
                                       a.getLabelSmoothing().convertToDouble())))
    return failure();
  types.push_back(
      lossType(ctx, a.getReduction(), {shapeOf(a.getInput())[0]}));
  return success();
}

LogicalResult CrossEntropyLossBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkCrossEntropyOperands(loc, a.getInput(), a.getTarget(),
                                       a.getLabelSmoothing().convertToDouble())))
    return failure();
  types.push_back(a.getInput().getType());
  return success();
}

LogicalResult CrossEntropyLossBackwardOp::verify() {
  auto expected = lossType(getContext(), getReduction(),
                           {getInput().getType().getShape()[0]});
  if (getGrad().getType() != expected)
    return emitOpError("grad must have the loss type ") << expected;
  return success();
}

// Class indices: [0, C) or ignore_index, as torch's nll_loss checks them.
static IndexBounds classIndices(Value input, int64_t ignoreIndex) {
  return {0, shapeOf(input)[1], ignoreIndex};
}

std::optional<IndexBounds> CrossEntropyLossOp::getIndexBounds(unsigned index) {
  if (index != getTargetMutable().getOperandNumber())
    return std::nullopt;
  return classIndices(getInput(), getIgnoreIndex());
}

std::optional<IndexBounds>
CrossEntropyLossBackwardOp::getIndexBounds(unsigned index) {
  if (index != getTargetMutable().getOperandNumber())
    return std::nullopt;
  return classIndices(getInput(), getIgnoreIndex());
}

static LogicalResult checkMse(std::optional<Location> loc, Value input,
                              Value target) {
  if (shapeOf(input) != shapeOf(target))
    return emitOptionalError(loc, "nn.mse_loss: input ",
                             shapeStr(shapeOf(input)), " and target ",
                             shapeStr(shapeOf(target)),
                             " must have the same shape");
  return success();
}

LogicalResult MseLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkMse(loc, a.getInput(), a.getTarget())))
    return failure();
  types.push_back(lossType(ctx, a.getReduction(), shapeOf(a.getInput())));
  return success();
}

LogicalResult MseLossBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkMse(loc, a.getInput(), a.getTarget())))
    return failure();
  types.push_back(a.getInput().getType());
  return success();
}

LogicalResult MseLossBackwardOp::verify() {
  auto expected = lossType(getContext(), getReduction(),
                           getInput().getType().getShape());
  if (getGrad().getType() != expected)
    return emitOpError("grad must have the loss type ") << expected;
  return success();
}


LogicalResult CrossEntropyLossOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool>,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  operandGrads[0] = b.create<CrossEntropyLossBackwardOp>(
      getLoc(), resultGrads[0], getInput(), getTarget(), getReductionAttr(),
      getLabelSmoothingAttr(), getIgnoreIndexAttr());
  return success();
}

LogicalResult MseLossOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  operandGrads[0] = b.create<MseLossBackwardOp>(
      getLoc(), resultGrads[0], getInput(), getTarget(), getReductionAttr());
  return success();
}

// The target is data: torch would differentiate it, Kiln treats it as an
// input (documented in the op description).
bool MseLossOp::isDifferentiableOperand(unsigned index) { return index == 0; }
