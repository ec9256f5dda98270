/* A kiln_comm over NVIDIA's NCCL, for data-parallel CUDA models (library
 * kiln_rt_nccl; docs/distributed.md, "NCCL"). libnccl.so.2 and the CUDA
 * driver are loaded at run time ($KILN_NCCL_PATH, else libnccl.so.2 from
 * the loader's path), so an application links without them; without them
 * the functions fail with KILN_ERROR_UNSUPPORTED and the reason.
 *
 * One process per GPU, as torch's DistributedDataParallel with the nccl
 * backend: rank 0 makes an id, every process receives it (MPI_Bcast, a
 * file, the network: NCCL does not care how) and creates its communicator
 * on its own GPU. A CUDA model attached to it (kiln_model_attach_comm)
 * averages its gradients on the device, on the instance's stream; the
 * model must run on the same GPU (attaching a CUDA model created on
 * another device fails with KILN_ERROR_INVALID_ARGUMENT). The host-memory operations (the
 * broadcasts at attach, BatchNorm's buffers) go through a device buffer of
 * the communicator. Every collective waits at most the timeout: then it
 * fails with KILN_ERROR_COMMUNICATION, the NCCL communicator is aborted,
 * and the run should end. */
#ifndef KILN_COMM_NCCL_H
#define KILN_COMM_NCCL_H

#include <kiln/comm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NCCL's unique id of one group of processes (ncclUniqueId). */
typedef struct kiln_nccl_id {
  char bytes[128];
} kiln_nccl_id;

/* A new id (on rank 0, handed to the others). */
kiln_status kiln_nccl_id_create(kiln_nccl_id *id);

/* Process `rank` of `size` of the group `id`, on CUDA device `device`;
 * collective: every process of the group calls it, and it returns once all
 * have joined, or fails after `timeout_seconds` (> 0). */
kiln_status kiln_comm_create_nccl(const kiln_nccl_id *id, int rank, int size, int device,
                                  double timeout_seconds, kiln_comm **out);

#ifdef __cplusplus
}
#endif

#endif
