// The pooling family (NNPoolOps.td): shape inference, verifiers and the
// gradient rules of nn.max_pool, nn.sum_pool, nn.max_unpool and
// nn.fractional_max_pool, and the verifiers of their adjoints.
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

/// Shared by nn.max_unpool and its adjoint: `values` [N, C, *in] and
/// `indices` of the same shape, `plane` [N, C, *out] of the same rank, N
/// and C.
static LogicalResult verifyUnpool(Operation *op, ArrayRef<int64_t> values,
                                  ArrayRef<int64_t> indices,
                                  ArrayRef<int64_t> plane) {
  if (values != indices)
    return op->emitOpError("indices ")
           << shapeStr(indices) << " must have the shape of the values "
           << shapeStr(values);
  if (values.size() < 3 || values.size() > 5 || plane.size() != values.size() ||
      plane[0] != values[0] || plane[1] != values[1])
    return op->emitOpError("expected [N, C, *in] values and an [N, C, *out] "
                           "result of the same rank (1 to 3 spatial "
                           "dimensions), got ")
           << shapeStr(values) << " and " << shapeStr(plane);
  return success();
}

LogicalResult MaxUnpoolOp::verify() {
  return verifyUnpool(*this, getInput().getType().getShape(),
                      getIndices().getType().getShape(), getType().getShape());
}

LogicalResult MaxUnpoolBackwardOp::verify() {
  return verifyUnpool(*this, getType().getShape(),
                      getIndices().getType().getShape(),
                      getGradOutput().getType().getShape());
}

bool MaxUnpoolOp::isDifferentiableOperand(unsigned index) {
  return index == getInputMutable().getOperandNumber();
}

// torch's indices are flat in the result's (n, c) plane: [0, prod(out)).
std::optional<IndexBounds> MaxUnpoolOp::getIndexBounds(unsigned index) {
  if (index != getIndicesMutable().getOperandNumber())
    return std::nullopt;
  int64_t plane = 1;
  for (int64_t d : getType().getShape().drop_front(2))
    plane *= d;
  return IndexBounds{0, plane, std::nullopt};
}

// y = max_unpool(x, i):  dx = max_unpool_backward(dy, i).
LogicalResult MaxUnpoolOp::buildGradient(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needGrad,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  if (needGrad[0])
    operandGrads[0] = b.create<MaxUnpoolBackwardOp>(
        getLoc(), getInput().getType(), resultGrads[0], getIndices());
  return success();
}

LogicalResult FractionalMaxPoolOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  auto shape = [](Value v) {
    auto s = shapeOf(v);
    return rules::Shape(s.begin(), s.end());
  };
  rules::Inferred y = rules::fractionalPool(
      shape(a.getInput()), shape(a.getSamples()), toShape(a.getKernelSize()),
      toShape(a.getOutputSize()));
  if (!y.ok())
    return emitOptionalError(loc, "nn.fractional_max_pool: ", y.error);
  types.push_back(f32Tensor(ctx, y.shape));
  types.push_back(RankedTensorType::get(y.shape, IntegerType::get(ctx, 64)));
  return success();
}

bool FractionalMaxPoolOp::isDifferentiableOperand(unsigned index) {
  return index == getInputMutable().getOperandNumber();
}

// y, i = fractional_max_pool(x, u):  dx = fractional_max_pool_backward(dy, i)
// (the samples and the indices carry no gradient).
LogicalResult FractionalMaxPoolOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool> needGrad,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  if (needGrad[0] && resultGrads[0])
    operandGrads[0] = b.create<FractionalMaxPoolBackwardOp>(
        getLoc(), getInput().getType(), resultGrads[0], getIndices());
  return success();
}

// The result is the pooled input: [N, C, *in] for [N, C, *out] grad_output
// and indices, 2 or 3 spatial dimensions.
LogicalResult FractionalMaxPoolBackwardOp::verify() {
  ArrayRef<int64_t> dy = getGradOutput().getType().getShape();
  ArrayRef<int64_t> in = getType().getShape();
  if (getIndices().getType().getShape() != dy)
    return emitOpError("indices ")
           << shapeStr(getIndices().getType().getShape())
           << " must have the grad_output shape " << shapeStr(dy);
  if ((dy.size() != 4 && dy.size() != 5) || in.size() != dy.size() ||
      in[0] != dy[0] || in[1] != dy[1])
    return emitOpError("expected [N, C, *out] grad_output and an [N, C, *in] "
                       "result of the same rank (2 or 3 spatial dimensions), got ")
           << shapeStr(dy) << " and " << shapeStr(in);
  return success();
}
