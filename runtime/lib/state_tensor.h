#ifndef KILN_RUNTIME_LIB_STATE_TENSOR_H
#define KILN_RUNTIME_LIB_STATE_TENSOR_H

/* A float32 state_dict tensor of an instance by name, read to the host and
 * written back: what the deployment helpers that move values between
 * instances share (fusion.cpp, reparametrize.cpp). Run once, on the host. */

#include "error.h"
#include "instance.h"

#include <string>
#include <vector>

namespace kiln::rt {

struct StateTensor {
  int index = -1; /* -1: the instance has no such tensor */
  std::vector<int64_t> shape;
  std::vector<float> values;
  bool found() const { return index >= 0; }
};

/* A shape as [outer, size, inner] around dimension `dim`: the product of
 * the dimensions before it, its size, the product of those after it
 * (dim < 0: [1, 1, numel], everything inner). */
struct AroundDim {
  int64_t outer = 1, size = 1, inner = 1;
};
AroundDim around_dim(const std::vector<int64_t> &shape, int64_t dim);

/* The index of the float32 parameter or buffer `name` of `model`, or -1. */
int find_state_tensor(const kiln_model *model, const std::string &name);

/* Reads `name` into `out`; a missing tensor is an error naming it when
 * `required`, else `out` stays not found. `what` starts messages. */
Error read_state_tensor(const kiln_model *model, const std::string &name, bool required,
                        const std::string &what, StateTensor &out);

/* Checks that `model` has float32 tensors of `shapes` under `names` (the
 * message says `role`, "the target model"), then writes `values` into
 * them: nothing is written unless every one fits. */
Error write_state_tensors(kiln_model *model, const std::vector<std::string> &names,
                          const std::vector<std::vector<int64_t>> &shapes,
                          const std::vector<const std::vector<float> *> &values,
                          const std::string &what);

} // namespace kiln::rt

#endif
