// Reverse-mode gradient rules (GradientOpInterface) of the differentiable
// nn ops. Each rule builds nn ops only, so the backward graph goes through
// the same verification, fusion and lowering as the forward graph.
#include "ir/NNBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace kiln::nn;

/// `v` as a 2-D [prod(leading dims), last dim] tensor.
static Value collapseToMatrix(OpBuilder &b, Location loc, Value v) {
  auto type = tensorType(v);
  int64_t last = type.getShape().back();
  int64_t rows = type.getNumElements() / std::max<int64_t>(last, 1);
  return reshapeTo(b, loc, v,
                   RankedTensorType::get({rows, last}, type.getElementType()));
}

// y = x W^T + b:  dx = dy W,  dW = dy^T x,  db = sum of dy over rows.
LogicalResult LinearOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needGrad,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = collapseToMatrix(b, loc, resultGrads[0]);
  operandGrads.assign(getNumOperands(), Value());
  if (needGrad[0]) {
    Value dx = b.create<MatmulOp>(loc, dy, getWeight(), false, false);
    operandGrads[0] = reshapeTo(b, loc, dx, getInput().getType());
  }
  if (needGrad[1]) {
    Value x = collapseToMatrix(b, loc, getInput());
    operandGrads[1] = b.create<MatmulOp>(loc, dy, x, /*transpose_lhs=*/true,
                                         /*transpose_rhs=*/false);
  }
  if (getBias() && needGrad[2])
    operandGrads[2] = sumTo(b, loc, dy, getBias().getType());
  return success();
}

// C = op(A) op(B):  d op(A) = dC op(B)^T,  d op(B) = op(A)^T dC, transposed
// back when the operand was used transposed.
LogicalResult MatmulOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needGrad,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dc = resultGrads[0];
  bool ta = getTransposeLhs(), tb = getTransposeRhs();
  operandGrads.assign(2, Value());
  if (needGrad[0])
    operandGrads[0] =
        ta ? b.create<MatmulOp>(loc, getRhs(), dc, tb, true).getResult()
           : b.create<MatmulOp>(loc, dc, getRhs(), false, !tb).getResult();
  if (needGrad[1])
    operandGrads[1] =
        tb ? b.create<MatmulOp>(loc, dc, getLhs(), true, ta).getResult()
           : b.create<MatmulOp>(loc, getLhs(), dc, !ta, false).getResult();
  return success();
}

LogicalResult ReluOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool>,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, b.create<ThresholdBackwardOp>(
                             getLoc(), resultGrads[0], getInput(),
                             b.getF32FloatAttr(0.0f)));
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

LogicalResult AddOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool> needGrad,
                                   SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  for (unsigned i = 0; i < 2; ++i)
    if (needGrad[i])
      operandGrads[i] = sumTo(b, getLoc(), resultGrads[0],
                              tensorType(getOperand(i)));
  return success();
}

// d(a - b) = (dy, -dy), each summed to its operand's shape.
LogicalResult SubOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool> needGrad,
                                   SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  operandGrads.assign(2, Value());
  if (needGrad[0])
    operandGrads[0] = sumTo(b, loc, resultGrads[0], tensorType(getLhs()));
  if (needGrad[1]) {
    Value neg = b.create<MulOp>(loc, resultGrads[0],
                                scalarConstant(b, loc, -1.0));
    operandGrads[1] = sumTo(b, loc, neg, tensorType(getRhs()));
  }
  return success();
}

// d(a * b) = (dy * b, dy * a), each summed to its operand's shape.
LogicalResult MulOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool> needGrad,
                                   SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  operandGrads.assign(2, Value());
  for (unsigned i = 0; i < 2; ++i) {
    if (!needGrad[i])
      continue;
    Value prod = b.create<MulOp>(loc, resultGrads[0], getOperand(1 - i));
    operandGrads[i] = sumTo(b, loc, prod, tensorType(getOperand(i)));
  }
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
