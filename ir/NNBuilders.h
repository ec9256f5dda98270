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

inline llvm::ArrayRef<int64_t> shapeOf(mlir::Value v) {
  return tensorType(v).getShape();
}

inline mlir::RankedTensorType f32Tensor(mlir::MLIRContext *ctx,
                                        llvm::ArrayRef<int64_t> shape) {
  return mlir::RankedTensorType::get(shape, mlir::Float32Type::get(ctx));
}

/// "[2, 3]", for messages: shapes surface to users as model-file errors.
inline std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
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
