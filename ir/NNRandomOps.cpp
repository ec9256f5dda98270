// The random family (NNRandomOps.td): verifiers. The samples' definition
// (Philox-4x32-10 over a 64-bit counter) is in the lowering,
// passes/LowerRandom.cpp, and mirrored by tests/parity/kiln_oracle.py.
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

LogicalResult RandomUniformOp::verify() {
  if (getRng().getType().getDimSize(0) != 2)
    return emitOpError("the rng state must be a tensor<2xi64> (seed, offset)");
  // I64Attr's accessor is unsigned: read the attribute's signed value.
  int64_t offset = getOffsetAttr().getInt();
  if (offset < 0)
    return emitOpError("offset must be >= 0, got ") << offset;
  auto type = getResult().getType();
  if (!type.hasStaticShape())
    return emitOpError("needs a static result shape");
  // The counter range [offset, offset + numel) must not wrap around 2^63.
  if (type.getNumElements() > INT64_MAX - offset)
    return emitOpError("counter range overflows 64 bits");
  return success();
}
