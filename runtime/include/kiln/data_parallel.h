/* torch.nn.DataParallel's use, one process driving several GPUs (library
 * kiln_rt_nccl; docs/distributed.md, "DataParallel"). Legacy in torch,
 * which recommends DistributedDataParallel (one process per GPU: here
 * kiln/comm_nccl.h or kiln/comm_mpi.h), and a thin layer here over the
 * same path: one instance of a model compiled with `--target=cuda
 * --data-parallel` per GPU, one NCCL communicator per GPU in one group,
 * each call's batch split by rows across the replicas, a thread per
 * replica. The replicas start from replica 0's parameters and buffers and
 * stay equal: every train step updates each with the average of all
 * replicas' gradients.
 *
 * The batch: each input (and the target) holds num_replicas times the
 * model's batch, the replicas' parts one after the other (dense row-major
 * with the batch first: replica r reads rows [r B, (r + 1) B)), on the
 * host. Outputs likewise. */
#ifndef KILN_DATA_PARALLEL_H
#define KILN_DATA_PARALLEL_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_parallel kiln_data_parallel;

/* Replicas of `metadata`'s model on CUDA devices devices[0..num_devices)
 * (distinct ordinals), their parameters from init_parameters(seed) on
 * replica 0. Each collective waits at most `timeout_seconds` (> 0). The
 * model must be compiled --target=cuda --data-parallel: a model for
 * another device, or one without --data-parallel for more than one
 * device, fails here (KILN_ERROR_INVALID_ARGUMENT). */
kiln_status kiln_data_parallel_create(const kiln_model_metadata *metadata, int num_devices,
                                      const int *devices, uint64_t seed,
                                      double timeout_seconds, kiln_data_parallel **out);
void kiln_data_parallel_destroy(kiln_data_parallel *dp);
int kiln_data_parallel_num_replicas(const kiln_data_parallel *dp);
/* Replica `index`, for everything else the runtime offers (save, get_lr,
 * introspection); NULL out of range. Change parameters, buffers or
 * optimizer state of replica 0 only (load_parameters, load_checkpoint,
 * set_lr, ...), then call kiln_data_parallel_sync. */
kiln_model *kiln_data_parallel_replica(kiln_data_parallel *dp, int index);
/* Every replica takes replica 0's parameters, buffers, optimizer state,
 * step, learning rates and random state. */
kiln_status kiln_data_parallel_sync(kiln_data_parallel *dp);
/* One optimizer step on num_replicas x the model's batch (see above);
 * *loss receives the mean of the replicas' losses (the whole batch's loss
 * for a mean-reduced loss). */
kiln_status kiln_data_parallel_train_step(kiln_data_parallel *dp, const void *const *inputs,
                                          const void *target, float *loss);
/* The forward on num_replicas x the model's batch, each replica's outputs
 * at its rows of outputs[i]. */
kiln_status kiln_data_parallel_forward(kiln_data_parallel *dp, const void *const *inputs,
                                       void *const *outputs);
/* The message of the last failure on `dp` (or of the last failed create,
 * with NULL). */
const char *kiln_data_parallel_last_error(const kiln_data_parallel *dp);

#ifdef __cplusplus
}
#endif

#endif
