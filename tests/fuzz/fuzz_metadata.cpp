// libFuzzer target: the model-artifact metadata reader (kiln_model_create).
//
// kilnc writes a kiln_model_metadata struct into every object; the runtime
// validates it completely before trusting it. Here the struct is built from
// the fuzzer's bytes (FuzzedDataProvider): versions, counts, names, dtypes,
// roles, ranks, shapes, initializers, kernel tables and argument lists, with
// valid values most of the time so that inputs get past the first check.
// An accepted model is then used: parameters initialised, every entry point
// called in both modes, a checkpoint saved and loaded back. Its kernels are harness
// functions that read every tensor argument and write every written one in
// full, from the shapes in the metadata, so a buffer the runtime allocated
// or passed with the wrong size shows under AddressSanitizer.
//
// The caller's buffers hold zeros, so a class-index range decides whether
// the training calls run or are refused.
//
// Bounds of the harness itself (not of the runtime): at most 12 tensors of
// rank <= 4 with dimensions <= 6, or dimensions that must be rejected
// (negative, or overflowing int64 bytes); workspace <= 4 KiB or over the
// documented 2^48. A metadata struct that declares a 16 GiB tensor is a
// valid model that fails with KILN_ERROR_OUT_OF_MEMORY at create, which
// libFuzzer would report as an out-of-memory finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <kiln/runtime.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace {

constexpr int kMaxKernels = 8;

/* The metadata the current input built; the kernels read their argument
 * lists and shapes from it. */
const kiln_model_metadata *g_metadata = nullptr;

/* Bytes of a tensor the runtime accepted. A zero dimension first: the
 * runtime rightly accepts [2^63-1, 0] (no elements), whose other
 * dimensions must not be multiplied (found by this fuzzer, 2026-12-03). */
int64_t bytes_of(const kiln_tensor_info &t) {
  for (int d = 0; d < t.rank; ++d)
    if (t.shape[d] == 0)
      return 0;
  int64_t n = t.dtype == KILN_I64 ? 8 : 4;
  for (int d = 0; d < t.rank; ++d)
    n *= t.shape[d];
  return n;
}

/* A kernel that reads every byte it may read and writes every byte it must
 * write, as a compiled kernel may. */
template <int K> void kernel(void **args) {
  const kiln_kernel_info &info = g_metadata->kernels[K];
  volatile unsigned char sink = 0;
  for (int i = 0; i < info.num_args; ++i) {
    const kiln_kernel_arg &arg = info.args[i];
    auto *bytes = static_cast<unsigned char *>(args[i]);
    if (arg.kind == KILN_ARG_RNG) {
      const auto *rng = static_cast<const kiln_rng_state *>(args[i]);
      sink = sink + static_cast<unsigned char>(rng->seed + rng->offset);
      continue;
    }
    if (arg.kind == KILN_ARG_WORKSPACE) {
      for (int64_t b = 0; b < g_metadata->workspace_bytes; ++b)
        bytes[b] = static_cast<unsigned char>(b);
      continue;
    }
    const kiln_tensor_info &t = g_metadata->tensors[arg.tensor];
    const bool written = arg.kind != KILN_ARG_TENSOR ||
                         t.role == KILN_ROLE_OUTPUT || t.role == KILN_ROLE_LOSS;
    const int64_t n = bytes_of(t);
    for (int64_t b = 0; b < n; ++b) {
      if (written)
        bytes[b] = 0; // zeros: a valid f32, i64 step and lr alike
      else
        sink = sink + bytes[b];
    }
  }
}

template <int... K>
constexpr kiln_kernel_fn kernels_of(std::integer_sequence<int, K...>, int k) {
  constexpr kiln_kernel_fn table[] = {&kernel<K>...};
  return table[k];
}

/* Everything the metadata points to, owned per input. */
struct Built {
  std::deque<std::string> names;
  std::deque<std::vector<int64_t>> shapes;
  std::deque<std::vector<kiln_kernel_arg>> args;
  std::vector<kiln_tensor_info> tensors;
  std::vector<kiln_kernel_info> kernels;
  kiln_model_metadata metadata{};
};

const char *pick_name(FuzzedDataProvider &in, Built &b) {
  static const char *const pool[] = {
      "w", "b", "x", "t", "y", "loss", "step", "lr", "fc.weight",
      "bn.running_mean", "bn.num_batches_tracked", "w.momentum_buffer",
      "rng.seed", "rng.offset", "", "a b", "x\n", "\x7f"};
  switch (in.ConsumeIntegralInRange(0, 15)) {
  case 0:
    return nullptr;
  case 1:
  case 2:
    b.names.push_back(in.ConsumeRandomLengthString(40));
    return b.names.back().c_str();
  case 3:
    b.names.push_back(std::string(1025, 'n')); // one over the limit
    return b.names.back().c_str();
  default:
    return pool[in.ConsumeIntegralInRange<size_t>(0, std::size(pool) - 1)];
  }
}

int64_t pick_dim(FuzzedDataProvider &in) {
  static const int64_t bad[] = {-1, std::numeric_limits<int64_t>::min(),
                                int64_t{1} << 62,
                                std::numeric_limits<int64_t>::max()};
  if (in.ConsumeIntegralInRange(0, 31) == 0)
    return bad[in.ConsumeIntegralInRange<size_t>(0, std::size(bad) - 1)];
  return in.ConsumeIntegralInRange<int64_t>(0, 6);
}

double pick_double(FuzzedDataProvider &in) {
  switch (in.ConsumeIntegralInRange(0, 7)) {
  case 0:
    return std::numeric_limits<double>::quiet_NaN();
  case 1:
    return std::numeric_limits<double>::infinity();
  case 2:
    return in.ConsumeFloatingPoint<double>();
  default:
    return in.ConsumeFloatingPointInRange<double>(-2, 2);
  }
}

kiln_tensor_info pick_tensor(FuzzedDataProvider &in, Built &b) {
  kiln_tensor_info t{};
  t.name = pick_name(in, b);
  t.dtype = in.ConsumeIntegralInRange(-1, 2);
  t.role = in.ConsumeIntegralInRange(-1, 9);
  t.rank = in.ConsumeIntegralInRange(0, 15) == 0
               ? in.PickValueInArray({-1, 33})
               : in.ConsumeIntegralInRange(0, 4);
  std::vector<int64_t> shape;
  for (int d = 0; d < t.rank && d < 4; ++d)
    shape.push_back(pick_dim(in));
  b.shapes.push_back(std::move(shape));
  // rank > 0 with no shape array must be refused; an invalid rank is
  // refused before the shape is read.
  t.shape = b.shapes.back().empty() || in.ConsumeIntegralInRange(0, 31) == 0
                ? nullptr
                : b.shapes.back().data();
  t.init.kind = in.ConsumeIntegralInRange(-1, 4);
  t.init.args[0] = pick_double(in);
  t.init.args[1] = pick_double(in);
  if (in.ConsumeIntegralInRange(0, 7) == 0)
    t.range = {in.ConsumeIntegralInRange(0, 2), in.ConsumeIntegralInRange(0, 2),
               in.ConsumeIntegralInRange<int64_t>(-3, 3),
               in.ConsumeIntegralInRange<int64_t>(-3, 12), in.ConsumeIntegral<int64_t>()};
  return t;
}

kiln_kernel_info pick_kernel(FuzzedDataProvider &in, Built &b, int index) {
  kiln_kernel_info k{};
  k.entry = in.ConsumeIntegralInRange(-1, 3);
  k.mode = in.ConsumeIntegralInRange(-1, 3);
  k.fn = in.ConsumeIntegralInRange(0, 31) == 0
             ? nullptr
             : kernels_of(std::make_integer_sequence<int, kMaxKernels>(), index);
  std::vector<kiln_kernel_arg> args(in.ConsumeIntegralInRange(0, 20));
  const int num_tensors = static_cast<int>(b.tensors.size());
  for (kiln_kernel_arg &a : args) {
    a.kind = in.ConsumeIntegralInRange(-1, 5);
    a.tensor = in.ConsumeIntegralInRange(-2, num_tensors);
  }
  b.args.push_back(std::move(args));
  k.num_args = static_cast<int32_t>(b.args.back().size());
  k.args = b.args.back().empty() && in.ConsumeBool() ? nullptr : b.args.back().data();
  if (k.num_args > 0 && in.ConsumeIntegralInRange(0, 31) == 0)
    k.args = nullptr; // must be refused
  k.rng_counters = in.ConsumeIntegralInRange(0, 7) == 0
                       ? in.ConsumeIntegral<int64_t>()
                       : in.ConsumeIntegralInRange<int64_t>(0, 64);
  return k;
}

/* A valid trainable model with fuzzed sizes, optional buffers, optimizer
 * state, random-number argument and per-mode forward kernels: random tables
 * almost never satisfy every rule at once, and the rest of the runtime is
 * only reached through an accepted model. mutate() then breaks a few
 * fields of it. */
void build_trainable(FuzzedDataProvider &in, Built &b) {
  auto add = [&](std::string name, kiln_tensor_role role, kiln_dtype dtype,
                 bool scalar, kiln_init init) {
    b.names.push_back(std::move(name));
    std::vector<int64_t> shape;
    for (int d = scalar ? 0 : in.ConsumeIntegralInRange(0, 3); d > 0; --d)
      shape.push_back(in.ConsumeIntegralInRange<int64_t>(0, 5));
    b.shapes.push_back(std::move(shape));
    kiln_tensor_info t{};
    t.name = b.names.back().c_str();
    t.dtype = dtype;
    t.role = role;
    t.rank = static_cast<int32_t>(b.shapes.back().size());
    t.shape = b.shapes.back().empty() ? nullptr : b.shapes.back().data();
    t.init = init;
    b.tensors.push_back(t);
    return static_cast<int>(b.tensors.size()) - 1;
  };
  const kiln_init zeros{KILN_INIT_ZEROS, {0, 0}};
  std::vector<int> params, buffers, states, inputs, outputs;
  for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) {
    kiln_init init{in.PickValueInArray({KILN_INIT_ZEROS, KILN_INIT_ONES,
                                        KILN_INIT_UNIFORM, KILN_INIT_NORMAL}),
                   {-0.5, 0.5}};
    params.push_back(add("p" + std::to_string(i), KILN_ROLE_PARAMETER, KILN_F32, false, init));
    if (in.ConsumeBool())
      states.push_back(add("p" + std::to_string(i) + ".momentum_buffer",
                           KILN_ROLE_OPTIMIZER_STATE, KILN_F32, false, zeros));
  }
  for (int i = in.ConsumeIntegralInRange(0, 2); i > 0; --i)
    buffers.push_back(add("bn" + std::to_string(i), KILN_ROLE_BUFFER,
                          in.ConsumeBool() ? KILN_F32 : KILN_I64, false, zeros));
  for (int i = in.ConsumeIntegralInRange(1, 2); i > 0; --i)
    inputs.push_back(add("x" + std::to_string(i), KILN_ROLE_INPUT, KILN_F32, false, zeros));
  for (int i = in.ConsumeIntegralInRange(1, 2); i > 0; --i)
    outputs.push_back(add("y" + std::to_string(i), KILN_ROLE_OUTPUT, KILN_F32, false, zeros));
  const int target = add("t", KILN_ROLE_TARGET, in.ConsumeBool() ? KILN_F32 : KILN_I64,
                         false, zeros);
  if (b.tensors[target].dtype == KILN_I64 && in.ConsumeBool()) // class indices
    b.tensors[target].range = {1, in.ConsumeBool() ? 1 : 0, 0,
                               in.ConsumeIntegralInRange<int64_t>(0, 5), 0};
  const int loss = add("loss", KILN_ROLE_LOSS, KILN_F32, true, zeros);
  const int step = add("step", KILN_ROLE_STEP, KILN_I64, true, zeros);
  const int lr = add("lr", KILN_ROLE_LR, KILN_F32, true, zeros);

  using Args = std::vector<kiln_kernel_arg>;
  auto append = [](Args &args, int32_t kind, const std::vector<int> &tensors) {
    for (int t : tensors)
      args.push_back({kind, t});
  };
  const bool rng = in.ConsumeBool();
  auto kernel = [&](int32_t entry, int32_t mode, Args args) {
    if (rng)
      args.push_back({KILN_ARG_RNG, -1});
    if (in.ConsumeBool())
      args.push_back({KILN_ARG_WORKSPACE, -1});
    b.args.push_back(std::move(args));
    kiln_kernel_info k{};
    k.entry = entry;
    k.mode = mode;
    k.fn = kernels_of(std::make_integer_sequence<int, kMaxKernels>(),
                      static_cast<int>(b.kernels.size()));
    k.num_args = static_cast<int32_t>(b.args.back().size());
    k.args = b.args.back().empty() ? nullptr : b.args.back().data();
    k.rng_counters = rng ? in.ConsumeIntegralInRange<int64_t>(0, 1 << 20) : 0;
    b.kernels.push_back(k);
  };
  Args forward;
  append(forward, KILN_ARG_TENSOR, params);
  append(forward, KILN_ARG_TENSOR, buffers);
  append(forward, KILN_ARG_TENSOR, inputs);
  append(forward, KILN_ARG_TENSOR, outputs);
  if (in.ConsumeBool()) { // torch-like: train-mode forward updates buffers
    Args train = forward;
    append(train, KILN_ARG_TENSOR_NEXT, buffers);
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_TRAIN, train);
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_EVAL, forward);
  } else {
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, forward);
  }
  Args gradients;
  append(gradients, KILN_ARG_TENSOR, params);
  append(gradients, KILN_ARG_TENSOR, inputs);
  append(gradients, KILN_ARG_TENSOR, {target, loss});
  append(gradients, KILN_ARG_GRADIENT, params);
  kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, gradients);
  Args train_step;
  append(train_step, KILN_ARG_TENSOR, params);
  append(train_step, KILN_ARG_TENSOR, buffers);
  append(train_step, KILN_ARG_TENSOR, states);
  append(train_step, KILN_ARG_TENSOR, {step, lr});
  append(train_step, KILN_ARG_TENSOR, inputs);
  append(train_step, KILN_ARG_TENSOR, {target, loss});
  append(train_step, KILN_ARG_TENSOR_NEXT, params);
  append(train_step, KILN_ARG_TENSOR_NEXT, buffers);
  append(train_step, KILN_ARG_TENSOR_NEXT, states);
  append(train_step, KILN_ARG_TENSOR_NEXT, {step});
  kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, train_step);
}

/* Breaks up to three fields of a table built by build_trainable. */
void mutate(FuzzedDataProvider &in, Built &b) {
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    const int num_tensors = static_cast<int>(b.tensors.size());
    switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: // a whole tensor entry
      b.tensors[in.ConsumeIntegralInRange(0, num_tensors - 1)] = pick_tensor(in, b);
      break;
    case 1: { // one argument
      std::vector<kiln_kernel_arg> &args =
          b.args[in.ConsumeIntegralInRange<size_t>(0, b.args.size() - 1)];
      if (args.empty())
        break;
      kiln_kernel_arg &a = args[in.ConsumeIntegralInRange<size_t>(0, args.size() - 1)];
      a.kind = in.ConsumeIntegralInRange(-1, 5);
      a.tensor = in.ConsumeIntegralInRange(-2, num_tensors);
      break;
    }
    case 2: { // a dropped argument
      const size_t k = in.ConsumeIntegralInRange<size_t>(0, b.args.size() - 1);
      if (b.args[k].empty())
        break;
      b.args[k].erase(b.args[k].begin() +
                      in.ConsumeIntegralInRange<size_t>(0, b.args[k].size() - 1));
      b.kernels[k].num_args = static_cast<int32_t>(b.args[k].size());
      break;
    }
    default: { // a kernel's entry point or mode
      kiln_kernel_info &k =
          b.kernels[in.ConsumeIntegralInRange<size_t>(0, b.kernels.size() - 1)];
      k.entry = in.ConsumeIntegralInRange(-1, 3);
      k.mode = in.ConsumeIntegralInRange(-1, 3);
      break;
    }
    }
  }
}

void build(FuzzedDataProvider &in, Built &b) {
  kiln_model_metadata &m = b.metadata;
  m.abi_version = in.ConsumeIntegralInRange(0, 31) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                        : KILN_METADATA_VERSION;
  m.struct_size = in.ConsumeIntegralInRange(0, 31) == 0
                      ? in.ConsumeIntegral<uint32_t>()
                      : static_cast<uint32_t>(sizeof(kiln_model_metadata));
  m.name = pick_name(in, b);
  m.device = in.ConsumeIntegralInRange(0, 15) == 0 ? in.ConsumeIntegral<int32_t>() : 0;
  if (in.ConsumeBool()) {
    build_trainable(in, b);
    mutate(in, b);
  } else {
    for (int i = in.ConsumeIntegralInRange(0, 12); i > 0; --i)
      b.tensors.push_back(pick_tensor(in, b));
    for (int i = 0, n = in.ConsumeIntegralInRange(0, kMaxKernels); i < n; ++i)
      b.kernels.push_back(pick_kernel(in, b, i));
  }
  const int num_tensors = static_cast<int>(b.tensors.size());
  const int num_kernels = static_cast<int>(b.kernels.size());
  m.num_tensors = num_tensors;
  m.tensors = b.tensors.empty() ? nullptr : b.tensors.data();
  m.num_kernels = num_kernels;
  m.kernels = b.kernels.empty() ? nullptr : b.kernels.data();
  switch (in.ConsumeIntegralInRange(0, 31)) { // counts the arrays do not back
  case 0: m.num_tensors = -1; break;
  case 1: m.num_kernels = -1; break;
  case 2: if (num_tensors == 0) m.num_tensors = 3; break; // tensors NULL
  case 3: if (num_kernels == 0) m.num_kernels = 2; break; // kernels NULL
  default: break;
  }
  m.lr = in.ConsumeIntegralInRange(0, 7) == 0 ? pick_double(in)
                                              : in.ConsumeFloatingPointInRange(1e-5, 1.0);
  m.workspace_bytes = in.ConsumeIntegralInRange(0, 15) == 0
                          ? in.PickValueInArray<int64_t>({-1, (int64_t{1} << 48) + 1,
                                                          std::numeric_limits<int64_t>::max()})
                          : in.ConsumeIntegralInRange<int64_t>(0, 4096);
  // The optimizer driver: mostly none; LBFGS (or an unknown value) with
  // arguments that are sometimes valid, sometimes anything.
  switch (in.ConsumeIntegralInRange(0, 7)) {
  case 0: m.optimizer = KILN_OPTIMIZER_LBFGS; break;
  case 1: m.optimizer = in.ConsumeIntegral<int32_t>(); break;
  default: m.optimizer = KILN_OPTIMIZER_COMPILED; break;
  }
  for (double &a : m.optimizer_args)
    a = m.optimizer == KILN_OPTIMIZER_COMPILED && in.ConsumeBool()
            ? 0
            : in.ConsumeIntegralInRange(0, 3) == 0 ? pick_double(in)
                                                   : in.ConsumeIntegralInRange(0, 4);
  // Mostly known bits (the data-parallel flag or none), sometimes any.
  m.flags = in.ConsumeIntegralInRange(0, 7) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                 : in.ConsumeBool() ? KILN_MODEL_DATA_PARALLEL : 0;
}

/* Caller-side buffers for every input, output and the target, sized from
 * the metadata the runtime accepted. */
struct Io {
  std::deque<std::vector<unsigned char>> storage;
  std::vector<const void *> inputs;
  std::vector<void *> outputs;
  const void *target = nullptr;

  explicit Io(const kiln_model_metadata &m) {
    for (int i = 0; i < m.num_tensors; ++i) {
      const kiln_tensor_info &t = m.tensors[i];
      if (t.role != KILN_ROLE_INPUT && t.role != KILN_ROLE_OUTPUT &&
          t.role != KILN_ROLE_TARGET)
        continue;
      // i64 targets must hold valid class indices: zeros are.
      storage.emplace_back(static_cast<size_t>(bytes_of(t)) + 1, 0);
      void *data = storage.back().data();
      if (t.role == KILN_ROLE_INPUT)
        inputs.push_back(data);
      else if (t.role == KILN_ROLE_OUTPUT)
        outputs.push_back(data);
      else
        target = data;
    }
  }
};

/* A private directory for checkpoints, removed at exit. A plain array: it
 * must outlive the exit handler. */
const char *scratch_dir() {
  // tmpfs when there is one: the durable save fsyncs, which would cost a
  // disk flush per input.
  static char dir[64];
  static const bool made = [] {
    for (const char *base : {"/dev/shm", "/tmp"}) {
      std::snprintf(dir, sizeof dir, "%s/kiln-fuzz-metadata.XXXXXX", base);
      if (mkdtemp(dir)) {
        std::atexit([] { rmdir(dir); });
        return true;
      }
    }
    std::abort();
  }();
  (void)made;
  return dir;
}

void use(kiln_model *model, const kiln_model_metadata &m) {
  kiln_model_init_parameters(model, 7);
  Io io(m);
  float loss = 0;
  for (int training : {0, 1}) {
    kiln_model_set_training(model, training);
    kiln_model_forward(model, io.inputs.data(), io.outputs.data());
    kiln_model_gradients(model, io.inputs.data(), io.target, &loss);
    kiln_model_train_step(model, io.inputs.data(), io.target, &loss);
  }
  for (int i = 0; i < kiln_model_num_parameters(model); ++i) {
    float *grad = nullptr;
    kiln_model_gradient(model, i, &grad);
  }
  // Written and read back through the same metadata: whatever the table
  // holds, a checkpoint of the instance must load into it.
  const std::string path = std::string(scratch_dir()) + "/checkpoint.safetensors";
  if (kiln_model_save_checkpoint(model, path.c_str()) == KILN_OK &&
      kiln_model_load_checkpoint(model, path.c_str()) != KILN_OK)
    std::abort(); // a checkpoint the runtime wrote must load back
  std::remove(path.c_str());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  Built b;
  build(in, b);
  kiln_model *model = nullptr;
  if (kiln_model_create(&b.metadata, &model) != KILN_OK) {
    if (model)
      std::abort(); // *out must be NULL on failure
    return 0;
  }
  g_metadata = &b.metadata;
  use(model, b.metadata);
  kiln_model_destroy(model);
  g_metadata = nullptr;
  return 0;
}
