// Decompositions of the composite activations (NNActivationOps.td) into
// primitive nn ops; nn-decompose applies them before autodiff.
#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;
using namespace kiln::nn;

// none: gelu(x) = x/2 (1 + erf(x / sqrt 2))
// tanh: gelu(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
FailureOr<SmallVector<Value>> GeluOp::decompose(OpBuilder &b) {
  Location loc = getLoc();
  Value x = getInput();
  auto constant = [&](double v) { return scalarConstant(b, loc, v); };
  Value inner;
  if (getApproximate() == GeluApproximation::none) {
    inner = b.create<ErfOp>(loc, binary<MulOp>(b, loc, x, constant(M_SQRT1_2)));
  } else {
    Value cube = binary<MulOp>(b, loc, binary<MulOp>(b, loc, x, x), x);
    Value poly = binary<AddOp>(b, loc, x,
                               binary<MulOp>(b, loc, cube, constant(0.044715)));
    inner = b.create<TanhOp>(
        loc, binary<MulOp>(b, loc, poly, constant(std::sqrt(2.0 / M_PI))));
  }
  Value half = binary<MulOp>(b, loc, x, constant(0.5));
  return SmallVector<Value>{
      binary<MulOp>(b, loc, half, binary<AddOp>(b, loc, inner, constant(1)))};
}

LogicalResult ReluOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, b.create<ThresholdBackwardOp>(
                             getLoc(), resultGrads[0], getInput(),
                             b.getF32FloatAttr(0.0f)));
  return success();
}


// silu(x) = x * sigmoid(x)
FailureOr<SmallVector<Value>> SiluOp::decompose(OpBuilder &b) {
  Value x = getInput();
  return SmallVector<Value>{
      binary<MulOp>(b, getLoc(), x, b.create<SigmoidOp>(getLoc(), x))};
}
