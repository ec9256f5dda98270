#ifndef KILN_RUNTIME_LIB_INSTANCE_H
#define KILN_RUNTIME_LIB_INSTANCE_H

/* What the model driver (model.cpp) lends libkiln_rt's helpers that work
 * on an instance (averaged_model.cpp): its validated spec and host copies
 * of a tensor's current value through the instance's device. */

#include "metadata.h"
#include "safetensors.h"

#include <utility>
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

/* For optimizer drivers (lbfgs.cpp). */

/* Tensor t's current value, or NULL when the instance's memory is not host
 * memory (the drivers run on the host). */
void *host_current(kiln_model *model, int t);
/* Parameter `param`'s gradient as the gradients kernel last wrote it,
 * copied to `dst` (its numel floats). */
Error read_gradient(const kiln_model *model, int param, float *dst);
/* Parameter group `group`'s exact learning rate. */
double group_lr(const kiln_model *model, int group);
/* The gradients kernel of the current mode on one batch at the current
 * parameters (torch's closure), with its value checks; *loss receives the
 * loss. Buffers and the random stream advance as in any train-mode call;
 * with a communicator of several processes the buffers are rank 0's first
 * (DDP's broadcast_buffers before every forward). */
Error run_gradients(kiln_model *model, const void *const *inputs, const void *target,
                    const char *function, float *loss, bool device_pointers = false);

/* Averages `n` floats of host memory in place over the processes of the
 * communicator attached to `model` (comm_average); a no-op without one.
 * Errors name `function`. */
Error average_over_processes(kiln_model *model, float *data, int64_t n, const char *function);

/* What a train step may change (parameters, buffers, optimizer state,
 * step, which copy is current, the random state), to undo a step that
 * fails half way; copies on the host. */
struct Snapshot {
  std::vector<std::pair<int, std::vector<unsigned char>>> tensors;
  std::vector<unsigned char> cur;
  kiln_rng_state rng{0, 0};
};
Error take_snapshot(const kiln_model *model, Snapshot *snapshot);
Error restore_snapshot(kiln_model *model, const Snapshot &snapshot);

/* One torch.optim.LBFGS step (KILN_OPTIMIZER_LBFGS) on one batch, the
 * arguments checked: *loss (host memory) receives the first evaluation's
 * loss, as torch's step returns it. `device_pointers`: inputs and target
 * are device memory (the _device entry points). */
Error lbfgs_step(kiln_model *model, const void *const *inputs, const void *target,
                 float *loss, bool device_pointers = false);

} // namespace kiln::rt

#endif
