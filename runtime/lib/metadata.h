#ifndef KILN_RUNTIME_LIB_METADATA_H
#define KILN_RUNTIME_LIB_METADATA_H

#include "device.h"
#include "error.h"

#include <string>
#include <vector>

namespace kiln::rt {

/* How a parameter, buffer or state tensor starts (kiln_init, validated). */
struct Init {
  enum Kind { Zeros = KILN_INIT_ZEROS, Ones = KILN_INIT_ONES,
              Uniform = KILN_INIT_UNIFORM, Normal = KILN_INIT_NORMAL,
              Constant = KILN_INIT_CONSTANT, NormOf = KILN_INIT_NORM_OF,
              UnitNormal = KILN_INIT_UNIT_NORMAL, Empty = KILN_INIT_EMPTY };
  Kind kind = Zeros;
  double a = 0; // uniform: lo, normal: mean, constant: the value,
                // norm_of: the source parameter, unit_normal: eps
  double b = 0; // uniform: hi, normal: std, norm_of: the kept dim (-1: none)
};

/* The values an i64 input or target may hold (kiln_index_range, validated). */
struct IndexRange {
  bool checked = false;
  bool has_ignore = false;
  int64_t lo = 0, hi = 0, ignore = 0;

  bool accepts(int64_t v) const {
    return !checked || (lo <= v && v < hi) || (has_ignore && v == ignore);
  }
};

struct TensorSpec {
  std::string name;
  kiln_dtype dtype = KILN_F32;
  kiln_tensor_role role = KILN_ROLE_INPUT;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  Init init;
  IndexRange range;
  int role_index = 0; // position among the tensors of its role
};

struct KernelSpec {
  kiln_kernel_fn fn = nullptr;
  std::vector<kiln_kernel_arg> args;
  uint64_t rng_counters = 0; /* added to the rng offset after each call */
};

/* torch.optim.LBFGS's hyper-parameters and state tensors
 * (KILN_OPTIMIZER_LBFGS), validated. */
struct LbfgsSpec {
  int64_t max_iter = 0, max_eval = 0, history_size = 0;
  double tolerance_grad = 0, tolerance_change = 0;
  bool strong_wolfe = false;
  int64_t numel = 0; /* N: the parameters' elements, in parameter order */
  /* The state tensors in KILN_LBFGS_STATES's order: state[kD] is <p0>.d, ... */
  enum { kD, kT, kOldDirs, kOldStps, kRo, kNumOld, kHDiag, kPrevFlatGrad,
         kPrevLoss, kNIter, kFuncEvals, kNumStates };
  int state[kNumStates] = {};
};
#define KILN_LBFGS_COUNT(key, shape) +1
static_assert(LbfgsSpec::kNumStates == 0 KILN_LBFGS_STATES(KILN_LBFGS_COUNT),
              "LbfgsSpec's indices follow KILN_LBFGS_STATES");
#undef KILN_LBFGS_COUNT

constexpr int kNumEntries = 7; // kiln_entry_point values
constexpr int kTrain = 0, kEval = 1;

/* A validated copy of a kiln_model_metadata: the instance never reads the
 * caller's struct again. `tensors` keeps metadata order; the per-role index
 * lists give the order of the public API (inputs[i], parameter i, ...). */
struct ModelSpec {
  std::string name;
  const Device *device = nullptr; /* never null after read_metadata */
  bool trainable = false;
  std::vector<TensorSpec> tensors;
  std::vector<int> params, buffers, states, inputs, outputs;
  std::vector<int> grad_sums; /* grad_sums[i]: parameter i's (KILN_ROLE_GRAD_SUM) */
  /* KILN_ROLE_SPARSE_ROWS and KILN_ROLE_ROWS_SUM: rows_sums[i] sums
   * sparse_rows[i] (the same parameter's rows). */
  std::vector<int> sparse_rows, rows_sums;
  int target = -1, loss = -1, step = -1, grad_norm = -1;
  /* One lr tensor per parameter group, in group order, and each group's
   * initial lr (the metadata's lr, then the constant inits). */
  std::vector<int> lrs;
  std::vector<double> initial_lrs;
  /* The cycled momentum of each group (KILN_ROLE_MOMENTUM; none, or one per
   * group, starting at their constant inits). */
  std::vector<int> momenta;
  /* The loss's value checks (KILN_ROLE_CHECK), read after each kernel that
   * writes one. */
  std::vector<int> checks;
  int64_t workspace_bytes = 0;
  int optimizer = KILN_OPTIMIZER_COMPILED; /* kiln_optimizer_driver */
  bool data_parallel = false;               /* KILN_MODEL_DATA_PARALLEL */
  LbfgsSpec lbfgs;                          /* KILN_OPTIMIZER_LBFGS only */
  std::vector<KernelSpec> kernels;
  /* KILN_DEVICE_CUDA: the PTX module (in the model's object) and the
   * names of its kernels, in kiln_cuda_launch's numbering. */
  const char *device_code = nullptr;
  std::vector<std::string> device_kernels;
  /* kernel[entry][kTrain|kEval]: index into kernels after the mode-any
   * fallback, or -1 when that entry point has no kernel in that mode. */
  int kernel[kNumEntries][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1},
                                {-1, -1}, {-1, -1}, {-1, -1}};
};

/* Validates `metadata` (never trusting it) and copies it into `out`. Every
 * error names the field ("metadata: tensor 3 ('fc.bias'): unknown dtype 7"). */
Error read_metadata(const kiln_model_metadata *metadata, ModelSpec *out);

} // namespace kiln::rt

#endif
