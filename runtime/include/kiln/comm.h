/* Communicators for data-parallel training (docs/distributed.md).
 *
 * A model compiled with `kilnc --data-parallel` averages its gradients over
 * every process of a communicator inside train_step and apply, between the
 * backward and the optimizer update, as torch's DistributedDataParallel
 * does. The collective is a call of the runtime from the compiled step; it
 * reaches the communicator attached to the instance that runs the step.
 * Without one (or with a communicator of one process) the average is the
 * local gradient, so the same object also trains alone.
 *
 * libkiln_rt knows no transport: a communicator is a table of operations.
 * kiln/comm_mpi.h builds one over MPI (library kiln_rt_mpi), kiln/comm_nccl.h
 * one over NCCL for CUDA models (library kiln_rt_nccl). */
#ifndef KILN_COMM_H
#define KILN_COMM_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_comm kiln_comm;

/* What a transport provides. Each operation returns 0 on success, or
 * nonzero after writing a NUL-terminated message of at most `error_size`
 * bytes into `error` (what failed, on which rank, why). Every process of
 * the communicator calls the same operations in the same order. */
typedef struct kiln_comm_ops {
  /* out[i] = sum over the processes of in[i], for i < n; in == out allowed. */
  int (*all_reduce_sum_f32)(void *impl, const float *in, float *out, int64_t n,
                            char *error, size_t error_size);
  /* `bytes` bytes of `data` from process `root` to every other process. */
  int (*broadcast)(void *impl, void *data, int64_t bytes, int root, char *error,
                   size_t error_size);
  /* Frees `impl` (kiln_comm_destroy). */
  void (*destroy)(void *impl);
  /* Nonzero: the operations may be called from a thread of libkiln_rt, one
   * call at a time (MPI_THREAD_SERIALIZED). Then a communication thread
   * runs the gradient buckets' all-reduces while the backward goes on
   * (kilnc's nn-bucket-all-reduce), and every collective of a step goes
   * through that thread, in order. Zero: each collective runs on the
   * calling thread, when the step reaches it. */
  int background;
  /* Optional (NULL: none): a transport that reduces GPU memory itself
   * (kiln/comm_nccl.h). out[i] = the sum over the processes of in[i] (the
   * mean with `average`), for i < n, both in memory of the CUDA device the
   * communicator was made for, ordered on `stream` (a cudaStream_t);
   * returns when done. The collectives of CUDA models use it where it is
   * there, and host copies through all_reduce_sum_f32 where it is not. */
  int (*all_reduce_f32_device)(void *impl, const float *in, float *out, int64_t n,
                               int average, void *stream, char *error, size_t error_size);
} kiln_comm_ops;

/* A communicator over `ops` for process `rank` of `size` (0 <= rank < size).
 * Takes ownership of `impl` (freed by ops->destroy). */
kiln_status kiln_comm_create(const kiln_comm_ops *ops, void *impl, int rank, int size,
                             kiln_comm **out);
/* The communicator of one process: every collective is the identity. */
kiln_status kiln_comm_create_single(kiln_comm **out);
void kiln_comm_destroy(kiln_comm *comm);
int kiln_comm_rank(const kiln_comm *comm);
int kiln_comm_size(const kiln_comm *comm);

/* Attaches `comm` to `model` (NULL detaches): its parameters and buffers
 * are broadcast from rank 0, so every process starts from rank 0's values
 * (DDP's constructor), and from then on train_step and apply of a model
 * compiled with --data-parallel average the gradients over `comm`. The
 * communicator must outlive the attachment. Collective: every process
 * calls it. As DDP's broadcast_buffers, every train_step, gradients and
 * accumulate call in train mode first gives all processes rank 0's
 * buffers (running statistics). A failed collective inside a step fails that call with
 * KILN_ERROR_COMMUNICATION; the instances are then out of step with each
 * other (the update may have run on local gradients) and the application
 * should stop. A trainable model compiled without --data-parallel
 * (KILN_MODEL_DATA_PARALLEL not in its metadata's flags) averages nothing:
 * attaching a communicator of several processes to it fails
 * (KILN_ERROR_INVALID_ARGUMENT, nothing broadcast, nothing attached)
 * rather than let the processes drift apart silently. */
kiln_status kiln_model_attach_comm(kiln_model *model, kiln_comm *comm);
/* The attached communicator's size and rank: 1 and 0 when none is. */
int kiln_model_world_size(const kiln_model *model);
int kiln_model_rank(const kiln_model *model);

#ifdef __cplusplus
}
#endif

#endif
