#include "descriptor.h"
#include "random.h"
#include "safetensors.h"

#include <cmath>
#include <cstring>
#include <unordered_map>

using kiln::rt::Descriptor;
using kiln::rt::Error;
using kiln::rt::fail;
using kiln::rt::quoted;
using kiln::rt::shape_string;
using kiln::rt::TensorSpec;

/* One model instance. Everything mutable lives here (no globals), so two
 * instances in one process never interfere. An instance is not safe for
 * concurrent calls from several threads.
 *
 * Buffers come from one 64-byte aligned arena. Parameters and optimizer state
 * exist twice: train_step reads set `current` and writes set `1 - current`
 * (the kernels require outputs not to alias inputs), then flips `current`. */
struct kiln_model {
  Descriptor desc;
  kiln_kernel_fn forward = nullptr;
  kiln_kernel_fn gradients = nullptr;
  kiln_kernel_fn train_step = nullptr;

  void *arena = nullptr;
  std::vector<float *> params[2];
  std::vector<float *> states[2];
  std::vector<float *> grads;
  int current = 0;
  float *loss = nullptr;
  int64_t *step = nullptr;
  int64_t *new_step = nullptr;
  float *lr = nullptr;
  void *workspace = nullptr; // kernels' scratch (descriptor `workspace`)
  bool training = false;

  std::unordered_map<std::string, int> param_index;
  std::unordered_map<std::string, int> state_index;
  std::vector<void *> args; // reused by every kernel call: no allocation per step
  mutable std::string last_error;

  ~kiln_model() { kiln_free(arena); }
};

namespace {

/* Records a failure on the instance and on the calling thread (so
 * kiln_last_error() also explains it), and returns its status. */
kiln_status record(const kiln_model *model, const Error &error) {
  if (!error)
    return KILN_OK;
  if (model) {
    try {
      model->last_error = error.message;
    } catch (...) {
      model->last_error.clear();
    }
  }
  return kiln::rt::set_thread_error(error);
}

Error null_model(const char *function) {
  return fail(KILN_ERROR_INVALID_ARGUMENT, std::string(function) + ": model is NULL");
}

Error inference_only() {
  return fail(KILN_ERROR_UNSUPPORTED, "model was compiled for inference");
}

constexpr size_t kLine = 64;

size_t line_bytes(int64_t numel, size_t elem_size) {
  // At least one line, so every buffer has its own address even when empty.
  size_t bytes = static_cast<size_t>(numel) * elem_size;
  return bytes == 0 ? kLine : (bytes + kLine - 1) / kLine * kLine;
}

Error allocate(kiln_model *m) {
  const Descriptor &d = m->desc;
  const int copies = d.train ? 2 : 1;
  // First pass sizes the arena; second pass hands out pointers.
  size_t total = 0;
  bool overflow = false;
  auto reserve = [&](size_t bytes) {
    size_t offset = total;
    if (total > SIZE_MAX - bytes)
      overflow = true;
    else
      total += bytes;
    return offset;
  };
  std::vector<size_t> offsets;
  for (int c = 0; c < copies; ++c) {
    for (const TensorSpec &p : d.params)
      offsets.push_back(reserve(line_bytes(p.numel, 4)));
    for (const TensorSpec &s : d.states)
      offsets.push_back(reserve(line_bytes(s.numel, 4)));
  }
  if (d.train)
    for (const TensorSpec &p : d.params)
      offsets.push_back(reserve(line_bytes(p.numel, 4)));
  for (int i = 0; i < 4; ++i) // loss, step, new step, lr
    offsets.push_back(reserve(kLine));
  // Zeroed with the rest below, so its pages are mapped before the first
  // kernel call.
  offsets.push_back(reserve(line_bytes(d.workspace_bytes, 1)));
  if (overflow)
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                "model " + quoted(d.name) + ": buffers exceed the address space");

  m->arena = kiln_alloc(total);
  if (!m->arena)
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                "model " + quoted(d.name) + ": out of memory allocating " +
                    std::to_string(total) + " bytes of buffers");
  std::memset(m->arena, 0, total); // parameters start at zero (runtime.h)
  char *base = static_cast<char *>(m->arena);
  size_t next = 0;
  auto take = [&] { return base + offsets[next++]; };
  for (int c = 0; c < copies; ++c) {
    for (size_t i = 0; i < d.params.size(); ++i)
      m->params[c].push_back(reinterpret_cast<float *>(take()));
    for (size_t i = 0; i < d.states.size(); ++i)
      m->states[c].push_back(reinterpret_cast<float *>(take()));
  }
  if (d.train)
    for (size_t i = 0; i < d.params.size(); ++i)
      m->grads.push_back(reinterpret_cast<float *>(take()));
  m->loss = reinterpret_cast<float *>(take());
  m->step = reinterpret_cast<int64_t *>(take());
  m->new_step = reinterpret_cast<int64_t *>(take());
  m->lr = reinterpret_cast<float *>(take());
  *m->lr = d.lr;
  m->workspace = take();
  return {};
}

Error check_inputs(const kiln_model *m, const char *function,
                   const void *const *inputs) {
  const auto &specs = m->desc.inputs;
  if (!specs.empty() && !inputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                std::string(function) + ": inputs is NULL");
  for (size_t i = 0; i < specs.size(); ++i)
    if (!inputs[i])
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  std::string(function) + ": input " + std::to_string(i) +
                      " (" + quoted(specs[i].name) + ") is NULL");
  return {};
}

size_t spec_bytes(const TensorSpec &spec) {
  return static_cast<size_t>(spec.numel) * kiln::rt::dtype_size(spec.dtype);
}

bool overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return a_bytes && b_bytes && x < y + b_bytes && y < x + a_bytes;
}

/* The kernels rely on outputs not aliasing inputs or each other
 * (docs/runtime-abi.md); a violation would silently corrupt results. */
Error check_outputs(const kiln_model *m, const void *const *inputs,
                    void *const *outputs) {
  const auto &outs = m->desc.outputs;
  const auto &ins = m->desc.inputs;
  if (!outs.empty() && !outputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_model_forward: outputs is NULL");
  for (size_t o = 0; o < outs.size(); ++o) {
    const std::string out = "kiln_model_forward: output " + std::to_string(o) +
                            " (" + quoted(outs[o].name) + ")";
    if (!outputs[o])
      return fail(KILN_ERROR_INVALID_ARGUMENT, out + " is NULL");
    for (size_t i = 0; i < ins.size(); ++i)
      if (overlap(outputs[o], spec_bytes(outs[o]), inputs[i],
                  spec_bytes(ins[i])))
        return fail(KILN_ERROR_INVALID_ARGUMENT,
                    out + " overlaps input " + quoted(ins[i].name));
    for (size_t p = 0; p < o; ++p)
      if (overlap(outputs[o], spec_bytes(outs[o]), outputs[p],
                  spec_bytes(outs[p])))
        return fail(KILN_ERROR_INVALID_ARGUMENT,
                    out + " overlaps output " + quoted(outs[p].name));
  }
  return {};
}

Error check_training_call(const kiln_model *m, const char *function,
                          kiln_kernel_fn kernel, const void *const *inputs,
                          const void *target, const float *loss) {
  if (!m->desc.train || !kernel)
    return inference_only();
  if (Error e = check_inputs(m, function, inputs))
    return e;
  if (!target)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                std::string(function) + ": target is NULL");
  if (!loss)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                std::string(function) + ": loss is NULL");
  return {};
}

void push_inputs(kiln_model *m, const void *const *inputs) {
  // Kernels never write their inputs (docs/runtime-abi.md), so dropping
  // const here is safe; the ABI's args array is simply untyped.
  for (size_t i = 0; i < m->desc.inputs.size(); ++i)
    m->args.push_back(const_cast<void *>(inputs[i]));
}

void push_all(kiln_model *m, const std::vector<float *> &buffers) {
  for (float *b : buffers)
    m->args.push_back(b);
}

/* Calls `kernel` on the documented arguments already in m->args, plus the
 * workspace, which every kernel receives last (docs/runtime-abi.md). */
void run_kernel(kiln_model *m, kiln_kernel_fn kernel) {
  m->args.push_back(m->workspace);
  kernel(m->args.data());
}

/* Validates `file` against the expected tensors (name -> spec) before
 * anything is copied, so a failed load leaves the instance unchanged. */
Error validate_file(const kiln_safetensors &file,
                    const std::vector<const TensorSpec *> &expected) {
  for (const TensorSpec *spec : expected) {
    const kiln::rt::TensorEntry *t = file.find(spec->name);
    const std::string tensor = file.path + ": tensor " + quoted(spec->name);
    if (!t)
      return fail(KILN_ERROR_MISMATCH, file.path + ": missing tensor " +
                                           quoted(spec->name));
    if (t->dtype != spec->dtype)
      return fail(KILN_ERROR_MISMATCH,
                  tensor + " has dtype " + kiln::rt::dtype_name(t->dtype) +
                      ", expected " + kiln::rt::dtype_name(spec->dtype));
    if (t->shape != spec->shape)
      return fail(KILN_ERROR_MISMATCH, tensor + " has shape " +
                                           shape_string(t->shape) +
                                           ", expected " +
                                           shape_string(spec->shape));
  }
  if (file.tensors.size() != expected.size()) {
    for (const kiln::rt::TensorEntry &t : file.tensors) {
      bool known = false;
      for (const TensorSpec *spec : expected)
        known = known || spec->name == t.name;
      if (!known)
        return fail(KILN_ERROR_MISMATCH,
                    file.path + ": unexpected tensor " + quoted(t.name) +
                        " (not in this model)");
    }
  }
  return {};
}

void copy_in(const kiln_safetensors &file, const TensorSpec &spec, void *dst) {
  std::memcpy(dst, file.find(spec.name)->data, spec_bytes(spec));
}

kiln_tensor_view view_of(const TensorSpec &spec, const void *data) {
  kiln_tensor_view v;
  v.name = spec.name.c_str();
  v.dtype = spec.dtype;
  v.rank = static_cast<int>(spec.shape.size());
  v.shape = spec.shape.data();
  v.data = data;
  return v;
}

const TensorSpec &step_spec() {
  static const TensorSpec spec{"step", KILN_I64, {}, 1, {}, 0};
  return spec;
}
const TensorSpec &lr_spec() {
  static const TensorSpec spec{"lr", KILN_F32, {}, 1, {}, 0};
  return spec;
}

} // namespace

#define KILN_MODEL_GUARD_END(model)                                            \
  KILN_API_GUARD_END([&](const Error &guard_error) {                           \
    return record(model, guard_error);                                         \
  })

extern "C" kiln_status kiln_model_create(const char *descriptor,
                                         kiln_kernel_fn forward,
                                         kiln_kernel_fn gradients,
                                         kiln_kernel_fn train_step,
                                         kiln_model **out) {
  const kiln_model *none = nullptr;
  KILN_API_GUARD_BEGIN
  if (out)
    *out = nullptr;
  if (!descriptor || !out)
    return record(none, fail(KILN_ERROR_INVALID_ARGUMENT,
                             "kiln_model_create: descriptor or out is NULL"));
  if (!forward)
    return record(none, fail(KILN_ERROR_INVALID_ARGUMENT,
                             "kiln_model_create: forward kernel is NULL"));
  auto model = std::make_unique<kiln_model>();
  if (Error e = kiln::rt::parse_descriptor(descriptor, &model->desc))
    return record(none, e);
  model->forward = forward;
  model->gradients = gradients;
  model->train_step = train_step;
  model->training = model->desc.train;
  if (Error e = allocate(model.get()))
    return record(none, e);
  const Descriptor &d = model->desc;
  for (size_t i = 0; i < d.params.size(); ++i)
    model->param_index[d.params[i].name] = static_cast<int>(i);
  for (size_t i = 0; i < d.states.size(); ++i)
    model->state_index[d.states[i].name] = static_cast<int>(i);
  model->args.reserve(2 * d.params.size() + 2 * d.states.size() +
                      d.inputs.size() + d.outputs.size() + 8);
  *out = model.release();
  return KILN_OK;
  KILN_MODEL_GUARD_END(none)
}

extern "C" void kiln_model_destroy(kiln_model *model) { delete model; }

extern "C" const char *kiln_model_last_error(const kiln_model *model) {
  return model ? model->last_error.c_str() : "kiln_model_last_error: model is NULL";
}

extern "C" kiln_status kiln_model_init_parameters(kiln_model *model,
                                                  uint64_t seed) {
  if (!model)
    return record(model, null_model("kiln_model_init_parameters"));
  const Descriptor &d = model->desc;
  const int c = model->current;
  for (size_t i = 0; i < d.params.size(); ++i) {
    kiln::rt::Rng rng(seed, kiln::rt::kParameterStream, i);
    kiln::rt::fill_init(d.params[i].init, rng, model->params[c][i],
                        d.params[i].numel);
  }
  for (size_t i = 0; i < d.states.size(); ++i) {
    kiln::rt::Rng rng(seed, kiln::rt::kStateStream, i);
    kiln::rt::fill_init(d.states[i].init, rng, model->states[c][i],
                        d.states[i].numel);
  }
  for (size_t i = 0; i < model->grads.size(); ++i)
    std::memset(model->grads[i], 0, spec_bytes(d.params[i]));
  *model->step = 0;
  *model->lr = d.lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_load_parameters(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_load_parameters"));
  if (!path)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_load_parameters: path is NULL"));
  std::unique_ptr<kiln_safetensors> file;
  if (Error e = kiln::rt::read_safetensors(path, &file))
    return record(model, e);
  const Descriptor &d = model->desc;
  std::vector<const TensorSpec *> expected;
  for (const TensorSpec &p : d.params)
    expected.push_back(&p);
  if (Error e = validate_file(*file, expected))
    return record(model, e);
  for (size_t i = 0; i < d.params.size(); ++i)
    copy_in(*file, d.params[i], model->params[model->current][i]);
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_save_parameters(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_save_parameters"));
  if (!path)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_save_parameters: path is NULL"));
  const Descriptor &d = model->desc;
  std::vector<kiln_tensor_view> views;
  for (size_t i = 0; i < d.params.size(); ++i)
    views.push_back(view_of(d.params[i], model->params[model->current][i]));
  return record(model, kiln::rt::write_safetensors(
                           path, views.data(), static_cast<int>(views.size())));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_load_optimizer_state(kiln_model *model,
                                                       const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_load_optimizer_state"));
  if (!path)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_load_optimizer_state: path is NULL"));
  if (!model->desc.train)
    return record(model, inference_only());
  std::unique_ptr<kiln_safetensors> file;
  if (Error e = kiln::rt::read_safetensors(path, &file))
    return record(model, e);
  const Descriptor &d = model->desc;
  std::vector<const TensorSpec *> expected;
  for (const TensorSpec &s : d.states)
    expected.push_back(&s);
  expected.push_back(&step_spec());
  expected.push_back(&lr_spec());
  if (Error e = validate_file(*file, expected))
    return record(model, e);
  int64_t step;
  float lr;
  copy_in(*file, step_spec(), &step);
  copy_in(*file, lr_spec(), &lr);
  if (step < 0)
    return record(model, fail(KILN_ERROR_MISMATCH,
                              std::string(path) + ": tensor 'step' is negative (" +
                                  std::to_string(step) + ")"));
  if (!std::isfinite(lr))
    return record(model, fail(KILN_ERROR_MISMATCH,
                              std::string(path) + ": tensor 'lr' is not finite"));
  for (size_t i = 0; i < d.states.size(); ++i)
    copy_in(*file, d.states[i], model->states[model->current][i]);
  *model->step = step;
  *model->lr = lr;
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_save_optimizer_state(kiln_model *model,
                                                       const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_save_optimizer_state"));
  if (!path)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_save_optimizer_state: path is NULL"));
  if (!model->desc.train)
    return record(model, inference_only());
  const Descriptor &d = model->desc;
  std::vector<kiln_tensor_view> views;
  for (size_t i = 0; i < d.states.size(); ++i)
    views.push_back(view_of(d.states[i], model->states[model->current][i]));
  views.push_back(view_of(step_spec(), model->step));
  views.push_back(view_of(lr_spec(), model->lr));
  return record(model, kiln::rt::write_safetensors(
                           path, views.data(), static_cast<int>(views.size())));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_forward(kiln_model *model,
                                          const void *const *inputs,
                                          void *const *outputs) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_forward"));
  if (Error e = check_inputs(model, "kiln_model_forward", inputs))
    return record(model, e);
  if (Error e = check_outputs(model, inputs, outputs))
    return record(model, e);
  model->args.clear();
  push_all(model, model->params[model->current]);
  push_inputs(model, inputs);
  for (size_t i = 0; i < model->desc.outputs.size(); ++i)
    model->args.push_back(outputs[i]);
  run_kernel(model, model->forward);
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_gradients(kiln_model *model,
                                            const void *const *inputs,
                                            const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_gradients"));
  if (Error e = check_training_call(model, "kiln_model_gradients",
                                    model->gradients, inputs, target, loss))
    return record(model, e);
  model->args.clear();
  push_all(model, model->params[model->current]);
  push_inputs(model, inputs);
  model->args.push_back(const_cast<void *>(target));
  model->args.push_back(model->loss);
  push_all(model, model->grads);
  run_kernel(model, model->gradients);
  *loss = *model->loss;
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_train_step(kiln_model *model,
                                             const void *const *inputs,
                                             const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_train_step"));
  if (Error e = check_training_call(model, "kiln_model_train_step",
                                    model->train_step, inputs, target, loss))
    return record(model, e);
  const int cur = model->current, next = 1 - cur;
  model->args.clear();
  push_all(model, model->params[cur]);
  push_all(model, model->states[cur]);
  model->args.push_back(model->step);
  model->args.push_back(model->lr);
  push_inputs(model, inputs);
  model->args.push_back(const_cast<void *>(target));
  model->args.push_back(model->loss);
  push_all(model, model->params[next]);
  push_all(model, model->states[next]);
  model->args.push_back(model->new_step);
  run_kernel(model, model->train_step);
  model->current = next;
  *model->step = *model->new_step;
  *loss = *model->loss;
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_get_lr(const kiln_model *model, float *lr) {
  if (!model)
    return record(model, null_model("kiln_model_get_lr"));
  if (!lr)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_get_lr: lr is NULL"));
  if (!model->desc.train)
    return record(model, inference_only());
  *lr = *model->lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_set_lr(kiln_model *model, float lr) {
  if (!model)
    return record(model, null_model("kiln_model_set_lr"));
  if (!model->desc.train)
    return record(model, inference_only());
  if (!std::isfinite(lr))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_set_lr: learning rate is not finite"));
  *model->lr = lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_get_step(const kiln_model *model,
                                           int64_t *step) {
  if (!model)
    return record(model, null_model("kiln_model_get_step"));
  if (!step)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_get_step: step is NULL"));
  *step = *model->step;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_set_training(kiln_model *model,
                                               int training) {
  if (!model)
    return record(model, null_model("kiln_model_set_training"));
  model->training = training != 0;
  return KILN_OK;
}

extern "C" int kiln_model_num_parameters(const kiln_model *model) {
  if (!model) {
    record(model, null_model("kiln_model_num_parameters"));
    return 0;
  }
  return static_cast<int>(model->desc.params.size());
}

extern "C" kiln_status kiln_model_parameter(kiln_model *model, int index,
                                            const char **name, float **data,
                                            int64_t *numel) {
  if (!model)
    return record(model, null_model("kiln_model_parameter"));
  const auto &params = model->desc.params;
  if (index < 0 || index >= static_cast<int>(params.size()))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_parameter: index " +
                                  std::to_string(index) + " out of range [0, " +
                                  std::to_string(params.size()) + ")"));
  if (name)
    *name = params[index].name.c_str();
  if (data)
    *data = model->params[model->current][index];
  if (numel)
    *numel = params[index].numel;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_gradient(kiln_model *model, int index,
                                           float **data) {
  if (!model)
    return record(model, null_model("kiln_model_gradient"));
  if (!model->desc.train)
    return record(model, inference_only());
  if (!data)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_gradient: data is NULL"));
  if (index < 0 || index >= static_cast<int>(model->grads.size()))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_gradient: index " +
                                  std::to_string(index) + " out of range [0, " +
                                  std::to_string(model->grads.size()) + ")"));
  *data = model->grads[index];
  return KILN_OK;
}

extern "C" int kiln_model_num_states(const kiln_model *model) {
  if (!model) {
    record(model, null_model("kiln_model_num_states"));
    return 0;
  }
  return static_cast<int>(model->desc.states.size());
}

extern "C" kiln_status kiln_model_state(kiln_model *model, int index,
                                        const char **name, float **data,
                                        int64_t *numel) {
  if (!model)
    return record(model, null_model("kiln_model_state"));
  const auto &states = model->desc.states;
  if (index < 0 || index >= static_cast<int>(states.size()))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_state: index " +
                                  std::to_string(index) + " out of range [0, " +
                                  std::to_string(states.size()) + ")"));
  if (name)
    *name = states[index].name.c_str();
  if (data)
    *data = model->states[model->current][index];
  if (numel)
    *numel = states[index].numel;
  return KILN_OK;
}
