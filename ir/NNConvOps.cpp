// The convolution family (NNConvOps.td): shape inference, verifiers and the
// gradient rules of nn.conv and nn.conv_backward_input (the transposed
// convolution), and the verifiers of the two adjoints.
#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

using namespace mlir;
using namespace kiln::nn;
namespace rules = kiln::shape_rules;

namespace {

rules::Shape toShape(ArrayRef<int64_t> s) { return rules::Shape(s.begin(), s.end()); }

/// The geometry from the attributes; "" or why they do not describe one
/// (padding with neither one nor two values per spatial dimension).
std::string geometryOf(ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                       ArrayRef<int64_t> dilation, int64_t groups,
                       rules::ConvGeometry &g) {
  size_t r = stride.size();
  g.stride = toShape(stride);
  g.dilation = toShape(dilation);
  g.groups = groups;
  if (padding.size() == r) {
    g.padLow = g.padHigh = toShape(padding);
  } else if (padding.size() == 2 * r) {
    g.padLow = toShape(padding.take_front(r));
    g.padHigh = toShape(padding.drop_front(r));
  } else {
    return "padding needs " + std::to_string(r) + " values (both sides) or " +
           std::to_string(2 * r) + " (low sides, then high sides), got " +
           std::to_string(padding.size());
  }
  return "";
}

/// The convolution's result shape for `input` and `weight`, or the error.
rules::Inferred convShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                          ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                          ArrayRef<int64_t> dilation, int64_t groups) {
  rules::ConvGeometry g;
  std::string bad = geometryOf(stride, padding, dilation, groups, g);
  if (!bad.empty())
    return rules::failure(bad);
  return rules::conv(toShape(input), toShape(weight), g);
}

/// Shared verifier of the adjoints: the convolution of `input` with
/// `weight` must produce `gradOutput`'s shape.
LogicalResult verifyAdjoint(Operation *op, ArrayRef<int64_t> input,
                            ArrayRef<int64_t> weight,
                            ArrayRef<int64_t> gradOutput,
                            ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                            ArrayRef<int64_t> dilation, int64_t groups) {
  rules::Inferred y = convShape(input, weight, stride, padding, dilation, groups);
  if (!y.ok())
    return op->emitOpError(y.error);
  if (ArrayRef<int64_t>(y.shape) != gradOutput)
    return op->emitOpError("convolving input ")
           << shapeStr(input) << " with weight " << shapeStr(weight)
           << " gives " << shapeStr(y.shape) << ", not the grad_output shape "
           << shapeStr(gradOutput);
  return success();
}

template <typename Op> rules::ConvGeometry geometry(Op op) {
  rules::ConvGeometry g;
  std::string bad = geometryOf(op.getStride(), op.getPadding(),
                               op.getDilation(), op.getGroups(), g);
  assert(bad.empty() && "geometry of an unverified op");
  (void)bad;
  return g;
}

} // namespace

rules::ConvGeometry ConvOp::getGeometry() { return geometry(*this); }
rules::ConvGeometry ConvBackwardInputOp::getGeometry() { return geometry(*this); }
rules::ConvGeometry ConvBackwardWeightOp::getGeometry() { return geometry(*this); }

LogicalResult ConvOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  auto x = shapeOf(a.getInput()), w = shapeOf(a.getWeight());
  rules::Inferred y = convShape(x, w, a.getStride(), a.getPadding(),
                                a.getDilation(), a.getGroups());
  if (!y.ok())
    return emitOptionalError(loc, "nn.conv: ", y.error);
  if (Value bias = a.getBias())
    if (shapeOf(bias).size() != 1 || shapeOf(bias)[0] != w[0])
      return emitOptionalError(loc, "nn.conv: bias must be [", w[0], "], got ",
                               shapeStr(shapeOf(bias)));
  types.push_back(f32Tensor(ctx, y.shape));
  return success();
}

LogicalResult ConvBackwardInputOp::verify() {
  return verifyAdjoint(*this, getType().getShape(),
                       getWeight().getType().getShape(),
                       getGradOutput().getType().getShape(), getStride(),
                       getPadding(), getDilation(), getGroups());
}

LogicalResult ConvBackwardWeightOp::verify() {
  return verifyAdjoint(*this, getInput().getType().getShape(),
                       getType().getShape(),
                       getGradOutput().getType().getShape(), getStride(),
                       getPadding(), getDilation(), getGroups());
}

// y = conv(x, w) + b:  dx = conv_backward_input(dy, w),
// dw = conv_backward_weight(x, dy),  db = sum of dy over every dim but 1.
LogicalResult ConvOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needGrad,
                                    SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  operandGrads.assign(getNumOperands(), Value());
  if (needGrad[0])
    operandGrads[0] = b.create<ConvBackwardInputOp>(
        loc, getInput().getType(), dy, getWeight(), getStrideAttr(),
        getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  if (needGrad[1])
    operandGrads[1] = b.create<ConvBackwardWeightOp>(
        loc, getWeight().getType(), getInput(), dy, getStrideAttr(),
        getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  if (getBias() && needGrad[2]) {
    SmallVector<int64_t> dims{0};
    for (int64_t d = 2, e = tensorType(dy).getRank(); d < e; ++d)
      dims.push_back(d);
    operandGrads[2] = b.create<SumOp>(loc, getBias().getType(), dy,
                                      b.getDenseI64ArrayAttr(dims),
                                      /*keepdim=*/nullptr);
  }
  return success();
}

// dx = conv_backward_input(dy, w) is linear in dy and in w; with G the
// gradient of dx (dx's shape):  d(dy) = conv(G, w),
// d(w) = conv_backward_weight(G, dy)  (<G, A_w^T dy> = <A_w G, dy>).
// Used by the transposed convolutions (frontend/import/ConvTranspose.cpp).
LogicalResult ConvBackwardInputOp::buildGradient(
    OpBuilder &b, ArrayRef<Value> resultGrads, ArrayRef<bool> needGrad,
    SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value g = resultGrads[0];
  operandGrads.assign(getNumOperands(), Value());
  if (needGrad[0])
    operandGrads[0] = b.create<ConvOp>(loc, getGradOutput().getType(), g,
                                       getWeight(), /*bias=*/Value(),
                                       getStrideAttr(), getPaddingAttr(),
                                       getDilationAttr(), getGroupsAttr());
  if (needGrad[1])
    operandGrads[1] = b.create<ConvBackwardWeightOp>(
        loc, getWeight().getType(), g, getGradOutput(), getStrideAttr(),
        getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  return success();
}
