#include "frontend/import/Constants.h"

#include "ir/NNBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace kiln::import {

Value f32Constant(BuildContext &c, ArrayRef<int64_t> shape, ArrayRef<float> values) {
  auto type = nn::f32Tensor(c.builder().getContext(), shape);
  return c.builder().create<arith::ConstantOp>(c.loc(), DenseElementsAttr::get(type, values));
}

Value iota(BuildContext &c, ArrayRef<int64_t> shape, int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(i);
  return f32Constant(c, shape, v);
}

} // namespace kiln::import
