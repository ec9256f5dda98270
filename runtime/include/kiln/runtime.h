/* libkiln_rt: the runtime that generated model objects link against.
 *
 * Plain C ABI (contract, see docs/runtime-abi.md). Every function that can
 * fail returns a kiln_status; KILN_OK is 0. The message of the last failure is
 * kept per model instance (kiln_model_last_error) and, for failures that have
 * no instance (creation, standalone safetensors calls), per thread
 * (kiln_last_error). Nothing here needs C++, MLIR or LLVM.
 */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT = 1, /* bad pointer, index, value */
  KILN_ERROR_IO = 2,               /* file missing, unreadable, unwritable */
  KILN_ERROR_FORMAT = 3,           /* malformed safetensors / descriptor */
  KILN_ERROR_MISMATCH = 4,         /* tensor missing, wrong shape or dtype */
  KILN_ERROR_UNSUPPORTED = 5,      /* e.g. training a model compiled for inference */
  KILN_ERROR_OUT_OF_MEMORY = 6
} kiln_status;

/* Message of the last failure on this thread that had no model instance.
 * Like errno, successful calls leave it unchanged; failures on an instance
 * are recorded here as well as on the instance. */
const char *kiln_last_error(void);

/* ---- Memory ------------------------------------------------------------ */

/* 64-byte aligned allocation (AVX-512 lines). Free with kiln_free. */
void *kiln_alloc(size_t bytes);
void kiln_free(void *ptr);

/* ---- Threads ----------------------------------------------------------- */

/* Number of threads the pool uses: KILN_NUM_THREADS if set, else the number of
 * hardware threads. kiln_set_num_threads(n) changes it (1 <= n <= 1024); it
 * fails with KILN_ERROR_INVALID_ARGUMENT when called from inside a
 * kiln_parallel_for body, where resizing would deadlock. */
int kiln_get_num_threads(void);
kiln_status kiln_set_num_threads(int n);

/* Runs body over disjoint chunks covering [0, n) on the process-wide pool; the
 * caller takes part; returns when every chunk is done. Called by generated
 * code for its parallel loops. Safe to call from several threads at once
 * (concurrent calls are serialised). Nested calls run inline.
 * There are min(n, kiln_get_num_threads()) contiguous, non-empty chunks, in
 * no particular order and on no particular thread; n <= 0 returns at once.
 * body must return normally (no C++ exception, no longjmp). */
void kiln_parallel_for(int64_t n,
                       void (*body)(int64_t begin, int64_t end, void *ctx),
                       void *ctx);

/* ---- Model instances (driven by the descriptor of a generated object) -- */

typedef struct kiln_model kiln_model;
/* A compiled kernel: args[i] points to argument i (docs/runtime-abi.md). */
typedef void (*kiln_kernel_fn)(void **args);

/* Parses the descriptor, allocates parameters, optimizer state, gradients
 * and scratch buffers. Parameters start at zero until initialised or loaded.
 * forward must not be NULL; gradients/train_step may be NULL (inference-only
 * model). On failure *out is NULL and kiln_last_error() says why. An instance
 * must not be used from two threads at once; distinct instances may. */
kiln_status kiln_model_create(const char *descriptor, kiln_kernel_fn forward,
                              kiln_kernel_fn gradients,
                              kiln_kernel_fn train_step, kiln_model **out);
void kiln_model_destroy(kiln_model *model);
/* Message of the last failed call on this instance ("" if none). */
const char *kiln_model_last_error(const kiln_model *model);

/* PyTorch's default initializers as given by the descriptor, from a seed
 * (same seed, same values; not bit-identical to torch's generator). Also
 * resets the optimizer state to its initial values and the step to 0. */
kiln_status kiln_model_init_parameters(kiln_model *model, uint64_t seed);

/* Parameters as safetensors keyed by state_dict names. Loading is strict:
 * every parameter must be present with its exact dtype and shape, and no
 * other tensor may be. Saving writes a temporary file and renames it. */
kiln_status kiln_model_load_parameters(kiln_model *model, const char *path);
kiln_status kiln_model_save_parameters(kiln_model *model, const char *path);

/* Optimizer state as safetensors: every `state` tensor under its descriptor
 * name, plus `step` (I64, shape []) and `lr` (F32, shape []). Strict like
 * parameters. */
kiln_status kiln_model_load_optimizer_state(kiln_model *model,
                                            const char *path);
kiln_status kiln_model_save_optimizer_state(kiln_model *model,
                                            const char *path);

/* Inference: inputs[i] / outputs[i] in descriptor order, dense row-major.
 * Outputs must not overlap inputs or each other (KILN_ERROR_INVALID_ARGUMENT). */
kiln_status kiln_model_forward(kiln_model *model, const void *const *inputs,
                               void *const *outputs);
/* Loss and every parameter gradient for one batch, without an update. The
 * gradients stay in the instance: read them with kiln_model_gradient. */
kiln_status kiln_model_gradients(kiln_model *model, const void *const *inputs,
                                 const void *target, float *loss);
/* One optimizer step on one batch; *loss receives the batch loss. */
kiln_status kiln_model_train_step(kiln_model *model, const void *const *inputs,
                                  const void *target, float *loss);

/* lr exists only in train mode (KILN_ERROR_UNSUPPORTED otherwise);
 * set_lr rejects a non-finite value. */
kiln_status kiln_model_get_lr(const kiln_model *model, float *lr);
kiln_status kiln_model_set_lr(kiln_model *model, float lr);
kiln_status kiln_model_get_step(const kiln_model *model, int64_t *step);
/* Train (1) / eval (0) mode; kept for layers whose behaviour differs. The
 * kernels take no mode argument today, so the runtime only records it. */
kiln_status kiln_model_set_training(kiln_model *model, int training);

/* Introspection, index in descriptor order. Pointers stay valid until the
 * next call that changes the instance (train_step swaps buffers). The name,
 * data and numel out-pointers may be NULL when not wanted. A NULL model
 * counts as 0 parameters / states. */
int kiln_model_num_parameters(const kiln_model *model);
kiln_status kiln_model_parameter(kiln_model *model, int index,
                                 const char **name, float **data,
                                 int64_t *numel);
kiln_status kiln_model_gradient(kiln_model *model, int index, float **data);
int kiln_model_num_states(const kiln_model *model);
kiln_status kiln_model_state(kiln_model *model, int index, const char **name,
                             float **data, int64_t *numel);

/* ---- Safetensors (standalone, used by the model driver and by tools) ---- */

typedef enum kiln_dtype { KILN_F32 = 0, KILN_I64 = 1 } kiln_dtype;

typedef struct kiln_tensor_view {
  const char *name;
  kiln_dtype dtype;
  int rank;
  const int64_t *shape;
  const void *data; /* dense row-major */
} kiln_tensor_view;

/* Writes tensors atomically (temp file in the same directory + rename). */
kiln_status kiln_safetensors_write(const char *path,
                                   const kiln_tensor_view *tensors, int count);

typedef struct kiln_safetensors kiln_safetensors;
/* Reads and validates the whole file: header JSON, offsets inside the data
 * section, sizes matching dtype x shape, no overlaps. */
kiln_status kiln_safetensors_open(const char *path, kiln_safetensors **out);
void kiln_safetensors_close(kiln_safetensors *file);
int kiln_safetensors_count(const kiln_safetensors *file);
/* index in file order; the view is valid until close. view.data is aligned
 * to its element size, so it may be read as float / int64_t directly. A
 * missing name gives KILN_ERROR_MISMATCH. */
kiln_status kiln_safetensors_get(const kiln_safetensors *file, int index,
                                 kiln_tensor_view *out);
kiln_status kiln_safetensors_find(const kiln_safetensors *file,
                                  const char *name, kiln_tensor_view *out);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
