// What the pooling families (Pooling.cpp, FractionalPool.cpp) share: torch's
// pooling kernels take an unbatched [C, *D] input as well as [N, C, *D].
#ifndef KILN_FRONTEND_IMPORT_POOL_H
#define KILN_FRONTEND_IMPORT_POOL_H

#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

namespace kiln::import {

/// The call's first input as [N, C, *D] for `rank` spatial dimensions: an
/// unbatched [C, *D] input gets a leading batch dimension of 1
/// (`unbatched` set).
inline mlir::Value batchedInput(BuildContext &c, int rank, bool &unbatched) {
  mlir::Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  int64_t r = static_cast<int64_t>(shape.size());
  if (r != rank + 1 && r != rank + 2)
    c.fail("expected a " + std::to_string(rank + 1) + "-D (unbatched) or " +
           std::to_string(rank + 2) + "-D (batched) input, got " +
           nn::shapeStr(shape));
  unbatched = r == rank + 1;
  if (!unbatched)
    return x;
  llvm::SmallVector<int64_t> batched{1};
  batched.append(shape.begin(), shape.end());
  return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), batched), x);
}

/// `y` [1, C, *out] (f32 values or i64 indices) without its batch
/// dimension when the input had none.
inline mlir::Value unbatch(BuildContext &c, mlir::Value y, bool unbatched) {
  if (!unbatched)
    return y;
  auto type = mlir::cast<mlir::RankedTensorType>(y.getType());
  return c.create<nn::ReshapeOp>(
      mlir::RankedTensorType::get(type.getShape().drop_front(), type.getElementType()), y);
}

/// `v` [C, *D] (f32 or i64) as [1, C, *D].
inline mlir::Value batchOf(BuildContext &c, mlir::Value v) {
  auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
  llvm::SmallVector<int64_t> shape{1};
  shape.append(type.getShape().begin(), type.getShape().end());
  return c.create<nn::ReshapeOp>(mlir::RankedTensorType::get(shape, type.getElementType()), v);
}

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_POOL_H
