// Index arithmetic on OpFoldResults that folds constants and identities, so
// static loops produce no index code beyond what is needed. Used by
// kiln-cpu-outline-parallel to delinearise a thread tile's linear index.
#ifndef KILN_CODEGEN_CPU_INDEXMATH_H
#define KILN_CODEGEN_CPU_INDEXMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <algorithm>

namespace kiln {

/// Builds at `b`'s insertion point; results are attributes when both
/// operands are constants.
struct IndexMath {
  mlir::OpBuilder &b;
  mlir::Location loc;

  mlir::Value value(mlir::OpFoldResult r) {
    return mlir::getValueOrCreateConstantIndexOp(b, loc, r);
  }
  template <typename Op>
  mlir::OpFoldResult apply(mlir::OpFoldResult x, mlir::OpFoldResult y,
                           int64_t (*eval)(int64_t, int64_t)) {
    std::optional<int64_t> cx = mlir::getConstantIntValue(x);
    std::optional<int64_t> cy = mlir::getConstantIntValue(y);
    if (cx && cy)
      return b.getIndexAttr(eval(*cx, *cy));
    return b.create<Op>(loc, value(x), value(y)).getResult();
  }
  mlir::OpFoldResult add(mlir::OpFoldResult x, mlir::OpFoldResult y) {
    if (mlir::isConstantIntValue(y, 0))
      return x;
    if (mlir::isConstantIntValue(x, 0))
      return y;
    return apply<mlir::arith::AddIOp>(
        x, y, [](int64_t p, int64_t q) { return p + q; });
  }
  mlir::OpFoldResult sub(mlir::OpFoldResult x, mlir::OpFoldResult y) {
    if (mlir::isConstantIntValue(y, 0))
      return x;
    return apply<mlir::arith::SubIOp>(
        x, y, [](int64_t p, int64_t q) { return p - q; });
  }
  mlir::OpFoldResult mul(mlir::OpFoldResult x, mlir::OpFoldResult y) {
    if (mlir::isConstantIntValue(y, 1))
      return x;
    if (mlir::isConstantIntValue(x, 1))
      return y;
    return apply<mlir::arith::MulIOp>(
        x, y, [](int64_t p, int64_t q) { return p * q; });
  }
  mlir::OpFoldResult div(mlir::OpFoldResult x, mlir::OpFoldResult y) {
    if (mlir::isConstantIntValue(y, 1))
      return x;
    return apply<mlir::arith::DivSIOp>(
        x, y, [](int64_t p, int64_t q) { return p / q; });
  }
  mlir::OpFoldResult rem(mlir::OpFoldResult x, mlir::OpFoldResult y) {
    return apply<mlir::arith::RemSIOp>(
        x, y, [](int64_t p, int64_t q) { return p % q; });
  }
  /// max(0, ceil((ub - lb) / step)); steps are positive (scf.forall
  /// verifies it). The clamp matters: two negative counts would multiply
  /// into a positive total.
  mlir::OpFoldResult tripCount(mlir::OpFoldResult lb, mlir::OpFoldResult ub,
                               mlir::OpFoldResult step) {
    mlir::OpFoldResult span = sub(ub, lb);
    mlir::OpFoldResult count =
        mlir::isConstantIntValue(step, 1)
            ? span
            : apply<mlir::arith::CeilDivSIOp>(
                  span, step, [](int64_t p, int64_t q) {
                    return p <= 0 ? 0 : (p + q - 1) / q;
                  });
    return apply<mlir::arith::MaxSIOp>(
        count, b.getIndexAttr(0),
        [](int64_t p, int64_t q) { return std::max(p, q); });
  }
};

} // namespace kiln

#endif // KILN_CODEGEN_CPU_INDEXMATH_H
