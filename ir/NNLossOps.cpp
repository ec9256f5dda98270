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

/// The cross entropy ops' result types, after checking their operands:
/// the loss (`withLoss`), then the logits' gradient (`withGrad`).
template <typename Adaptor>
static LogicalResult inferCrossEntropy(MLIRContext *ctx, std::optional<Location> loc,
                                       Adaptor a, bool withLoss, bool withGrad,
                                       SmallVectorImpl<Type> &types) {
  if (failed(checkCrossEntropyOperands(loc, a.getInput(), a.getTarget(),
                                       a.getLabelSmoothing().convertToDouble())))
    return failure();
  if (withLoss)
    types.push_back(lossType(ctx, a.getReduction(), {shapeOf(a.getInput())[0]}));
  if (withGrad)
    types.push_back(a.getInput().getType());
  return success();
}

LogicalResult CrossEntropyLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  return inferCrossEntropy(ctx, loc, Adaptor(operands, attrs, props, regions), true, false,
                           types);
}

LogicalResult CrossEntropyLossBackwardOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  return inferCrossEntropy(ctx, loc, Adaptor(operands, attrs, props, regions), false, true,
                           types);
}

LogicalResult CrossEntropyLossBackwardOp::verify() {
  auto expected = lossType(getContext(), getReduction(),
                           {getInput().getType().getShape()[0]});
  if (getGrad().getType() != expected)
    return emitOpError("grad must have the loss type ") << expected;
  return success();
}

LogicalResult CrossEntropyLossWithGradOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  return inferCrossEntropy(ctx, loc, Adaptor(operands, attrs, props, regions), true, true,
                           types);
}

LogicalResult CrossEntropyLossWithGradOp::verify() {
  if (getGrad().getType() != getLoss().getType())
    return emitOpError("grad must have the loss type ") << getLoss().getType();
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

std::optional<IndexBounds>
CrossEntropyLossWithGradOp::getIndexBounds(unsigned index) {
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

// d/dx = dy (x - y) / max(x (1 - x), 1e-12): aten's binary_cross_entropy
// backward, whose clamp keeps it finite where the clamped logs saturate.
LogicalResult BinaryCrossEntropyOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool>,
    SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value x = getInput();
  Value oneMinusX = binary<SubOp>(b, loc, scalarConstant(b, loc, 1), x);
  Value denom = binary<MaximumOp>(b, loc, binary<MulOp>(b, loc, x, oneMinusX),
                                  scalarConstant(b, loc, 1e-12));
  Value diff = binary<SubOp>(b, loc, x, getTarget());
  operandGrads.assign(2, Value());
  operandGrads[0] = binary<MulOp>(b, loc, resultGrads[0],
                                  binary<DivOp>(b, loc, diff, denom));
  return success();
}

bool BinaryCrossEntropyOp::isDifferentiableOperand(unsigned index) {
  return index == 0;
}

// nll_loss: input [N, C, d...] or [C]; the class dimension is 1, or 0
// unbatched (torch's nll_loss_nd).
static int64_t nllClassDim(ArrayRef<int64_t> input) {
  return input.size() == 1 ? 0 : 1;
}

static LogicalResult checkNll(std::optional<Location> loc, Value input,
                              Value target, Value weight) {
  auto x = shapeOf(input), t = shapeOf(target);
  if (x.empty())
    return emitOptionalError(loc, "nn.nll_loss: input must have a class "
                                  "dimension, got a scalar");
  SmallVector<int64_t> expected(x.begin(), x.end());
  expected.erase(expected.begin() + nllClassDim(x));
  if (ArrayRef<int64_t>(expected) != t)
    return emitOptionalError(loc, "nn.nll_loss: target must be ",
                             shapeStr(expected), " class indices for input ",
                             shapeStr(x), ", got ", shapeStr(t));
  int64_t classes = x[nllClassDim(x)];
  if (weight && shapeOf(weight) != ArrayRef<int64_t>{classes})
    return emitOptionalError(loc, "nn.nll_loss: weight must be [", classes,
                             "] (one per class), got ",
                             shapeStr(shapeOf(weight)));
  return success();
}

static RankedTensorType nllLossType(MLIRContext *ctx, Reduction reduction,
                                    Value target) {
  return lossType(ctx, reduction, shapeOf(target));
}

LogicalResult NllLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkNll(loc, a.getInput(), a.getTarget(), a.getWeight())))
    return failure();
  types.push_back(nllLossType(ctx, a.getReduction(), a.getTarget()));
  return success();
}

LogicalResult NllLossBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkNll(loc, a.getInput(), a.getTarget(), a.getWeight())))
    return failure();
  types.push_back(a.getInput().getType());
  return success();
}

LogicalResult NllLossBackwardOp::verify() {
  auto expected = nllLossType(getContext(), getReduction(), getTarget());
  if (getGrad().getType() != expected)
    return emitOpError("grad must have the loss type ") << expected;
  return success();
}

static IndexBounds nllClassIndices(Value input, int64_t ignoreIndex) {
  auto x = shapeOf(input);
  return {0, x[nllClassDim(x)], ignoreIndex};
}

std::optional<IndexBounds> NllLossOp::getIndexBounds(unsigned index) {
  if (index != getTargetMutable().getOperandNumber())
    return std::nullopt;
  return nllClassIndices(getInput(), getIgnoreIndex());
}

std::optional<IndexBounds> NllLossBackwardOp::getIndexBounds(unsigned index) {
  if (index != getTargetMutable().getOperandNumber())
    return std::nullopt;
  return nllClassIndices(getInput(), getIgnoreIndex());
}

LogicalResult NllLossOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  operandGrads[0] = b.create<NllLossBackwardOp>(
      getLoc(), getInput().getType(), resultGrads[0], getInput(), getTarget(),
      getWeight(), getReductionAttr(), getIgnoreIndexAttr());
  return success();
}

// The weight is a constant of the loss: torch does not differentiate it.
bool NllLossOp::isDifferentiableOperand(unsigned index) { return index == 0; }

// ---- CTC loss -------------------------------------------------------------

/// log_probs [T, N, C], targets [N, S] or concatenated [S] (S >= 1),
/// lengths [N], blank in [0, C).
static LogicalResult checkCtcOperands(std::optional<Location> loc, Value logProbs,
                                      Value targets, Value inputLengths,
                                      Value targetLengths, int64_t blank) {
  auto lp = shapeOf(logProbs), t = shapeOf(targets);
  if (lp.size() != 3)
    return emitOptionalError(loc, "nn.ctc_loss: log_probs must be [T, N, C], got ",
                             shapeStr(lp));
  bool padded = t.size() == 2 && t[0] == lp[1] && t[1] >= 1;
  bool concatenated = t.size() == 1 && t[0] >= 1;
  if (!padded && !concatenated)
    return emitOptionalError(loc, "nn.ctc_loss: targets must be [", lp[1],
                             ", S] labels (padded) or [S] (concatenated) with S >= 1, got ",
                             shapeStr(t));
  for (auto [name, v] : {std::pair<const char *, Value>{"input_lengths", inputLengths},
                         {"target_lengths", targetLengths}})
    if (shapeOf(v).size() != 1 || shapeOf(v)[0] != lp[1])
      return emitOptionalError(loc, "nn.ctc_loss: ", name, " must be [", lp[1],
                               "], got ", shapeStr(shapeOf(v)));
  if (blank < 0 || blank >= lp[2])
    return emitOptionalError(loc, "nn.ctc_loss: blank must be in [0, ", lp[2],
                             "), got ", blank);
  return success();
}

LogicalResult CtcLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkCtcOperands(loc, a.getLogProbs(), a.getTargets(),
                              a.getInputLengths(), a.getTargetLengths(),
                              a.getBlank())))
    return failure();
  types.push_back(f32Tensor(ctx, {shapeOf(a.getLogProbs())[1]}));
  return success();
}

LogicalResult CtcLossBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkCtcOperands(loc, a.getLogProbs(), a.getTargets(),
                              a.getInputLengths(), a.getTargetLengths(),
                              a.getBlank())))
    return failure();
  types.push_back(a.getLogProbs().getType());
  return success();
}

LogicalResult CtcLossBackwardOp::verify() {
  auto expected = f32Tensor(getContext(), {getLogProbs().getType().getShape()[1]});
  if (getGrad().getType() != expected)
    return emitOpError("grad must have the per-sample loss type ") << expected;
  return success();
}

bool CtcLossOp::isDifferentiableOperand(unsigned index) { return index == 0; }

LogicalResult CtcLossOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool>,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(4, Value());
  operandGrads[0] = b.create<CtcLossBackwardOp>(
      getLoc(), resultGrads[0], getLogProbs(), getTargets(), getInputLengths(),
      getTargetLengths(), getBlankAttr(), getZeroInfinityAttr());
  return success();
}

/// Targets in [0, C) (torch reads any label, the blank included), input
/// lengths in [1, T] (torch 1.13 reads uninitialised memory for 0), target
/// lengths in [0, S] (torch's "Expected tensor to have size at least").
static std::optional<IndexBounds> ctcBounds(unsigned index, Value logProbs,
                                            Value targets) {
  auto lp = shapeOf(logProbs);
  switch (index) {
  case 0: // targets (operand numbers as in ctc_loss)
    return IndexBounds{0, lp[2], std::nullopt};
  case 1:
    return IndexBounds{1, lp[0] + 1, std::nullopt};
  case 2: // S: the padded rows' width, or the concatenated labels' count
    return IndexBounds{0, shapeOf(targets).back() + 1, std::nullopt};
  default:
    return std::nullopt;
  }
}

std::optional<IndexBounds> CtcLossOp::getIndexBounds(unsigned index) {
  if (index == 0)
    return std::nullopt;
  return ctcBounds(index - 1, getLogProbs(), getTargets());
}

std::optional<IndexBounds> CtcLossBackwardOp::getIndexBounds(unsigned index) {
  if (index < 2)
    return std::nullopt;
  return ctcBounds(index - 2, getLogProbs(), getTargets());
}
