// The pooling family (NNPoolOps.td): shape inference, verifiers and the
// gradient rules of nn.max_pool and nn.sum_pool, and the verifiers of their
// adjoints.
#include "ir/NNBuilders.h"
#include "ir/PoolShapeRules.h"

using namespace mlir;
using namespace kiln::nn;
namespace rules = kiln::shape_rules;

namespace {

rules::Shape toShape(std::optional<ArrayRef<int64_t>> s) {
  return s ? rules::Shape(s->begin(), s->end()) : rules::Shape();
}

/// The windows from an op's (or adaptor's) attributes; "" or why they do
/// not describe windows: either output_size alone (adaptive) or all of
/// kernel_size, stride, padding and dilation.
template <typename OpOrAdaptor>
std::string windowsOf(OpOrAdaptor op, rules::PoolWindows &w) {
  bool fixed = op.getKernelSize() || op.getStride() || op.getPadding() ||
               op.getDilation() || op.getCeilMode();
  if (op.getOutputSize()) {
    if (fixed)
      return "output_size (adaptive windows) excludes kernel_size, stride, "
             "padding, dilation and ceil_mode";
    w.adaptive = true;
    w.outputSize = toShape(op.getOutputSize());
    return "";
  }
  if (!op.getKernelSize() || !op.getStride() || !op.getPadding() ||
      !op.getDilation())
    return "needs output_size or all of kernel_size, stride, padding and "
           "dilation";
  w.geometry = {toShape(op.getKernelSize()), toShape(op.getStride()),
                toShape(op.getPadding()), toShape(op.getDilation()),
                op.getCeilMode()};
  return "";
}

/// The pooled shape of `input`, or the error.
template <typename OpOrAdaptor>
rules::Inferred pooledShape(OpOrAdaptor op, ArrayRef<int64_t> input) {
  rules::PoolWindows w;
  std::string bad = windowsOf(op, w);
  if (!bad.empty())
    return rules::failure(bad);
  return rules::poolWindows(rules::Shape(input.begin(), input.end()), w);
}

/// Shared verifier of the adjoints: pooling the result type must give
/// `gradOutput`'s shape.
template <typename Op>
LogicalResult verifyAdjoint(Op op, ArrayRef<int64_t> gradOutput) {
  ArrayRef<int64_t> input = op.getType().getShape();
  rules::Inferred y = pooledShape(op, input);
  if (!y.ok())
    return op.emitOpError(y.error);
  if (ArrayRef<int64_t>(y.shape) != gradOutput)
    return op.emitOpError("pooling ")
           << shapeStr(input) << " gives " << shapeStr(y.shape)
           << ", not the grad_output shape " << shapeStr(gradOutput);
  return success();
}

template <typename Op> rules::PoolWindows windows(Op op) {
  rules::PoolWindows w;
  std::string bad = windowsOf(op, w);
  assert(bad.empty() && "windows of an unverified op");
  (void)bad;
  return w;
}

} // namespace

rules::PoolWindows MaxPoolOp::getWindows() { return windows(*this); }
rules::PoolWindows MaxPoolBackwardOp::getWindows() { return windows(*this); }
rules::PoolWindows SumPoolOp::getWindows() { return windows(*this); }
rules::PoolWindows SumPoolBackwardOp::getWindows() { return windows(*this); }

LogicalResult MaxPoolOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  rules::Inferred y = pooledShape(a, shapeOf(a.getInput()));
  if (!y.ok())
    return emitOptionalError(loc, "nn.max_pool: ", y.error);
  types.push_back(f32Tensor(ctx, y.shape));
  types.push_back(RankedTensorType::get(y.shape, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult SumPoolOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  rules::Inferred y = pooledShape(a, shapeOf(a.getInput()));
  if (!y.ok())
    return emitOptionalError(loc, "nn.sum_pool: ", y.error);
  types.push_back(f32Tensor(ctx, y.shape));
  return success();
}

LogicalResult MaxPoolBackwardOp::verify() {
  if (getIndices().getType().getShape() != getGradOutput().getType().getShape())
    return emitOpError("indices ")
           << shapeStr(getIndices().getType().getShape())
           << " must have the grad_output shape "
           << shapeStr(getGradOutput().getType().getShape());
  return verifyAdjoint(*this, getGradOutput().getType().getShape());
}

LogicalResult SumPoolBackwardOp::verify() {
  return verifyAdjoint(*this, getGradOutput().getType().getShape());
}

// y, i = max_pool(x):  dx = max_pool_backward(dy, i) (the indices carry no
// gradient).
LogicalResult MaxPoolOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needGrad,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needGrad[0] || !resultGrads[0])
    return success();
  operandGrads[0] = b.create<MaxPoolBackwardOp>(
      getLoc(), getInput().getType(), resultGrads[0], getIndices(),
      getKernelSizeAttr(), getStrideAttr(), getPaddingAttr(), getDilationAttr(),
      getCeilModeAttr(), getOutputSizeAttr());
  return success();
}

// y = sum_pool(x):  dx = sum_pool_backward(dy).
LogicalResult SumPoolOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needGrad,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (needGrad[0])
    operandGrads[0] = b.create<SumPoolBackwardOp>(
        getLoc(), getInput().getType(), resultGrads[0], getKernelSizeAttr(),
        getStrideAttr(), getPaddingAttr(), getDilationAttr(), getCeilModeAttr(),
        getOutputSizeAttr());
  return success();
}
