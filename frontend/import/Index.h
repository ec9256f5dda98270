// Indexing with int64 tensors, shared by the tensor functions
// (TensorOps.cpp: index_select, gather) and the sparse family
// (Embedding.cpp): every read at caller-supplied indices is one nn.gather,
// so the runtime's range check of model inputs covers them all.
#ifndef KILN_FRONTEND_IMPORT_INDEX_H
#define KILN_FRONTEND_IMPORT_INDEX_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// torch.index_select(x, dim, index) for an int64 index of shape [n] or []:
/// nn.gather of the index reshaped to [1.., n, ..1] and broadcast over the
/// other dimensions. Fails the call with torch's words on a bad dim.
mlir::Value indexSelectTensor(BuildContext &c, mlir::Value x, int64_t dim,
                              mlir::Value index);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_INDEX_H
