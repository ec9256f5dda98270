/* libkiln_rt: the runtime that generated model objects link against.
 *
 * Plain C ABI (contract, see docs/runtime-abi.md). Every function that can
 * fail returns a kiln_status; KILN_OK is 0. The message of the last failure is
 * kept per model instance (kiln_model_last_error) and, for failures that have
 * no instance (creation, standalone safetensors calls), per thread
 * (kiln_last_error). Nothing here needs C++, MLIR or LLVM.
 *
 * Threads (docs/reliability.md, "Concurrency"):
 *  - Distinct instances, of one model or of several, may be used from any
 *    threads at once; each gives bit for bit what the same calls give in
 *    sequence, whatever the pool size.
 *  - One instance is used by one thread at a time: every call on it (getters,
 *    saves and kiln_model_last_error included) and every access through the
 *    pointers the introspection functions return. It may move between
 *    threads when the caller orders the calls (a mutex, a thread join).
 *  - Metadata is read-only and may back any number of instances; a
 *    kiln_safetensors handle may be read from several threads until it is
 *    closed.
 *  - Saves to one path from several threads at once each succeed and leave
 *    one of the files, complete; a load meanwhile reads one complete file.
 *  - The pool, kiln_set_num_threads and kiln_last_error (per thread) may be
 *    used from any thread.
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
  KILN_ERROR_FORMAT = 3,           /* malformed safetensors / metadata */
  KILN_ERROR_MISMATCH = 4,         /* tensor missing, wrong shape or dtype */
  KILN_ERROR_UNSUPPORTED = 5,      /* e.g. training a model compiled for inference */
  KILN_ERROR_OUT_OF_MEMORY = 6,
  KILN_ERROR_DEVICE = 7,           /* the GPU or its driver failed (kiln/cuda.h) */
  KILN_ERROR_COMMUNICATION = 8     /* a collective failed or timed out (kiln/comm.h) */
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
 * code for its parallel loops. Safe to call from several threads at once:
 * concurrent calls are serialised (one loop on the pool at a time, the
 * others wait), so instances on several threads share the pool's threads
 * rather than multiply them. Nested calls run inline.
 * There are min(n, kiln_get_num_threads()) contiguous, non-empty chunks, in
 * no particular order and on no particular thread; n <= 0 returns at once.
 * body must return normally (no C++ exception, no longjmp). */
void kiln_parallel_for(int64_t n,
                       void (*body)(int64_t begin, int64_t end, void *ctx),
                       void *ctx);

/* ---- Contractions ------------------------------------------------------ */

/* C[m x n] = A[m x k] B[k x n], or C += A B when accumulate != 0. Element (i, p)
 * of A is a[i * a_row + p * a_col], (p, j) of B is b[p * b_row + j * b_col],
 * (i, j) of C is c[i * c_row + j]: any transposition of A and B is a choice of
 * strides, read without a transposed copy. Called by generated code for its
 * 2-D contractions (kiln-cpu-gemm-to-runtime); threaded on the pool above;
 * results do not depend on the number of threads. Preconditions: m, n, k >= 0,
 * every addressed element in bounds, C overlapping neither A nor B. */
void kiln_sgemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_row,
                int64_t a_col, const float *b, int64_t b_row, int64_t b_col,
                float *c, int64_t c_row, int32_t accumulate);

/* `batch` independent kiln_sgemm products, item i reading A at a + i *
 * a_batch and B at b + i * b_batch and writing C at c + i * c_batch (all
 * with the same m, n, k and row / column strides): a batched matmul
 * (attention's scores and weighted values, torch.matmul with batch dimensions). The
 * items' blocks share the thread pool, so many small products run in
 * parallel where each alone would be too small to split. Each item's
 * summation order is kiln_sgemm's. */
void kiln_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k,
                        const float *a, int64_t a_batch, int64_t a_row,
                        int64_t a_col, const float *b, int64_t b_batch,
                        int64_t b_row, int64_t b_col, float *c,
                        int64_t c_batch, int64_t c_row, int32_t accumulate);

/* Epilogues of kiln_sgemm_fused (its `activation`). */
#define KILN_GEMM_NONE 0
#define KILN_GEMM_RELU 1 /* max(x, 0) as arith.maximumf: NaN kept, -0 -> +0 */
/* ReLU's backward (threshold_backward at 0): C where gate > 0, else +0. */
#define KILN_GEMM_RELU_BACKWARD 2

/* kiln_sgemm with an epilogue applied to each tile of C while it is still in
 * registers, so that a linear layer's bias and activation (and the ReLU
 * mask of a gradient) cost no pass of their own: C = A B (+ C when
 * accumulate != 0) + bias[j] (bias: n floats, or NULL for none), then
 *   KILN_GEMM_RELU:          act[i * act_row + j] = relu(C[i, j]);
 *   KILN_GEMM_RELU_BACKWARD: act[i * act_row + j] =
 *                              gate[i * gate_row + j] > 0 ? C[i, j] : 0
 * (C is written too: a training step keeps the pre-activation for the
 * backward; act may be c itself, with act_row == c_row; gate is read only
 * for KILN_GEMM_RELU_BACKWARD). Other activation codes apply none. When
 * a_sums is not NULL, also a_sums[i] += A(i, 0) + A(i, 1) + ... + A(i, k - 1),
 * added one at a time in that order (m floats: the bias gradient, the
 * column sums of dY, when A is dY^T of a weight gradient dY^T X). Called by
 * generated code (kiln-cpu-gemm-to-runtime); the same summation orders as
 * kiln_sgemm after a broadcast of the bias into C and as a loop over p, so
 * results are bit-identical to the unfused ops. Preconditions: kiln_sgemm's;
 * bias, act, gate and a_sums overlap neither A nor B, bias, gate and a_sums
 * not C, a_sums none of bias, act and gate, gate not act; act is C or does
 * not overlap it. */
void kiln_sgemm_fused(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t a_row, int64_t a_col, const float *b,
                      int64_t b_row, int64_t b_col, float *c, int64_t c_row,
                      int32_t accumulate, const float *bias,
                      int32_t activation, float *act, int64_t act_row,
                      const float *gate, int64_t gate_row, float *a_sums);

/* ---- Convolutions ------------------------------------------------------ */

/* A convolution over 1 to 3 spatial dimensions, described by
 * KILN_CONV_GEOMETRY_SIZE int64 values: batch N, input channels C, output
 * channels F, then three values (outermost spatial dimension first) for each
 * of: input size, output size, kernel size, stride, padding before (zero
 * padding; the padding after is implied by the output size) and dilation,
 * then the group count G (dividing C and F; G == C is depthwise). A
 * convolution over fewer than 3 dimensions fills the leading ones with sizes,
 * kernel, stride and dilation 1 and padding 0. Tensors are dense NCHW-style:
 * x [N, C, *in], w [F, C / G, *kernel], bias [F] or NULL, y and dy
 * [N, F, *out]; output channels [j F/G, (j+1) F/G) read input channels
 * [j C/G, (j+1) C/G).
 * Called by generated code (kiln-cpu-library-calls-to-runtime); threaded on
 * the pool; results do not depend on the number of threads. Preconditions:
 * the geometry is a valid convolution's, the outputs overlap no input. */
#define KILN_CONV_GEOMETRY_SIZE 22
/* y = conv(x, w) + bias (torch.nn.functional.conv*d with padding_mode zeros). */
void kiln_sconv_forward(const int64_t *geometry, const float *x, const float *w,
                        const float *bias, float *y);
/* dx = the gradient of sum(conv(x, w) * dy) with respect to x. */
void kiln_sconv_backward_input(const int64_t *geometry, const float *dy,
                               const float *w, float *dx);
/* dw = the gradient of sum(conv(x, w) * dy) with respect to w. */
void kiln_sconv_backward_weight(const int64_t *geometry, const float *x,
                                const float *dy, float *dw);

/* ---- Connectionist temporal classification (torch.nn.CTCLoss) --------- */

/* KILN_CTC_PARAMS_SIZE int64 values: input length T, batch N, classes C,
 * target length S, blank (in [0, C)), zero_infinity (0 or 1) and
 * concatenated (0 or 1). log_probs [T, N, C] (torch's layout), targets
 * [N, S] padded, or with concatenated [S], torch's 1-D form: the samples'
 * labels one after another, sample n's from sum(target_lengths[:n]);
 * input_lengths and target_lengths [N], loss and grad_loss [N],
 * grad_log_probs [T, N, C]. Called by generated code
 * (kiln-cpu-library-calls-to-runtime). Preconditions, checked by the runtime
 * before a call's first kernel (kiln_index_range): targets in [0, C),
 * input_lengths in [1, T], target_lengths in [0, S]. torch's
 * sum(target_lengths) == S for concatenated targets is a value check after
 * the kernel (the call is refused): until then the routines read no label
 * past S. */
#define KILN_CTC_PARAMS_SIZE 7
/* loss[n] = -log p(targets[n] | log_probs[:, n]) over all CTC alignments of
 * the first input_lengths[n] steps (inf when there is none; 0 instead with
 * zero_infinity), computed in float as torch 1.13's CPU kernel. */
void kiln_ctc_loss_forward(const int64_t *params, const float *log_probs,
                           const int64_t *targets, const int64_t *input_lengths,
                           const int64_t *target_lengths, float *loss);
/* torch 1.13's gradient of sum(loss * grad_loss) with respect to log_probs:
 * (exp(lp) - exp(log sum_{s: l'(s) = c} alpha_t(s) beta_t(s) + nll - lp))
 * * grad_loss[n] for t < input_lengths[n], 0 after (and 0 for the whole
 * sample when zero_infinity and its loss is infinite). The exp(lp) term
 * makes it the gradient of the logits under a log_softmax, as torch's; it
 * differs from the derivative with respect to log_probs themselves. */
void kiln_ctc_loss_backward(const int64_t *params, const float *log_probs,
                            const int64_t *targets,
                            const int64_t *input_lengths,
                            const int64_t *target_lengths,
                            const float *grad_loss, float *grad_log_probs);

/* ---- Model metadata (written by kilnc, read by kiln_model_create) ------ */

/* Element types. Values are fixed: they are stored in generated objects. 2 and
 * 3 are reserved for KILN_BF16 and KILN_F16. */
typedef enum kiln_dtype { KILN_F32 = 0, KILN_I64 = 1 } kiln_dtype;

/* The version of kiln_model_metadata this header describes. A runtime accepts
 * exactly the versions it knows; a new field or enum meaning bumps it. */
#define KILN_METADATA_VERSION 15

/* Where a model's kernels run. KILN_DEVICE_CUDA models (kilnc
 * --target=cuda) carry PTX in device_code (docs/runtime-abi.md, "CUDA
 * device layer"). */
typedef enum kiln_device_kind { KILN_DEVICE_CPU = 0, KILN_DEVICE_CUDA = 1 } kiln_device_kind;

/* kiln_model_metadata.flags. KILN_MODEL_DATA_PARALLEL: compiled with kilnc
 * --data-parallel, so its updates average the gradients over an attached
 * communicator (kiln/comm.h); without it, kiln_model_attach_comm refuses a
 * communicator of several processes for a trainable model. */
#define KILN_MODEL_DATA_PARALLEL 1u

/* What a tensor of the model is. Parameters and buffers form the state_dict
 * (load/save_parameters); optimizer state, step and lr form the optimizer
 * file. Inputs, target and outputs are supplied by the caller per call. */
typedef enum kiln_tensor_role {
  KILN_ROLE_PARAMETER = 0,       /* trainable, f32, has a gradient */
  KILN_ROLE_BUFFER = 1,          /* non-trainable state_dict entry (f32/i64) */
  KILN_ROLE_OPTIMIZER_STATE = 2, /* f32, e.g. <param>.momentum_buffer */
  KILN_ROLE_INPUT = 3,
  KILN_ROLE_TARGET = 4,          /* the loss target (train models whose loss takes one) */
  KILN_ROLE_OUTPUT = 5,
  KILN_ROLE_LOSS = 6,            /* f32 scalar written by gradients/train_step */
  KILN_ROLE_STEP = 7,            /* i64 scalar: completed optimizer steps */
  /* f32 scalar: the learning rate kernels use, one per parameter group
   * (torch's optimizer.param_groups) in group order; the first starts at
   * kiln_model_metadata.lr, every later one at its KILN_INIT_CONSTANT. */
  KILN_ROLE_LR = 8,
  /* f32 scalar written by train_step of a model that clips gradients with
   * error_if_nonfinite: the total gradient norm. When it is not finite the
   * runtime discards the step (no next value becomes current) and fails. */
  KILN_ROLE_GRAD_NORM = 9,
  /* f32, one per parameter in parameter order, of its parameter's shape:
   * the gradients kiln_model_accumulate adds up and kiln_model_apply steps
   * on, named <param>.grad (torch's param.grad). In no file. */
  KILN_ROLE_GRAD_SUM = 10,
  /* f32 scalar, one per parameter group, only in models whose declared
   * scheduler cycles momentum (CyclicLR / OneCycleLR with cycle_momentum):
   * the group's momentum (SGD, RMSprop) or beta1 (Adam, AdamW, Adamax,
   * RAdam) the kernels read, set by kiln_model_apply_scheduler; it starts
   * at its KILN_INIT_CONSTANT. Named `momentum`, then
   * `param_groups.<g>.momentum`; in the optimizer file. */
  KILN_ROLE_MOMENTUM = 11,
  /* f32 [2] written by the kernels of a model that checks values as torch
   * does (BCELoss: probabilities in [0, 1]; GaussianNLLLoss: var >= 0;
   * EmbeddingBag: offsets from 0, not decreasing): the first failing
   * element's flat index (-1: none; exact up to 2^24 elements) and its
   * value. When the index is >= 0 the runtime fails the call naming both,
   * and nothing the kernel wrote becomes current. Named
   * check.<torch class>.<what>[.<k>] (k: the k-th such check of the model);
   * in no file. */
  KILN_ROLE_CHECK = 12,
  /* f32 [rows, 1], one per parameter with a sparse gradient (the weight of
   * an Embedding or EmbeddingBag with sparse=True that nothing else reads)
   * in a model whose optimizer updates only the rows a batch read
   * (SparseAdam) and that accumulates gradients: how many times the last
   * GRADIENTS batch read each row (0: not read). Written by GRADIENTS, read
   * by ACCUMULATE. Named <param>.grad_rows; in no file. */
  KILN_ROLE_SPARSE_ROWS = 13,
  /* f32 [rows, 1], one per SPARSE_ROWS tensor, in the same order and shape:
   * its sum over the batches accumulated since the last APPLY, which APPLY
   * updates the rows of (torch's accumulated sparse gradient holds the union
   * of the batches' rows) and then zeroes, like the grad sums. Named
   * <param>.grad.rows; in no file. */
  KILN_ROLE_ROWS_SUM = 14
} kiln_tensor_role;

/* How init_parameters fills a parameter, buffer or optimizer state. */
typedef enum kiln_init_kind {
  KILN_INIT_ZEROS = 0,
  KILN_INIT_ONES = 1,
  KILN_INIT_UNIFORM = 2, /* args: lo, hi (lo <= hi); f32 only */
  KILN_INIT_NORMAL = 3,  /* args: mean, std (std >= 0); f32 only */
  KILN_INIT_CONSTANT = 4, /* args: value (finite); f32 only */
  /* torch.nn.utils.weight_norm's g: the 2-norm of parameter args[0]'s
   * initial value (the index among the parameters, a weight_norm's v) over
   * every dimension but args[1], or over all with args[1] = -1 (torch's
   * norm_except_dim); this tensor has that dimension's size elements (1 for
   * -1). f32 only. */
  KILN_INIT_NORM_OF = 5,
  /* N(0, 1) scaled to unit 2-norm: x / max(||x||, args[0]) (args[0] > 0),
   * torch's normalize(normal_(0, 1)), spectral_norm's u and v. f32 only. */
  KILN_INIT_UNIT_NORMAL = 6,
  /* torch.nn.utils.skip_init: init_parameters leaves the tensor as it is
   * (zeros after create, or what a load or the caller wrote), where torch
   * leaves uninitialized memory. No args. */
  KILN_INIT_EMPTY = 7
} kiln_init_kind;

typedef enum kiln_entry_point {
  KILN_ENTRY_FORWARD = 0,
  KILN_ENTRY_GRADIENTS = 1,
  KILN_ENTRY_TRAIN_STEP = 2,
  /* Gradient accumulation (optional; kilnc emits both for train models):
   * ACCUMULATE adds the gradients the GRADIENTS kernel just wrote to the
   * grad sums; APPLY is train_step's clipping and update on the grad sums,
   * which it then writes as zeros. */
  KILN_ENTRY_ACCUMULATE = 3,
  KILN_ENTRY_APPLY = 4,
  /* torch.optim.swa_utils.update_bn (optional; kilnc emits both for train
   * models whose file asks, training.update_bn): a train-mode
   * forward that writes only next buffers, every batch norm averaging its
   * statistics cumulatively (torch's momentum None); UPDATE_BN_FIRST also
   * starts them from torch's reset (running_mean 0, running_var 1,
   * num_batches_tracked 0). kiln_model_update_bn runs FIRST on the first
   * batch, UPDATE_BN on the others. */
  KILN_ENTRY_UPDATE_BN_FIRST = 5,
  KILN_ENTRY_UPDATE_BN = 6
} kiln_entry_point;

/* The mode a kernel is compiled for; kiln_model_set_training selects. */
typedef enum kiln_mode {
  KILN_MODE_ANY = 0,
  KILN_MODE_TRAIN = 1,
  KILN_MODE_EVAL = 2
} kiln_mode;

/* What one kernel argument points to (docs/runtime-abi.md). */
typedef enum kiln_arg_kind {
  /* The current value of tensors[tensor]: read, except outputs and the loss,
   * which are written. Inputs, target and outputs are the caller's. */
  KILN_ARG_TENSOR = 0,
  /* The next value of a parameter, buffer, optimizer state or step: written;
   * it becomes the current value when the kernel returns. */
  KILN_ARG_TENSOR_NEXT = 1,
  /* the gradient of parameter tensors[tensor]: written by GRADIENTS and
   * TRAIN_STEP, read by ACCUMULATE */
  KILN_ARG_GRADIENT = 2,
  KILN_ARG_RNG = 3,       /* const kiln_rng_state *: read; tensor = -1 */
  KILN_ARG_WORKSPACE = 4, /* workspace_bytes of scratch; tensor = -1 */
  /* The current value of a parameter, buffer, optimizer state, step, grad
   * sum or rows sum, updated in place: read, then overwritten with its next
   * value; never beside another argument of the same tensor. A kernel with
   * a KILN_ROLE_CHECK or KILN_ROLE_GRAD_NORM argument writes the current
   * value back unchanged when that check fails, so a call the runtime
   * refuses still changes nothing. */
  KILN_ARG_TENSOR_UPDATE = 5
} kiln_arg_kind;

/* Who takes a train model's optimizer step.
 * KILN_OPTIMIZER_COMPILED: the train_step kernel (loss, backward and update
 * in one compiled function; every optimizer but LBFGS).
 * KILN_OPTIMIZER_LBFGS: torch.optim.LBFGS, whose step calls its closure a
 * data-dependent number of times (iterations, line search): the runtime
 * runs torch's algorithm and calls the GRADIENTS kernel as the closure. Such
 * a model has no train_step, accumulate or apply kernels, one parameter
 * group, and its optimizer state is torch's, kept under the first
 * parameter's name p0 (torch keeps it in state[params[0]]), all f32, N the
 * number of parameter elements, H the history size, in this order:
 * <p0>.d [N], <p0>.t [], <p0>.old_dirs [H, N] and <p0>.old_stps [H, N]
 * (torch's lists, oldest first, rows past num_old zero), <p0>.ro [H],
 * <p0>.num_old [] (the lists' length), <p0>.H_diag [],
 * <p0>.prev_flat_grad [N], <p0>.prev_loss [], <p0>.n_iter [] and
 * <p0>.func_evals [] (torch's counters; exact up to 2^24). */
/* That list as an X-macro, the one place kilnc (which declares the
 * tensors) and the runtime (which checks and uses them) read it from:
 * X(key, shape), shape one of N ([N]), SCALAR ([]), H ([H]), HN ([H, N]). */
#define KILN_LBFGS_STATES(X)                                                   \
  X(d, N) X(t, SCALAR) X(old_dirs, HN) X(old_stps, HN) X(ro, H)                \
  X(num_old, SCALAR) X(H_diag, SCALAR) X(prev_flat_grad, N)                    \
  X(prev_loss, SCALAR) X(n_iter, SCALAR) X(func_evals, SCALAR)
typedef enum kiln_optimizer_driver {
  KILN_OPTIMIZER_COMPILED = 0,
  KILN_OPTIMIZER_LBFGS = 1
} kiln_optimizer_driver;
#define KILN_OPTIMIZER_ARGS 6

/* Every enum-valued field is an int32_t so the layout is fixed and an
 * unknown value can be rejected rather than being undefined behaviour. */
typedef struct kiln_init {
  int32_t kind;   /* kiln_init_kind */
  double args[2]; /* uniform: lo, hi; normal: mean, std; constant: value, 0;
                     otherwise 0 */
} kiln_init;

/* The values an i64 input or target may hold when the model indexes with
 * it (class indices of a loss): lo <= v < hi, or v == ignore when
 * has_ignore. The runtime checks every element the caller passes before any
 * kernel runs, as torch checks its targets, and fails the call with
 * KILN_ERROR_INVALID_ARGUMENT naming the element: a bad batch changes
 * nothing. All zero (checked = 0) for every other tensor. */
typedef struct kiln_index_range {
  int32_t checked;    /* 0 or 1 */
  int32_t has_ignore; /* 0 or 1; 1 only when checked */
  int64_t lo;         /* lo <= hi */
  int64_t hi;
  int64_t ignore;
} kiln_index_range;

typedef struct kiln_tensor_info {
  const char *name;     /* state_dict key; non-empty printable ASCII, no spaces */
  int32_t dtype;        /* kiln_dtype */
  int32_t role;         /* kiln_tensor_role */
  int32_t rank;         /* 0 (scalar) to 32 */
  const int64_t *shape; /* rank dimensions >= 0; may be NULL when rank is 0 */
  kiln_init init;
  kiln_index_range range; /* i64 inputs and targets only */
} kiln_tensor_info;

typedef struct kiln_kernel_arg {
  int32_t kind;   /* kiln_arg_kind */
  int32_t tensor; /* index into kiln_model_metadata.tensors, or -1 */
} kiln_kernel_arg;

/* A compiled kernel: args[i] points to argument i, described by
 * kiln_kernel_info.args[i]. */
typedef void (*kiln_kernel_fn)(void **args);

typedef struct kiln_kernel_info {
  int32_t entry; /* kiln_entry_point */
  int32_t mode;  /* kiln_mode */
  kiln_kernel_fn fn;
  int32_t num_args;
  const kiln_kernel_arg *args; /* the kernel's argument order */
  /* Counters one call draws from the random stream (0 to 2^62; non-zero
   * only with a KILN_ARG_RNG argument): the runtime adds it to
   * kiln_rng_state.offset after every call, so no two calls share samples.
   * Kernels only read the state. */
  int64_t rng_counters;
} kiln_kernel_info;

/* Everything the runtime knows about a compiled model. kilnc emits one as
 * `const kiln_model_metadata <name>__metadata`; kiln_model_create validates
 * it completely and copies what it needs, so it may also be built by hand. */
typedef struct kiln_model_metadata {
  uint32_t abi_version; /* KILN_METADATA_VERSION */
  uint32_t struct_size; /* sizeof(kiln_model_metadata) */
  const char *name;     /* the model name; same rules as tensor names */
  int32_t device;       /* kiln_device_kind */
  int32_t num_tensors;
  const kiln_tensor_info *tensors;
  int32_t num_kernels;
  const kiln_kernel_info *kernels;
  double lr;               /* initial learning rate of the first parameter
                              group (train models) */
  int64_t workspace_bytes; /* scratch for KILN_ARG_WORKSPACE, 0 to 2^48 */
  /* Who takes the optimizer step (kiln_optimizer_driver). */
  int32_t optimizer;
  /* The driver's hyper-parameters (KILN_OPTIMIZER_LBFGS: max_iter,
   * max_eval, tolerance_grad, tolerance_change, history_size, line search
   * (0 none, 1 strong_wolfe)); zeros otherwise. */
  double optimizer_args[KILN_OPTIMIZER_ARGS];
  /* KILN_DEVICE_CUDA: the kernels' module, device_code_bytes long (0 to
   * 2^31) and followed by a NUL: a fatbin (a cubin for the compiled
   * architecture and the PTX; 64-byte aligned) when kilnc had the CUDA
   * toolkit, else the PTX text; and the names of its kernels (the host code
   * launches kernel i by number, kiln_cuda_launch). NULL and 0 for the CPU. */
  const char *device_code;
  int64_t device_code_bytes;
  int32_t num_device_kernels;
  const char *const *device_kernels;
  /* KILN_MODEL_* bits; the runtime refuses bits it does not know. */
  uint32_t flags;
} kiln_model_metadata;

/* The per-instance random state kernels receive (KILN_ARG_RNG): a
 * counter-based generator keyed by seed, at position offset. */
typedef struct kiln_rng_state {
  uint64_t seed;
  uint64_t offset;
} kiln_rng_state;

/* ---- Model instances ---------------------------------------------------- */

typedef struct kiln_model kiln_model;

/* Validates `metadata` strictly (version, struct_size, every pointer, count,
 * name, shape and enum value; names unique) and allocates parameters,
 * buffers, optimizer state, gradients and the workspace. A model is
 * trainable when it has gradients/train_step kernels; it starts in train
 * mode if trainable (like a torch module), in eval mode otherwise.
 * Parameters start at zero until initialised or loaded. On failure *out is
 * NULL and kiln_last_error() says why. An instance must not be used from two
 * threads at once; distinct instances may (see "Threads" above). */
kiln_status kiln_model_create(const kiln_model_metadata *metadata,
                              kiln_model **out);
/* kiln_model_create on device `device` of the model's kind (the CUDA
 * device ordinal; 0, the host, for a CPU model). A CUDA model creates its
 * own context and stream on that GPU and loads its PTX here: without a
 * driver or a device this fails with KILN_ERROR_UNSUPPORTED ("... no CUDA
 * device ..."), never later. kiln_model_create is device 0. */
kiln_status kiln_model_create_on_device(const kiln_model_metadata *metadata,
                                        int32_t device, kiln_model **out);
void kiln_model_destroy(kiln_model *model);
/* Message of the last failed call on this instance ("" if none). */
const char *kiln_model_last_error(const kiln_model *model);

/* PyTorch's default initializers as given by the metadata, from a seed
 * (same seed, same values; not bit-identical to torch's generator), for
 * parameters and buffers. Also resets the optimizer state to its initial
 * values, the step to 0, the lr to the metadata's, and the random state to
 * {seed, 0}. */
kiln_status kiln_model_init_parameters(kiln_model *model, uint64_t seed);

/* Parameters and buffers as safetensors keyed by state_dict names, like
 * torch's state_dict. Loading is strict: every one must be present with its
 * exact dtype and shape, and no other tensor may be. Saving writes a
 * temporary file and renames it. */
kiln_status kiln_model_load_parameters(kiln_model *model, const char *path);
kiln_status kiln_model_save_parameters(kiln_model *model, const char *path);

/* Optimizer state as safetensors (train models): every optimizer-state
 * tensor under its name, `step` (I64, shape []), `lr` (F32, shape []) and the
 * random state as `rng.seed` and `rng.offset` (I64, shape [], the u64 bits),
 * so a resumed run continues the same random stream. Strict like
 * parameters. */
kiln_status kiln_model_load_optimizer_state(kiln_model *model,
                                            const char *path);
kiln_status kiln_model_save_optimizer_state(kiln_model *model,
                                            const char *path);

/* Everything a resumed training run needs, in one safetensors file written
 * atomically and durably like the others: the parameters and buffers under
 * their state_dict names, then what the optimizer file holds (optimizer
 * state, `step`, `lr`, `rng.seed`, `rng.offset`), all names distinct
 * (docs/runtime-abi.md). One call snapshots the instance, so the two halves
 * always belong to the same step. Train models only (KILN_ERROR_UNSUPPORTED
 * otherwise). Loading is strict like the other loaders and all or nothing:
 * on any error the instance is unchanged. */
kiln_status kiln_model_save_checkpoint(kiln_model *model, const char *path);
kiln_status kiln_model_load_checkpoint(kiln_model *model, const char *path);

/* Runs the forward kernel of the current mode: inputs[i] / outputs[i] in
 * metadata order, dense row-major. Outputs must not overlap inputs or each
 * other (KILN_ERROR_INVALID_ARGUMENT). In train mode a forward kernel may
 * update buffers (batch-norm running statistics), as torch's does. */
kiln_status kiln_model_forward(kiln_model *model, const void *const *inputs,
                               void *const *outputs);
/* Loss and every parameter gradient for one batch, without an optimizer
 * update. The gradients stay in the instance: read them with
 * kiln_model_gradient. They are this process's own: a model compiled with
 * --data-parallel averages in train_step and apply only (as DDP under
 * no_sync(); docs/distributed.md). A model whose loss takes no target (no
 * KILN_ROLE_TARGET tensor: triplet losses, a loss output; the header's
 * <PREFIX>_HAS_TARGET is 0) does not read `target` here, in train_step or
 * accumulate: pass NULL. */
kiln_status kiln_model_gradients(kiln_model *model, const void *const *inputs,
                                 const void *target, float *loss);
/* One optimizer step on one batch; *loss receives the batch loss.
 * kiln_model_gradient then reads the gradients the step used (after
 * clipping), as torch's param.grad after backward, clip_grad_* and step;
 * after a step that clip_grad_norm's error_if_nonfinite refused they are
 * that batch's, scaled by the non-finite clip coefficient. */
kiln_status kiln_model_train_step(kiln_model *model, const void *const *inputs,
                                  const void *target, float *loss);

/* The same three with the data already in the model's device memory
 * (docs/runtime-abi.md, "Device pointers"): inputs, outputs, target and
 * *loss are device pointers of the instance's device (for a CUDA model:
 * cudaMalloc / cuMemAlloc memory of that device, used as they are, never
 * copied; for a CPU model: host memory, exactly as the calls above), and
 * `loss` may be NULL (not written). `stream` is the caller's cudaStream_t
 * (or CUstream; NULL: the device's default stream): the call's work runs
 * after what the caller queued on it before, and what the caller queues on
 * it afterwards runs after the call's work, while the call itself may
 * return before the work is done (read *loss after a stream
 * synchronisation). Checks that read data on the host make the call wait
 * for that data: class-index inputs and targets (copied to the host to be
 * range-checked before any kernel runs), and a model's value checks and
 * clip_grad_norm's error_if_nonfinite. A CPU model has no streams: its
 * `stream` must be NULL (KILN_ERROR_INVALID_ARGUMENT otherwise). */
kiln_status kiln_model_forward_device(kiln_model *model, const void *const *inputs,
                                      void *const *outputs, void *stream);
kiln_status kiln_model_gradients_device(kiln_model *model, const void *const *inputs,
                                        const void *target, float *loss, void *stream);
kiln_status kiln_model_train_step_device(kiln_model *model, const void *const *inputs,
                                         const void *target, float *loss, void *stream);

/* Gradient accumulation: torch's loss.backward() k times, then
 * optimizer.step() and optimizer.zero_grad() (1.13's default,
 * set_to_none=False). accumulate runs gradients on one batch (so
 * kiln_model_gradient then reads this batch's gradients) and adds them to
 * the instance's grad sums (kiln_model_grad_sum), returning the batch loss;
 * buffers (running statistics) advance as in any train-mode call, the step
 * does not. A batch the checks refuse (bad target) changes nothing. A mean
 * loss is not rescaled: k calls add k means, exactly like torch.
 * apply clips the grad sums if the model clips, takes one optimizer step on
 * them, advances the step and zeroes them; a step refused by
 * clip_grad_norm's error_if_nonfinite changes nothing, grad sums included.
 * apply with nothing accumulated steps on zero gradients, like torch with
 * zeroed (not None) gradients. zero_grad zeroes the grad sums.
 * init_parameters zeroes them; no file holds them (like torch's
 * state_dicts, which hold no .grad); loading a file leaves them as they
 * are. KILN_ERROR_UNSUPPORTED for a model without these kernels. */
kiln_status kiln_model_accumulate(kiln_model *model, const void *const *inputs,
                                  const void *target, float *loss);
kiln_status kiln_model_apply(kiln_model *model);
kiln_status kiln_model_zero_grad(kiln_model *model);
/* Grad sum `index` (parameter order), valid like kiln_model_parameter's. */
kiln_status kiln_model_grad_sum(kiln_model *model, int index, float **data);

/* torch.optim.swa_utils.update_bn(loader, model): every BatchNorm's
 * running statistics recomputed over `num_batches` batches (batches[b]:
 * that batch's inputs, as forward takes them) as a cumulative average,
 * starting from torch's reset (running_mean 0, running_var 1,
 * num_batches_tracked 0), in train mode whatever the instance's mode (so
 * dropout draws, as in torch) and leaving the mode as it was. Typically on
 * an instance that holds an averaged model (kiln/swa.h). Other buffers
 * (InstanceNorm's with track_running_stats) advance as in any train-mode
 * forward, as in torch. The kernels are compiled on request (the model
 * file's training.update_bn: true, which kilnc refuses for a model without
 * such a batch norm): KILN_ERROR_UNSUPPORTED without them, and for
 * inference compiles. num_batches < 1 or a NULL batch:
 * KILN_ERROR_INVALID_ARGUMENT; a batch the checks refuse changes nothing. */
kiln_status kiln_model_update_bn(kiln_model *model, int num_batches,
                                 const void *const *const *batches);

/* lr exists only in train models (KILN_ERROR_UNSUPPORTED otherwise);
 * set_lr rejects a value that is not finite. A model compiled with several
 * parameter groups has one lr per group: get_lr reads the first group's,
 * set_lr sets every group's (as a loop over torch's param_groups would). */
kiln_status kiln_model_get_lr(const kiln_model *model, float *lr);
kiln_status kiln_model_set_lr(kiln_model *model, float lr);
/* The parameter groups (torch's optimizer.param_groups): 1 for a train
 * model without groups, 0 for an inference model (or NULL). */
int kiln_model_num_param_groups(const kiln_model *model);
/* Group `group`'s learning rate (index checked; KILN_ERROR_UNSUPPORTED for
 * an inference model); set rejects a value that is not finite. */
kiln_status kiln_model_get_group_lr(const kiln_model *model, int group, float *lr);
kiln_status kiln_model_set_group_lr(kiln_model *model, int group, float lr);
/* Group `group`'s cycled momentum (SGD's or RMSprop's momentum, the Adam
 * family's beta1: KILN_ROLE_MOMENTUM) as the kernels read it;
 * KILN_ERROR_UNSUPPORTED for a model compiled without one (its momentum is
 * a constant: the model file declares no scheduler that cycles it). */
kiln_status kiln_model_get_group_momentum(const kiln_model *model, int group, float *momentum);
kiln_status kiln_model_get_step(const kiln_model *model, int64_t *step);
/* The bytes kiln_model_create allocated for this instance: one arena with
 * its parameters, buffers, optimizer state (and their second copies),
 * gradients and workspace, by the rules of kiln/arena.h; equal to the
 * generated header's <PREFIX>_ARENA_BYTES. */
kiln_status kiln_model_arena_bytes(const kiln_model *model, uint64_t *bytes);
/* Train (1) / eval (0) mode: selects the kernel-table entry for each entry
 * point (an exact mode match first, else a KILN_MODE_ANY entry). Train mode
 * on a model compiled for inference is KILN_ERROR_UNSUPPORTED. */
kiln_status kiln_model_set_training(kiln_model *model, int training);
kiln_status kiln_model_get_training(const kiln_model *model, int *training);

/* Introspection, index in metadata order within each role. Pointers stay
 * valid until the next call that changes the instance (a kernel that
 * writes next values beside the current ones, KILN_ARG_TENSOR_NEXT, swaps
 * the two; kilnc's in-place kernels do not). The name, data and numel out-pointers may be NULL when not
 * wanted. A NULL model counts as 0 parameters / buffers / states.
 * A CUDA instance's tensors live in GPU memory: `data` then points to a
 * host copy taken by the call (failing with the copy's status), valid until
 * the next call on the instance; writing it changes nothing on the GPU. */
int kiln_model_num_parameters(const kiln_model *model);
kiln_status kiln_model_parameter(kiln_model *model, int index,
                                 const char **name, float **data,
                                 int64_t *numel);
kiln_status kiln_model_gradient(kiln_model *model, int index, float **data);
int kiln_model_num_buffers(const kiln_model *model);
kiln_status kiln_model_buffer(kiln_model *model, int index, const char **name,
                              kiln_dtype *dtype, void **data, int64_t *numel);
int kiln_model_num_states(const kiln_model *model);
kiln_status kiln_model_state(kiln_model *model, int index, const char **name,
                             float **data, int64_t *numel);
/* The instance's random state (KILN_ARG_RNG), for inspection and tests. */
kiln_status kiln_model_get_rng(const kiln_model *model, kiln_rng_state *rng);
/* torch.nn.utils.parameters_to_vector / vector_to_parameters: every
 * parameter in index order (the state_dict's), flattened into one f32
 * vector of kiln_model_parameter_elements elements, and back. `numel` must
 * be that count (KILN_ERROR_INVALID_ARGUMENT otherwise, nothing copied).
 * On a CUDA instance they copy from and to the device. */
int64_t kiln_model_parameter_elements(const kiln_model *model);
kiln_status kiln_model_parameters_to_vector(kiln_model *model, float *out, int64_t numel);
kiln_status kiln_model_vector_to_parameters(kiln_model *model, const float *in, int64_t numel);

/* ---- Safetensors (standalone, used by the model driver and by tools) ---- */

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
