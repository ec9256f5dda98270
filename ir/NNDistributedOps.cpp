// The collectives of data-parallel training (NNDistributedOps.td).
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

LogicalResult AllReduceOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                            ValueRange operands, DictionaryAttr,
                                            OpaqueProperties, RegionRange,
                                            SmallVectorImpl<Type> &types) {
  for (Value v : operands)
    types.push_back(v.getType());
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one tensor to reduce");
  for (Value v : getInputs())
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
      return emitOpError("operand of type ") << v.getType() << " has no static shape";
  return success();
}
