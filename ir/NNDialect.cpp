#include "ir/NNDialect.h"

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
