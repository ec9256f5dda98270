// Verifiers and shape inference of the nn ops. Messages name the shapes
// involved, since they surface to users as model-file errors.
#include "ir/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace kiln::nn;

static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

static RankedTensorType f32Tensor(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

std::optional<SmallVector<int64_t>>
kiln::nn::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool kiln::nn::isBroadcastableTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  auto b = broadcastShapes(from, to);
  return b && ArrayRef<int64_t>(*b) == to;
}

bool kiln::nn::isValidReduction(StringRef r) {
  return r == "mean" || r == "sum" || r == "none";
}

//===----------------------------------------------------------------------===//
// linear / matmul
//===----------------------------------------------------------------------===//

static LogicalResult inferLinear(std::optional<Location> loc, Value input,
                                 Value weight, Value bias,
                                 SmallVectorImpl<Type> &types) {
  auto in = shapeOf(input), w = shapeOf(weight);
  if (in.empty())
    return emitOptionalError(loc, "nn.linear: input must have rank >= 1");
  if (w.size() != 2)
    return emitOptionalError(loc, "nn.linear: weight must be [out, in], got ",
                             shapeStr(w));
  if (in.back() != w[1])
    return emitOptionalError(loc, "nn.linear: input ", shapeStr(in),
                             " has ", in.back(),
                             " features but weight expects ", w[1]);
  if (bias && (shapeOf(bias).size() != 1 || shapeOf(bias)[0] != w[0]))
    return emitOptionalError(loc, "nn.linear: bias must be [", w[0],
                             "], got ", shapeStr(shapeOf(bias)));
  SmallVector<int64_t> out(in);
  out.back() = w[0];
  types.push_back(f32Tensor(input.getContext(), out));
  return success();
}

LogicalResult LinearOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  return inferLinear(loc, a.getInput(), a.getWeight(), a.getBias(), types);
}

LogicalResult MatmulOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  auto l = shapeOf(a.getLhs()), r = shapeOf(a.getRhs());
  if (l.size() != 2 || r.size() != 2)
    return emitOptionalError(loc, "nn.matmul: operands must be 2-D, got ",
                             shapeStr(l), " and ", shapeStr(r));
  int64_t m = a.getTransposeLhs() ? l[1] : l[0];
  int64_t kl = a.getTransposeLhs() ? l[0] : l[1];
  int64_t kr = a.getTransposeRhs() ? r[1] : r[0];
  int64_t n = a.getTransposeRhs() ? r[0] : r[1];
  if (kl != kr)
    return emitOptionalError(loc, "nn.matmul: contraction sizes differ (",
                             kl, " vs ", kr, ")");
  types.push_back(f32Tensor(ctx, {m, n}));
  return success();
}

//===----------------------------------------------------------------------===//
// flatten / reshape / broadcasting
//===----------------------------------------------------------------------===//

/// Normalises torch's negative dims; fails when out of range.
static FailureOr<std::pair<int64_t, int64_t>>
flattenRange(std::optional<Location> loc, int64_t rank, int64_t start,
             int64_t end) {
  int64_t r = std::max<int64_t>(rank, 1);
  int64_t s = start < 0 ? start + r : start;
  int64_t e = end < 0 ? end + r : end;
  if (s < 0 || s >= r || e < 0 || e >= r || s > e)
    return (void)emitOptionalError(loc, "nn.flatten: start_dim ", start,
                                   " / end_dim ", end,
                                   " out of range for rank ", rank),
           failure();
  return std::make_pair(s, e);
}

LogicalResult FlattenOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  auto in = shapeOf(a.getInput());
  auto range = flattenRange(loc, in.size(), a.getStartDim(), a.getEndDim());
  if (failed(range))
    return failure();
  if (in.empty()) {
    types.push_back(f32Tensor(ctx, {1}));
    return success();
  }
  SmallVector<int64_t> out(in.begin(), in.begin() + range->first);
  int64_t merged = 1;
  for (int64_t i = range->first; i <= range->second; ++i)
    merged *= in[i];
  out.push_back(merged);
  out.append(in.begin() + range->second + 1, in.end());
  types.push_back(f32Tensor(ctx, out));
  return success();
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

template <typename Op>
static LogicalResult inferBroadcastBinary(MLIRContext *ctx,
                                          std::optional<Location> loc,
                                          ValueRange operands,
                                          SmallVectorImpl<Type> &types) {
  auto l = shapeOf(operands[0]), r = shapeOf(operands[1]);
  auto out = broadcastShapes(l, r);
  if (!out)
    return emitOptionalError(loc, Op::getOperationName(), ": shapes ",
                             shapeStr(l), " and ", shapeStr(r),
                             " do not broadcast");
  types.push_back(f32Tensor(ctx, *out));
  return success();
}

#define KILN_BINARY_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,      \
      DictionaryAttr, OpaqueProperties, RegionRange,                           \
      SmallVectorImpl<Type> &types) {                                          \
    return inferBroadcastBinary<OP>(ctx, loc, operands, types);                \
  }
KILN_BINARY_INFER(AddOp)
KILN_BINARY_INFER(SubOp)
KILN_BINARY_INFER(MulOp)
#undef KILN_BINARY_INFER

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

//===----------------------------------------------------------------------===//
// losses
//===----------------------------------------------------------------------===//

static LogicalResult checkCrossEntropyOperands(std::optional<Location> loc,
                                               Value input, Value target,
                                               StringRef reduction,
                                               double smoothing) {
  auto x = shapeOf(input), t = shapeOf(target);
  if (x.size() != 2)
    return emitOptionalError(
        loc, "nn.cross_entropy_loss: input must be [N, C] logits, got ",
        shapeStr(x), " (spatial and unbatched inputs are not supported yet)");
  if (t.size() != 1 || t[0] != x[0])
    return emitOptionalError(loc, "nn.cross_entropy_loss: target must be [",
                             x[0], "] class indices, got ", shapeStr(t));
  if (!isValidReduction(reduction))
    return emitOptionalError(loc, "nn.cross_entropy_loss: reduction must be "
                                  "'mean', 'sum' or 'none', got '",
                             reduction, "'");
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    return emitOptionalError(
        loc, "nn.cross_entropy_loss: label_smoothing must be in [0, 1], got ",
        smoothing);
  return success();
}

static RankedTensorType lossType(MLIRContext *ctx, StringRef reduction,
                                 ArrayRef<int64_t> perElementShape) {
  if (reduction == "none")
    return f32Tensor(ctx, perElementShape);
  return f32Tensor(ctx, {});
}

LogicalResult CrossEntropyLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkCrossEntropyOperands(loc, a.getInput(), a.getTarget(),
                                       a.getReduction(),
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
                                       a.getReduction(),
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

static LogicalResult checkMse(std::optional<Location> loc, Value input,
                              Value target, StringRef reduction) {
  if (shapeOf(input) != shapeOf(target))
    return emitOptionalError(loc, "nn.mse_loss: input ",
                             shapeStr(shapeOf(input)), " and target ",
                             shapeStr(shapeOf(target)),
                             " must have the same shape");
  if (!isValidReduction(reduction))
    return emitOptionalError(loc, "nn.mse_loss: reduction must be 'mean', "
                                  "'sum' or 'none', got '",
                             reduction, "'");
  return success();
}

LogicalResult MseLossOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkMse(loc, a.getInput(), a.getTarget(), a.getReduction())))
    return failure();
  types.push_back(lossType(ctx, a.getReduction(), shapeOf(a.getInput())));
  return success();
}

LogicalResult MseLossBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  if (failed(checkMse(loc, a.getInput(), a.getTarget(), a.getReduction())))
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

//===----------------------------------------------------------------------===//
// optimizers
//===----------------------------------------------------------------------===//

LogicalResult SgdUpdateOp::verify() {
  auto paramType = getParam().getType();
  if (getGrad().getType() != paramType)
    return emitOpError("grad type ")
           << getGrad().getType() << " differs from param type " << paramType;
  double momentum = getMomentum().convertToDouble();
  bool hasBuffer = static_cast<bool>(getMomentumBuffer());
  if ((momentum != 0.0f) != hasBuffer)
    return emitOpError("a momentum buffer is required iff momentum != 0 "
                       "(momentum = ")
           << momentum << ")";
  if (hasBuffer && getMomentumBuffer().getType() != paramType)
    return emitOpError("momentum buffer type differs from param type");
  if (static_cast<bool>(getNewMomentumBuffer()) != hasBuffer)
    return emitOpError("new_momentum_buffer result must match the buffer "
                       "operand");
  if (getNewParam().getType() != paramType ||
      (hasBuffer && getNewMomentumBuffer().getType() != paramType))
    return emitOpError("results must have the param type ") << paramType;
  std::string problem =
      checkSgdOptions(momentum, getDampening().convertToDouble(),
                      getWeightDecay().convertToDouble(), getNesterov());
  if (!problem.empty())
    return emitOpError(problem);
  return success();
}

std::string kiln::nn::checkSgdOptions(double momentum, double dampening,
                                      double weightDecay, bool nesterov) {
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    return "nesterov requires momentum > 0 and zero dampening";
  if (momentum < 0.0 || weightDecay < 0.0)
    return "momentum and weight_decay must be >= 0";
  return "";
}

#define GET_OP_CLASSES
#include "ir/NNOps.cpp.inc"
