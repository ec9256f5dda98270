// How batch statistics see an [N, C, *] tensor: channel dimension 1, every
// other dimension averaged over. Shared by nn.batch_norm's gradient rule
// (ir/NNNormOps.cpp), its lowering (passes/LowerNorm.cpp) and the importer's
// torch checks (frontend/import/BatchNorm.cpp), so the three agree.
#ifndef KILN_IR_CHANNELSHAPE_H
#define KILN_IR_CHANNELSHAPE_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace kiln::nn {

/// prod(shape[2:]): the spatial size of an [N, C, *] shape (1 for [N, C]).
inline int64_t spatialSize(llvm::ArrayRef<int64_t> shape) {
  int64_t s = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    s *= shape[d];
  return s;
}

/// N * prod(shape[2:]): the values each channel's statistics average over.
/// Precondition: rank >= 2.
inline int64_t valuesPerChannel(llvm::ArrayRef<int64_t> shape) {
  return shape[0] * spatialSize(shape);
}

} // namespace kiln::nn

#endif // KILN_IR_CHANNELSHAPE_H
