// The normalisation family (NNNormOps.td): shape inference and the gradient
// rule of nn.batch_norm, the verifier of nn.batch_norm_backward.
#include "ir/ChannelShape.h"
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

/// "" when `input` is [N, C, *] and each of `perChannel` is [C]; else why
/// not (`names` in the same order, for the message).
std::string checkChannels(ArrayRef<int64_t> input, ArrayRef<Value> perChannel,
                          ArrayRef<const char *> names) {
  if (input.size() < 2)
    return "expected an input of at least 2 dimensions [N, C, *], got " +
           shapeStr(input);
  for (auto [v, name] : llvm::zip(perChannel, names)) {
    ArrayRef<int64_t> s = shapeOf(v);
    if (s.size() != 1 || s[0] != input[1])
      return std::string(name) + " must be [" + std::to_string(input[1]) +
             "] for the input's " + std::to_string(input[1]) +
             " channels (dimension 1), got " + shapeStr(s);
  }
  return "";
}

/// Elements per channel of an [N, C, *] shape.
/// A [C] value viewed as [1, C, 1, ...] against an input of `rank`.
Value channelView(OpBuilder &b, Location loc, Value v, size_t rank) {
  SmallVector<int64_t> shape{1, shapeOf(v)[0]};
  shape.append(rank - 2, 1);
  return reshapeTo(b, loc, v, f32Tensor(b.getContext(), shape));
}

} // namespace

LogicalResult BatchNormOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  ArrayRef<int64_t> x = shapeOf(a.getInput());
  std::string bad =
      checkChannels(x, {a.getWeight(), a.getBias()}, {"weight", "bias"});
  if (!bad.empty())
    return emitOptionalError(loc, "nn.batch_norm: ", bad);
  types.push_back(a.getInput().getType());
  types.push_back(f32Tensor(ctx, {x[1]}));
  types.push_back(f32Tensor(ctx, {x[1]}));
  return success();
}

LogicalResult BatchNormBackwardOp::verify() {
  ArrayRef<int64_t> x = getInput().getType().getShape();
  if (getGradOutput().getType() != getInput().getType())
    return emitOpError("grad_output ")
           << shapeStr(getGradOutput().getType().getShape())
           << " must have the input's shape " << shapeStr(x);
  std::string bad = checkChannels(x, {getMean(), getVar(), getWeight()},
                                  {"mean", "var", "weight"});
  if (!bad.empty())
    return emitOpError(bad);
  if (getGradInput().getType() != getInput().getType() ||
      getGradWeight().getType() != getWeight().getType() ||
      getGradBias().getType() != getWeight().getType())
    return emitOpError("results must be the input's type and two [C] "
                       "tensors of the weight's type");
  return success();
}

// y, mean, var = batch_norm(x, w, b):
//   through y: dx, dw, db = batch_norm_backward(dy, x, mean, var, w);
//   through mean = sum(x) / n:                 dx += dmean / n;
//   through var = sum((x - mean)^2) / n:       dx += dvar * 2 (x - mean) / n
//   (the mean's own dependence drops out: the deviations sum to zero).
// The importer only reads mean and var for the running statistics, which
// reach no loss; the last two terms keep the rule exact for any use.
LogicalResult BatchNormOp::buildGradient(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needGrad,
                                         SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  operandGrads.assign(3, Value());
  Value dx;
  if (Value dy = resultGrads[0]) {
    auto backward = b.create<BatchNormBackwardOp>(
        loc, TypeRange{getInput().getType(), getWeight().getType(),
                       getBias().getType()},
        dy, getInput(), getMean(), getVar(), getWeight(), getEpsAttr(), getSyncAttr());
    dx = backward.getGradInput();
    operandGrads[1] = backward.getGradWeight();
    operandGrads[2] = backward.getGradBias();
  }
  size_t rank = shapeOf(getInput()).size();
  Value invCount;
  if (resultGrads[1] || resultGrads[2])
    invCount = scalarConstant(
        b, loc, 1.0 / static_cast<double>(valuesPerChannel(shapeOf(getInput()))));
  auto accumulate = [&](Value term) {
    if (dx) {
      dx = binary<AddOp>(b, loc, dx, term);
      return;
    }
    dx = term.getType() == getInput().getType()
             ? term
             : b.create<BroadcastToOp>(loc, getInput().getType(), term).getResult();
  };
  if (Value dmean = resultGrads[1])
    accumulate(binary<MulOp>(b, loc, channelView(b, loc, dmean, rank), invCount));
  if (Value dvar = resultGrads[2]) {
    Value centered =
        binary<SubOp>(b, loc, getInput(), channelView(b, loc, getMean(), rank));
    Value scale = binary<MulOp>(b, loc, channelView(b, loc, dvar, rank),
                                binary<MulOp>(b, loc, invCount,
                                              scalarConstant(b, loc, 2.0)));
    accumulate(binary<MulOp>(b, loc, centered, scale));
  }
  if (needGrad[0])
    operandGrads[0] = dx;
  if (!needGrad[1])
    operandGrads[1] = Value();
  if (!needGrad[2])
    operandGrads[2] = Value();
  return success();
}
