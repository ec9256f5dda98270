#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace kiln::nn;

#include "ir/NNDialect.cpp.inc"
#include "ir/NNInterfaces.cpp.inc"
#include "ir/NNEnums.cpp.inc"

namespace {
/// nn ops are pure and region-free: always legal to inline (the train step
/// inlines the gradient function into itself).
struct NNInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void NNDialect::initialize() {
  addInterfaces<NNInlinerInterface>();
  addOperations<
#define GET_OP_LIST
#include "ir/NNOps.cpp.inc"
      >();
}

std::optional<SmallVector<int64_t>>
kiln::nn::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  shape_rules::Inferred r = shape_rules::broadcast(a.vec(), b.vec());
  if (!r.ok())
    return std::nullopt;
  return SmallVector<int64_t>(r.shape.begin(), r.shape.end());
}

bool kiln::nn::isBroadcastableTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  auto b = broadcastShapes(from, to);
  return b && ArrayRef<int64_t>(*b) == to;
}

#define GET_OP_CLASSES
#include "ir/NNOps.cpp.inc"
