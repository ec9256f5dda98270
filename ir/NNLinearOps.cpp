// The linear family (NNLinearOps.td): shape inference and gradient rules
// of nn.linear and nn.matmul.
#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

using namespace mlir;
using namespace kiln::nn;

static LogicalResult inferLinear(std::optional<Location> loc, Value input,
                                 Value weight, Value bias,
                                 SmallVectorImpl<Type> &types) {
  auto in = shapeOf(input), w = shapeOf(weight);
  if (w.size() != 2)
    return emitOptionalError(loc, "nn.linear: weight must be [out, in], got ",
                             shapeStr(w));
  if (bias && (shapeOf(bias).size() != 1 || shapeOf(bias)[0] != w[0]))
    return emitOptionalError(loc, "nn.linear: bias must be [", w[0],
                             "], got ", shapeStr(shapeOf(bias)));
  kiln::shape_rules::Inferred out = kiln::shape_rules::linear(in.vec(), w[1], w[0]);
  if (!out.ok())
    return emitOptionalError(loc, "nn.linear: ", out.error);
  types.push_back(f32Tensor(input.getContext(), out.shape));
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
  if (l.size() < 2 || r.size() != l.size())
    return emitOptionalError(
        loc, "nn.matmul: operands must be matrices of the same rank >= 2 (",
        "batched over equal leading dimensions), got ", shapeStr(l), " and ",
        shapeStr(r));
  size_t batch = l.size() - 2;
  if (l.take_front(batch) != r.take_front(batch))
    return emitOptionalError(loc, "nn.matmul: batch dimensions differ (",
                             shapeStr(l), " and ", shapeStr(r), ")");
  int64_t m = a.getTransposeLhs() ? l[batch + 1] : l[batch];
  int64_t kl = a.getTransposeLhs() ? l[batch] : l[batch + 1];
  int64_t kr = a.getTransposeRhs() ? r[batch + 1] : r[batch];
  int64_t n = a.getTransposeRhs() ? r[batch] : r[batch + 1];
  if (kl != kr)
    return emitOptionalError(loc, "nn.matmul: contraction sizes differ (",
                             kl, " vs ", kr, ")");
  SmallVector<int64_t> out(l.take_front(batch));
  out.append({m, n});
  types.push_back(f32Tensor(ctx, out));
  return success();
}


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
// back when the operand was used transposed; per item of a batched product
// (the transpositions act on the last two dimensions).
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
