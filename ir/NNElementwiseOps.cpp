// Shape inference and gradient rules of the elementwise family
// (NNElementwiseOps.td). Every rule builds nn ops only.
#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

#include <cmath>

using namespace mlir;
using namespace kiln::nn;

//===----------------------------------------------------------------------===//
// Unary math: dx = dy * f'(x), written with the result y where torch does.
//===----------------------------------------------------------------------===//

#define KILN_UNARY_GRADIENT(OP, BODY)                                          \
  LogicalResult OP::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,   \
                                  ArrayRef<bool>,                              \
                                  SmallVectorImpl<Value> &operandGrads) {      \
    Location loc = getLoc();                                                   \
    Value dy = resultGrads[0], x = getInput(), y = getResult();                \
    (void)x;                                                                   \
    (void)y;                                                                   \
    operandGrads.assign(1, BODY);                                              \
    return success();                                                          \
  }

// -dy
KILN_UNARY_GRADIENT(NegOp, b.create<NegOp>(loc, dy))
// dy * sign(x) (torch: 0 at x = 0)
KILN_UNARY_GRADIENT(AbsOp, binary<MulOp>(b, loc, dy, b.create<SignOp>(loc, x)))
// sign is piecewise constant: 0 everywhere torch defines it
KILN_UNARY_GRADIENT(SignOp, binary<MulOp>(b, loc, dy, scalarConstant(b, loc, 0)))
// dy * e^x = dy * y
KILN_UNARY_GRADIENT(ExpOp, binary<MulOp>(b, loc, dy, y))
// dy / x
KILN_UNARY_GRADIENT(LogOp, binary<DivOp>(b, loc, dy, x))
// dy / (1 + x)
KILN_UNARY_GRADIENT(Log1pOp,
                    binary<DivOp>(b, loc, dy,
                                  binary<AddOp>(b, loc, x,
                                                scalarConstant(b, loc, 1))))
// dy / (2 y)
KILN_UNARY_GRADIENT(SqrtOp,
                    binary<DivOp>(b, loc, dy,
                                  binary<MulOp>(b, loc, y,
                                                scalarConstant(b, loc, 2))))
// -0.5 dy y^3
KILN_UNARY_GRADIENT(
    RsqrtOp,
    binary<MulOp>(b, loc,
                  binary<MulOp>(b, loc, dy, scalarConstant(b, loc, -0.5)),
                  binary<MulOp>(b, loc, y, binary<MulOp>(b, loc, y, y))))
// dy (1 - y^2)
KILN_UNARY_GRADIENT(
    TanhOp,
    binary<MulOp>(b, loc, dy,
                  binary<SubOp>(b, loc, scalarConstant(b, loc, 1),
                                binary<MulOp>(b, loc, y, y))))
// dy (1 - y) y
KILN_UNARY_GRADIENT(
    SigmoidOp,
    binary<MulOp>(b, loc,
                  binary<MulOp>(b, loc, dy,
                                binary<SubOp>(b, loc, scalarConstant(b, loc, 1), y)),
                  y))
// dy 2/sqrt(pi) e^(-x^2)
KILN_UNARY_GRADIENT(
    ErfOp,
    binary<MulOp>(
        b, loc,
        binary<MulOp>(b, loc, dy, scalarConstant(b, loc, 2.0 / std::sqrt(M_PI))),
        b.create<ExpOp>(loc, b.create<NegOp>(loc, binary<MulOp>(b, loc, x, x)))))
#undef KILN_UNARY_GRADIENT

//===----------------------------------------------------------------------===//
// Binary arithmetic
//===----------------------------------------------------------------------===//

/// The broadcast shape of `lhs` and `rhs` as a tensor of `element`.
static LogicalResult inferBroadcast(std::optional<Location> loc, StringRef op,
                                    Value lhs, Value rhs, Type element,
                                    SmallVectorImpl<Type> &types) {
  auto l = shapeOf(lhs), r = shapeOf(rhs);
  kiln::shape_rules::Inferred out = kiln::shape_rules::broadcast(l.vec(), r.vec());
  if (!out.ok())
    return emitOptionalError(loc, op, ": ", out.error);
  types.push_back(RankedTensorType::get(out.shape, element));
  return success();
}

#define KILN_BINARY_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,      \
      DictionaryAttr, OpaqueProperties, RegionRange,                           \
      SmallVectorImpl<Type> &types) {                                          \
    return inferBroadcast(loc, OP::getOperationName(), operands[0],           \
                          operands[1], Float32Type::get(ctx), types);          \
  }
KILN_BINARY_INFER(AddOp)
KILN_BINARY_INFER(SubOp)
KILN_BINARY_INFER(MulOp)
KILN_BINARY_INFER(DivOp)
KILN_BINARY_INFER(MaximumOp)
KILN_BINARY_INFER(MinimumOp)
KILN_BINARY_INFER(PowOp)
#undef KILN_BINARY_INFER

// d(a / b) = (dy / b, -dy a / b^2), each summed to its operand's shape.
LogicalResult DivOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool> needGrad,
                                   SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  operandGrads.assign(2, Value());
  if (needGrad[0])
    operandGrads[0] = sumTo(b, loc, binary<DivOp>(b, loc, dy, getRhs()),
                            tensorType(getLhs()));
  if (needGrad[1]) {
    Value q = binary<DivOp>(b, loc, getLhs(),
                            binary<MulOp>(b, loc, getRhs(), getRhs()));
    operandGrads[1] = sumTo(
        b, loc, b.create<NegOp>(loc, binary<MulOp>(b, loc, dy, q)),
        tensorType(getRhs()));
  }
  return success();
}

// d(a ** b) = (dy b a^(b-1), dy a^b ln a), each summed to its operand's
// shape, with torch's zeros (pow_backward_self / pow_backward_exponent):
// where b == 0 the first is 0 (not 0 * 0^-1 = NaN at a = 0), where a == 0
// and b >= 0 the second is 0 (not 0 * -inf).
LogicalResult PowOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   ArrayRef<bool> needGrad,
                                   SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0], base = getLhs(), exponent = getRhs();
  Value zero = scalarConstant(b, loc, 0);
  auto mask = [&](ComparePredicate p, Value v) -> Value {
    auto type = RankedTensorType::get(shapeOf(v), b.getI1Type());
    return b.create<CompareOp>(loc, type, p, v, zero);
  };
  auto select = [&](Value condition, Value ifTrue, Value ifFalse) -> Value {
    auto shape = broadcastShapes(shapeOf(condition), shapeOf(ifFalse));
    return b.create<WhereOp>(loc, f32Tensor(b.getContext(), *shape), condition,
                             ifTrue, ifFalse);
  };
  operandGrads.assign(2, Value());
  if (needGrad[0]) {
    Value power = binary<PowOp>(
        b, loc, base, binary<SubOp>(b, loc, exponent, scalarConstant(b, loc, 1)));
    Value g = binary<MulOp>(b, loc, dy, binary<MulOp>(b, loc, exponent, power));
    g = select(mask(ComparePredicate::eq, exponent), zero, g);
    operandGrads[0] = sumTo(b, loc, g, tensorType(base));
  }
  if (needGrad[1]) {
    Value t = binary<MulOp>(b, loc, getResult(), b.create<LogOp>(loc, base));
    Value atZero = select(mask(ComparePredicate::ge, exponent), zero, t);
    Value g = select(mask(ComparePredicate::eq, base), atZero, t);
    operandGrads[1] = sumTo(b, loc, binary<MulOp>(b, loc, dy, g),
                            tensorType(exponent));
  }
  return success();
}

/// torch's maximum/minimum backward: the gradient goes to the selected side,
/// split in half on ties. `wins` is lhs > rhs (maximum) or lhs < rhs.
static void selectGradient(OpBuilder &b, Location loc, Value dy, Value lhs,
                           Value rhs, ComparePredicate wins,
                           ComparePredicate loses, ArrayRef<bool> needGrad,
                           SmallVectorImpl<Value> &operandGrads) {
  Value zero = scalarConstant(b, loc, 0);
  Value half = binary<MulOp>(b, loc, dy, scalarConstant(b, loc, 0.5));
  auto boolType = [&](Value like) {
    return RankedTensorType::get(tensorType(like).getShape(), b.getI1Type());
  };
  Value tie = b.create<CompareOp>(loc, boolType(dy), ComparePredicate::eq, lhs, rhs);
  Value shared = b.create<WhereOp>(loc, tensorType(dy), tie, half, dy);
  operandGrads.assign(2, Value());
  Value operands[] = {lhs, rhs};
  ComparePredicate dropWhen[] = {loses, wins};
  for (unsigned i = 0; i < 2; ++i) {
    if (!needGrad[i])
      continue;
    Value drop = b.create<CompareOp>(loc, boolType(dy), dropWhen[i], lhs, rhs);
    Value g = b.create<WhereOp>(loc, tensorType(dy), drop, zero, shared);
    operandGrads[i] = sumTo(b, loc, g, tensorType(operands[i]));
  }
}

LogicalResult MaximumOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needGrad,
                                       SmallVectorImpl<Value> &operandGrads) {
  selectGradient(b, getLoc(), resultGrads[0], getLhs(), getRhs(),
                 ComparePredicate::gt, ComparePredicate::lt, needGrad,
                 operandGrads);
  return success();
}

LogicalResult MinimumOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needGrad,
                                       SmallVectorImpl<Value> &operandGrads) {
  selectGradient(b, getLoc(), resultGrads[0], getLhs(), getRhs(),
                 ComparePredicate::lt, ComparePredicate::gt, needGrad,
                 operandGrads);
  return success();
}

//===----------------------------------------------------------------------===//
// Compare and select
//===----------------------------------------------------------------------===//

LogicalResult CompareOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr, OpaqueProperties, RegionRange,
    SmallVectorImpl<Type> &types) {
  return inferBroadcast(loc, getOperationName(), operands[0], operands[1],
                        IntegerType::get(ctx, 1), types);
}

LogicalResult WhereOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr, OpaqueProperties, RegionRange,
    SmallVectorImpl<Type> &types) {
  SmallVector<Type> valueTypes;
  if (failed(inferBroadcast(loc, getOperationName(), operands[1], operands[2],
                            Float32Type::get(ctx), valueTypes)))
    return failure();
  auto c = tensorType(operands[0]).getShape();
  auto out = broadcastShapes(c, cast<RankedTensorType>(valueTypes[0]).getShape());
  if (!out)
    return emitOptionalError(loc, getOperationName(), ": condition ",
                             shapeStr(c), " does not broadcast with the values");
  types.push_back(RankedTensorType::get(*out, Float32Type::get(ctx)));
  return success();
}

// d where(c, a, b) = (where(c, dy, 0), where(c, 0, dy)), summed to shape.
LogicalResult WhereOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needGrad,
                                     SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0], zero = scalarConstant(b, loc, 0);
  operandGrads.assign(3, Value());
  if (needGrad[1])
    operandGrads[1] = sumTo(
        b, loc, b.create<WhereOp>(loc, tensorType(dy), getCondition(), dy, zero),
        tensorType(getLhs()));
  if (needGrad[2])
    operandGrads[2] = sumTo(
        b, loc, b.create<WhereOp>(loc, tensorType(dy), getCondition(), zero, dy),
        tensorType(getRhs()));
  return success();
}

// The condition is a mask: no gradient flows into it.
bool WhereOp::isDifferentiableOperand(unsigned index) { return index != 0; }

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

