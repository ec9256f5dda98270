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

/// Elements of every tensor of `values` together.
static int64_t totalElements(TypeRange types) {
  int64_t total = 0;
  for (Type t : types)
    total += cast<RankedTensorType>(t).getNumElements();
  return total;
}

/// A bucket's flat tensor: [total] f32 for the bucket's tensors.
static LogicalResult verifyFlat(Operation *op, Type flat, TypeRange tensors) {
  if (tensors.empty())
    return op->emitOpError("needs at least one tensor in its bucket");
  for (Type t : tensors)
    if (!cast<RankedTensorType>(t).hasStaticShape())
      return op->emitOpError("tensor of type ") << t << " has no static shape";
  auto type = cast<RankedTensorType>(flat);
  if (type.getRank() != 1 || type.getNumElements() != totalElements(tensors))
    return op->emitOpError("the bucket's flat tensor must be tensor<")
           << totalElements(tensors) << "xf32>, got " << flat;
  return success();
}

LogicalResult AllReduceStartOp::verify() {
  return verifyFlat(*this, getInFlight().getType(), getInputs().getTypes());
}

LogicalResult AllReduceWaitOp::verify() {
  return verifyFlat(*this, getInFlight().getType(), getResults().getTypes());
}
