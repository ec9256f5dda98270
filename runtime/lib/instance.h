#ifndef KILN_RUNTIME_LIB_INSTANCE_H
#define KILN_RUNTIME_LIB_INSTANCE_H

/* What the model driver (model.cpp) lends libkiln_rt's helpers that work
 * on an instance (averaged_model.cpp): its validated spec and host copies
 * of a tensor's current value through the instance's device. */

#include "metadata.h"
#include "safetensors.h"

#include <vector>

namespace kiln::rt {

const ModelSpec &spec_of(const kiln_model *model);
/* The state_dict: parameters and buffers, in table order. */
std::vector<int> state_dict_of(const ModelSpec &spec);
/* Tensor t's current value to / from host memory of its size. */
Error read_tensor_of(const kiln_model *model, int t, void *dst);
Error write_tensor_of(kiln_model *model, int t, const void *src);
/* The loaders' strict check: exactly `expected`, with their dtypes and
 * shapes, before anything is copied. */
Error validate_file_tensors(const kiln_safetensors &file,
                            const std::vector<const TensorSpec *> &expected);

} // namespace kiln::rt

#endif
