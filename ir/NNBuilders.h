// Small builders shared by gradient rules and decompositions (ir/*.cpp).
// They create nn / arith ops only, so what they build is verified, fused and
// lowered like everything else.
#ifndef KILN_IR_NNBUILDERS_H
#define KILN_IR_NNBUILDERS_H

#include "ir/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace kiln::nn {

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// `v` reshaped to `type` (no op when the types already agree).
inline mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value v, mlir::RankedTensorType type) {
  if (v.getType() == type)
    return v;
  return b.create<ReshapeOp>(loc, type, v);
}

/// The adjoint of implicit broadcasting: sums `grad` down to `type`.
inline mlir::Value sumTo(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value grad, mlir::RankedTensorType type) {
  if (grad.getType() == type)
    return grad;
  return b.create<SumToSizeOp>(loc, type, grad);
}

/// An f32 scalar tensor constant (broadcasts against anything).
inline mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                                  double value) {
  auto type = mlir::RankedTensorType::get({}, b.getF32Type());
  return b.create<mlir::arith::ConstantOp>(
      loc, mlir::DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
}

/// Broadcasting binary nn op with its result type inferred.
template <typename Op>
mlir::Value binary(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                   mlir::Value rhs) {
  auto shape = broadcastShapes(tensorType(lhs).getShape(),
                               tensorType(rhs).getShape());
  assert(shape && "operands must broadcast");
  return b.create<Op>(loc, mlir::RankedTensorType::get(*shape, b.getF32Type()),
                      lhs, rhs);
}

} // namespace kiln::nn

#endif // KILN_IR_NNBUILDERS_H
