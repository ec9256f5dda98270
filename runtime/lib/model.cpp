#include <kiln/arena.h>
#include <kiln/scheduler.h>

#include "comm.h"
#include "instance.h"
#include "metadata.h"
#include "random.h"
#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

using kiln::rt::Device;
using kiln::rt::Error;
using kiln::rt::fail;
using kiln::rt::KernelSpec;
using kiln::rt::ModelSpec;
using kiln::rt::quoted;
using kiln::rt::shape_string;
using kiln::rt::CollectiveScope;
using kiln::rt::comm_broadcast;
using kiln::rt::read_tensor_of;
using kiln::rt::write_tensor_of;
using kiln::rt::TensorSpec;

/* One model instance. Everything mutable lives here (no globals), so two
 * instances in one process never interfere. An instance is not safe for
 * concurrent calls from several threads.
 *
 * Buffers come from one arena of the model's device (device.h), and the
 * driver touches them only through that device's copies and kernel launch.
 * On the CPU the arena is host memory, so the introspection functions hand
 * out plain pointers into it. Every tensor the instance owns
 * has a slot. A kernel that updates a tensor in place
 * (KILN_ARG_TENSOR_UPDATE: what kilnc emits) reads and writes slot cur[t];
 * when its checks fail it has left the old values. Those a kernel writes
 * as KILN_ARG_TENSOR_NEXT (kilnc --in-place-updates=false, hand-built
 * metadata) have two slots: the kernel reads slot cur[t] and writes slot
 * 1 - cur[t], and the runtime flips cur[t] once the call is accepted.
 * Inputs, target and outputs are the caller's pointers, bound per call; on
 * a device without host memory (CUDA) they, and the random state, are
 * copied through staging slots (an allocation beside the arena) around
 * every launch. */
struct kiln_model {
  ModelSpec spec;
  void *device_ctx = nullptr; // the device's context for this instance (open)
  void *arena = nullptr;
  size_t arena_bytes = 0; // kiln/arena.h's total, as allocated
  std::vector<void *> slots[2]; // [copy][tensor]; null for caller tensors
  std::vector<unsigned char> cur;
  std::vector<float *> grads; // [parameter index]
  void *workspace = nullptr;  // KILN_ARG_WORKSPACE
  /* Devices without host memory: a slot per caller-owned tensor (null for
   * the others) and one for the random state, in `staging`. */
  void *staging = nullptr;
  std::vector<void *> staged;
  void *staged_rng = nullptr;
  /* Devices without host memory: the host copies the introspection
   * functions hand out ([tensor], then [tensors + parameter] for
   * gradients), refreshed at every call. */
  std::vector<std::vector<unsigned char>> mirrors;
  std::vector<double> lrs;    // per parameter group, kept exact; kernels get f32
  kiln_rng_state rng{0, 0};
  bool training = false;
  /* kiln_model_attach_scheduler: saved and loaded with the optimizer state
   * as scheduler_spec ("scheduler.state", the doubles' bits as I64). */
  kiln_scheduler *scheduler = nullptr;
  TensorSpec scheduler_spec;
  /* kiln_model_attach_comm: the collectives of the compiled steps. */
  kiln_comm *comm = nullptr;
  int ordinal = 0; /* the device it was created on (create_on_device) */

  std::vector<void *> args; // reused by every kernel call: no allocation per step
  std::vector<int> flips;   // tensors whose next slot the last kernel wrote
  int last_all_reduces = 0; // the all-reduces the last kernel called
  mutable std::string last_error;

  ~kiln_model() {
    if (spec.device) {
      if (device_ctx || spec.device->host_memory) {
        spec.device->free(device_ctx, staging);
        spec.device->free(device_ctx, arena);
      }
      spec.device->close(device_ctx);
    }
  }

  void *current(int t) const { return slots[cur[t]][t]; }
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

Error null_argument(const char *function, const char *what) {
  return fail(KILN_ERROR_INVALID_ARGUMENT,
              std::string(function) + ": " + what + " is NULL");
}

size_t spec_bytes(const TensorSpec &spec) {
  return static_cast<size_t>(spec.numel) * kiln::rt::dtype_size(spec.dtype);
}

/* The arena's rules are kiln/arena.h's, shared with kilnc's header. */
bool caller_owned(kiln_tensor_role role) { return kiln_arena_caller_owned(role) != 0; }

/* Whether tensor t has a second slot (kiln/arena.h): some kernel writes its
 * next value beside the current one. */
bool double_buffered(const ModelSpec &s, int t) {
  for (const KernelSpec &k : s.kernels)
    if (kiln_arena_writes_next(k.args.data(), static_cast<int32_t>(k.args.size()), t))
      return true;
  return false;
}

/* A device's failure as an Error naming the device and the operation, with
 * the device's own message (a CUDA error's name and description). */
Error device_error(const kiln_model *m, Error error, const char *what) {
  if (!error)
    return {};
  return fail(error.status, std::string(m->spec.device->name) + ": " + what + " failed" +
                                (error.message.empty() ? "" : ": " + error.message));
}

Error to_device(const kiln_model *m, void *dst, const void *src, size_t bytes) {
  const Device &d = *m->spec.device;
  return device_error(m, d.copy_to_device(m->device_ctx, dst, src, bytes),
                      "copy to the device");
}

Error to_host(const kiln_model *m, void *dst, const void *src, size_t bytes) {
  const Device &d = *m->spec.device;
  return device_error(m, d.copy_to_host(m->device_ctx, dst, src, bytes), "copy to the host");
}

/* Where the caller can read `bytes` at device address `src`: the address
 * itself in host memory; otherwise a host copy taken now (slot `mirror` of
 * the instance's mirrors), valid until the next call on the instance. */
Error host_view(kiln_model *m, size_t mirror, void *src, size_t bytes, void **out) {
  *out = nullptr;
  if (m->spec.device->host_memory) {
    *out = src;
    return {};
  }
  if (m->mirrors.size() <= mirror)
    m->mirrors.resize(mirror + 1);
  std::vector<unsigned char> &copy = m->mirrors[mirror];
  copy.resize(std::max<size_t>(bytes, 1));
  if (Error e = to_host(m, copy.data(), src, bytes))
    return e;
  *out = copy.data();
  return {};
}

/* Tensor t's current values, readable by the caller (host_view). */
Error tensor_view(kiln_model *m, int t, void **out) {
  return host_view(m, static_cast<size_t>(t), m->current(t), spec_bytes(m->spec.tensors[t]),
                   out);
}

size_t line_bytes(int64_t numel, size_t elem_size) {
  return static_cast<size_t>(kiln_arena_slot_bytes(numel, elem_size));
}

/* Lays out the arena: offsets[i] for every request in order, or false when
 * the total overflows size_t. */
bool plan(const std::vector<size_t> &sizes, std::vector<size_t> *offsets,
          size_t *total) {
  *total = 0;
  for (size_t bytes : sizes) {
    if (*total > SIZE_MAX - bytes)
      return false;
    offsets->push_back(*total);
    *total += bytes;
  }
  return true;
}

/* One zero-filled device allocation for `sizes`, laid out by plan():
 * `offsets` and `total`; `what` names its contents in the errors. */
Error allocate_block(kiln_model *m, const std::vector<size_t> &sizes, const char *what,
                     void **block, std::vector<size_t> *offsets, size_t *total) {
  const ModelSpec &s = m->spec;
  if (!plan(sizes, offsets, total))
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                "model " + quoted(s.name) + ": " + what + " exceed the address space");
  *block = s.device->alloc(m->device_ctx, *total);
  if (!*block)
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                "model " + quoted(s.name) + ": out of memory allocating " +
                    std::to_string(*total) + " bytes of " + what + " on " + s.device->name);
  return {};
}

/* Devices without host memory: one more allocation, beside the arena (whose
 * size is kiln/arena.h's, the header's <PREFIX>_ARENA_BYTES), with a slot
 * per caller-owned tensor and one for the random state. */
Error allocate_staging(kiln_model *m) {
  const ModelSpec &s = m->spec;
  std::vector<size_t> sizes;
  for (const TensorSpec &t : s.tensors)
    if (caller_owned(t.role))
      sizes.push_back(line_bytes(t.numel, kiln::rt::dtype_size(t.dtype)));
  sizes.push_back(line_bytes(sizeof(kiln_rng_state), 1));
  std::vector<size_t> offsets;
  size_t total = 0;
  if (Error e = allocate_block(m, sizes, "inputs and outputs", &m->staging, &offsets, &total))
    return e;
  char *base = static_cast<char *>(m->staging);
  size_t next = 0;
  m->staged.assign(s.tensors.size(), nullptr);
  for (size_t t = 0; t < s.tensors.size(); ++t)
    if (caller_owned(s.tensors[t].role))
      m->staged[t] = base + offsets[next++];
  m->staged_rng = base + offsets[next];
  return {};
}

Error allocate(kiln_model *m) {
  const ModelSpec &s = m->spec;
  const size_t n = s.tensors.size();
  std::vector<size_t> sizes; // slots of copy 0, copy 1, gradients, workspace
  std::vector<bool> twice(n);
  for (size_t t = 0; t < n; ++t)
    twice[t] = !caller_owned(s.tensors[t].role) && double_buffered(s, static_cast<int>(t));
  for (int copy = 0; copy < 2; ++copy)
    for (size_t t = 0; t < n; ++t)
      if (!caller_owned(s.tensors[t].role) && (copy == 0 || twice[t]))
        sizes.push_back(line_bytes(s.tensors[t].numel, kiln::rt::dtype_size(s.tensors[t].dtype)));
  if (s.trainable)
    for (int p : s.params)
      sizes.push_back(line_bytes(s.tensors[p].numel, 4));
  // Zeroed with the rest by the device, so on the CPU its pages are mapped
  // before the first kernel call.
  sizes.push_back(line_bytes(s.workspace_bytes, 1));

  std::vector<size_t> offsets;
  size_t total = 0;
  // Zero-filled: parameters start at zero (runtime.h).
  if (Error e = allocate_block(m, sizes, "buffers", &m->arena, &offsets, &total))
    return e;
  m->arena_bytes = total;
  char *base = static_cast<char *>(m->arena);
  size_t next = 0;
  for (int copy = 0; copy < 2; ++copy) {
    m->slots[copy].assign(n, nullptr);
    for (size_t t = 0; t < n; ++t)
      if (!caller_owned(s.tensors[t].role) && (copy == 0 || twice[t]))
        m->slots[copy][t] = base + offsets[next++];
  }
  m->cur.assign(n, 0);
  if (s.trainable)
    for (size_t p = 0; p < s.params.size(); ++p)
      m->grads.push_back(reinterpret_cast<float *>(base + offsets[next++]));
  m->workspace = base + offsets[next];
  return s.device->host_memory ? Error{} : allocate_staging(m);
}

/* Group `group`'s f32 learning rate kernels read, from the exact value kept. */
Error store_lr(kiln_model *m, size_t group, double lr) {
  const float value = static_cast<float>(lr);
  if (Error e = to_device(m, m->current(m->spec.lrs[group]), &value, sizeof value))
    return e;
  m->lrs[group] = lr;
  return {};
}

/* Every group's learning rate (the initial ones, a file's, a scheduler's). */
Error store_lrs(kiln_model *m, const std::vector<double> &lrs) {
  for (size_t g = 0; g < m->spec.lrs.size(); ++g)
    if (Error e = store_lr(m, g, lrs[g]))
      return e;
  return {};
}

int mode_index(const kiln_model *m) {
  return m->training ? kiln::rt::kTrain : kiln::rt::kEval;
}

const KernelSpec *kernel_for(const kiln_model *m, kiln_entry_point entry) {
  int k = m->spec.kernel[entry][mode_index(m)];
  return k < 0 ? nullptr : &m->spec.kernels[k];
}

Error no_kernel(const kiln_model *m, const char *entry) {
  if (!m->spec.trainable)
    return inference_only();
  return fail(KILN_ERROR_UNSUPPORTED,
              std::string("model has no ") + entry + " kernel for " +
                  (m->training ? "train" : "eval") + " mode");
}

/* The caller's pointers for one call, by role index. */
struct Bound {
  const void *const *inputs = nullptr;
  const void *target = nullptr;
  void *const *outputs = nullptr;
  /* The _device entry points: the pointers are the device's memory, so the
   * kernels take them as they are, never staged. */
  bool device_pointers = false;
};

void *arg_pointer(kiln_model *m, const kiln_kernel_arg &a, const Bound &b) {
  switch (a.kind) {
  case KILN_ARG_RNG:
    return m->staged_rng ? m->staged_rng : &m->rng;
  case KILN_ARG_WORKSPACE:
    return m->workspace;
  case KILN_ARG_GRADIENT:
    return m->grads[m->spec.tensors[a.tensor].role_index];
  case KILN_ARG_TENSOR_NEXT:
    m->flips.push_back(a.tensor);
    return m->slots[1 - m->cur[a.tensor]][a.tensor];
  case KILN_ARG_TENSOR_UPDATE:
    return m->current(a.tensor);
  default:
    break;
  }
  const TensorSpec &t = m->spec.tensors[a.tensor];
  if (!b.device_pointers && !m->staged.empty() && m->staged[a.tensor])
    return m->staged[a.tensor];
  // Kernels never write their inputs (docs/runtime-abi.md), so dropping
  // const here is safe; the ABI's args array is simply untyped.
  switch (t.role) {
  case KILN_ROLE_INPUT:
    return const_cast<void *>(b.inputs[t.role_index]);
  case KILN_ROLE_TARGET:
    return const_cast<void *>(b.target);
  case KILN_ROLE_OUTPUT:
    return b.outputs[t.role_index];
  default:
    return m->current(a.tensor);
  }
}

/* clip_grad_norm_ with error_if_nonfinite: a train step whose total gradient
 * norm is NaN or infinite is refused like torch refuses it, before anything
 * it wrote becomes current. */
Error check_grad_norm(kiln_model *m, const KernelSpec &kernel, const char *function) {
  const int t = m->spec.grad_norm;
  if (t < 0 || std::none_of(kernel.args.begin(), kernel.args.end(),
                            [t](const kiln_kernel_arg &a) { return a.tensor == t; }))
    return {};
  float norm = 0;
  if (Error e = to_host(m, &norm, m->current(t), sizeof norm))
    return e;
  if (std::isfinite(norm))
    return {};
  return fail(KILN_ERROR_INVALID_ARGUMENT,
              std::string(function) + ": the total norm of the gradients is " +
                  std::string(std::isnan(norm) ? "nan" : norm > 0 ? "inf" : "-inf") +
                  ", so it cannot be clipped (clip_grad_norm error_if_nonfinite); "
                  "the step was not applied");
}

/* A value check (KILN_ROLE_CHECK): torch raises on such a batch (BCELoss:
 * "all elements of input should be between 0 and 1"), so the call fails
 * naming the first failing element, before anything the kernel wrote
 * becomes current. The tensor's name, check.<torch class>.<what>[.<k>],
 * says which. */
Error check_values(kiln_model *m, const KernelSpec &kernel, const char *function) {
  for (const kiln_kernel_arg &a : kernel.args) {
    if (a.tensor < 0 || m->spec.tensors[a.tensor].role != KILN_ROLE_CHECK)
      continue;
    float found[2] = {-1, 0};
    if (Error e = to_host(m, found, m->current(a.tensor), sizeof found))
      return e;
    if (!(found[0] >= 0))
      continue;
    // check.<torch class>.<what>[.<k>]: torch's message for it.
    const std::string &name = m->spec.tensors[a.tensor].name;
    auto is = [&name](const std::string &kind) {
      return name == kind || name.rfind(kind + ".", 0) == 0;
    };
    std::string what =
        is("check.BCELoss.input")
            ? "BCELoss: all elements of input should be between 0 and 1"
        : is("check.GaussianNLLLoss.var")
            ? "GaussianNLLLoss: var has negative entry/entries"
        : is("check.CTCLoss.target_lengths")
            ? "CTCLoss: the target lengths must add up to the number of concatenated "
              "target labels (torch: targets.size(0) == sum(target_lengths)); their sum"
        : is("check.EmbeddingBag.offsets")
            ? "EmbeddingBag: offsets[0] has to be 0 and the offsets must not decrease "
              "(offsets, not the input)"
        : is("check.pack_padded_sequence.lengths")
            ? "pack_padded_sequence: Length of all samples has to be greater than 0, but "
              "found an element in 'lengths' that is <= 0"
        : is("check.pack_padded_sequence.sorted")
            ? "pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
              "`enforce_sorted` is True (compile with enforce_sorted false to sidestep this)"
        : is("check.pad_packed_sequence.total_length")
            ? "pad_packed_sequence: Expected total_length to be at least the length of the "
              "longest sequence in input (lengths, not the data)"
        : is("check.pad_packed_sequence.longest")
            ? "pad_packed_sequence: without total_length the output has as many steps as the "
              "longest sequence, which must then be the compiled T (a model's shapes are "
              "fixed; set total_length); the longest"
            : "the value check '" + name + "' failed";
    char value[32];
    std::snprintf(value, sizeof value, "%.9g", double(found[1]));
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                std::string(function) + ": " + what + ": element " +
                    std::to_string(static_cast<int64_t>(found[0])) + " is " + value +
                    "; parameters, buffers, optimizer state and step are unchanged");
  }
  return {};
}

/* The caller's pointer for a caller-owned tensor (input, target, output). */
const void *caller_pointer(const kiln_model *m, int tensor, const Bound &b) {
  const TensorSpec &t = m->spec.tensors[tensor];
  switch (t.role) {
  case KILN_ROLE_INPUT:
    return b.inputs[t.role_index];
  case KILN_ROLE_TARGET:
    return b.target;
  default:
    return b.outputs[t.role_index];
  }
}

/* Devices without host memory: the inputs and target a kernel reads, and
 * the random state, into their staging slots. */
Error stage_in(kiln_model *m, const KernelSpec &kernel, const Bound &b) {
  if (m->staged.empty())
    return {};
  for (const kiln_kernel_arg &a : kernel.args) {
    if (a.kind == KILN_ARG_RNG) {
      if (Error e = to_device(m, m->staged_rng, &m->rng, sizeof m->rng))
        return e;
      continue;
    }
    if (a.tensor < 0 || !m->staged[a.tensor] || b.device_pointers)
      continue;
    const TensorSpec &t = m->spec.tensors[a.tensor];
    if (t.role == KILN_ROLE_OUTPUT)
      continue;
    if (Error e = to_device(m, m->staged[a.tensor], caller_pointer(m, a.tensor, b),
                            spec_bytes(t)))
      return e;
  }
  return {};
}

/* And the outputs it wrote back to the caller. */
Error stage_out(kiln_model *m, const KernelSpec &kernel, const Bound &b) {
  if (m->staged.empty() || b.device_pointers)
    return {};
  for (const kiln_kernel_arg &a : kernel.args) {
    if (a.tensor < 0 || a.kind != KILN_ARG_TENSOR || !m->staged[a.tensor] ||
        m->spec.tensors[a.tensor].role != KILN_ROLE_OUTPUT)
      continue;
    if (Error e = to_host(m, const_cast<void *>(caller_pointer(m, a.tensor, b)),
                          m->staged[a.tensor], spec_bytes(m->spec.tensors[a.tensor])))
      return e;
  }
  return {};
}

/* Launches `kernel` with the arguments its table entry lists, then makes the
 * next values it wrote current; `function` names the API call in errors. */
Error run_kernel(kiln_model *m, const KernelSpec &kernel, const Bound &b,
                 const char *function = "kiln_model_train_step") {
  m->args.clear();
  m->flips.clear();
  for (const kiln_kernel_arg &a : kernel.args)
    m->args.push_back(arg_pointer(m, a, b));
  const Device &d = *m->spec.device;
  if (Error e = stage_in(m, kernel, b))
    return e;
  CollectiveScope collectives(m->comm);
  if (Error e = device_error(m, d.launch(m->device_ctx, kernel.fn, m->args.data()),
                             "kernel launch"))
    return e;
  m->last_all_reduces = collectives.all_reduces();
  if (Error e = stage_out(m, kernel, b))
    return e;
  if (Error e = collectives.result())
    return fail(e.status, std::string(function) + ": " + e.message);
  if (Error e = check_values(m, kernel, function))
    return e;
  if (Error e = check_grad_norm(m, kernel, function))
    return e;
  for (int t : m->flips)
    m->cur[t] ^= 1;
  // Wraps modulo 2^64 like any counter; a stream that long never repeats
  // within a run (2^62 per call at most).
  m->rng.offset += kernel.rng_counters;
  return {};
}

/* Caller-supplied indices (class-index targets) are checked before any
 * kernel runs, as torch checks its targets: the kernels index with them,
 * and a bad batch must be an error that changes nothing, not NaN written
 * into every parameter. memcpy: the caller's buffer need not be aligned. */
Error check_indices(const TensorSpec &t, const void *data, const std::string &what) {
  if (!t.range.checked)
    return {};
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (int64_t i = 0; i < t.numel; ++i) {
    int64_t v;
    std::memcpy(&v, bytes + i * sizeof v, sizeof v);
    if (t.range.accepts(v))
      continue;
    std::string allowed =
        "[" + std::to_string(t.range.lo) + ", " + std::to_string(t.range.hi) + ")";
    if (t.range.has_ignore)
      allowed += " or the ignore value " + std::to_string(t.range.ignore);
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + " element " + std::to_string(i) +
                                                 " is " + std::to_string(v) +
                                                 ", not an index in " + allowed);
  }
  return {};
}

/* check_indices of a caller's tensor at `data`: device memory when
 * `device_pointers` on a device without host memory, then read through a
 * host copy (a synchronising read of the usually small index tensors). */
Error check_caller_indices(const kiln_model *m, const TensorSpec &t, const void *data,
                           bool device_pointers, const std::string &what) {
  if (!t.range.checked)
    return {};
  if (!device_pointers || m->spec.device->host_memory)
    return check_indices(t, data, what);
  std::vector<unsigned char> host(spec_bytes(t));
  if (Error e = to_host(m, host.data(), data, host.size()))
    return fail(e.status, what + ": " + e.message);
  return check_indices(t, host.data(), what);
}

Error check_inputs(const kiln_model *m, const char *function,
                   const void *const *inputs, bool device_pointers = false) {
  const auto &ins = m->spec.inputs;
  if (!ins.empty() && !inputs)
    return null_argument(function, "inputs");
  for (size_t i = 0; i < ins.size(); ++i) {
    const TensorSpec &t = m->spec.tensors[ins[i]];
    const std::string what = std::string(function) + ": input " + std::to_string(i) +
                             " (" + quoted(t.name) + ")";
    if (!inputs[i])
      return fail(KILN_ERROR_INVALID_ARGUMENT, what + " is NULL");
    if (Error e = check_caller_indices(m, t, inputs[i], device_pointers, what))
      return e;
  }
  return {};
}

bool overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return a_bytes && b_bytes && x < y + b_bytes && y < x + a_bytes;
}

/* The kernels rely on outputs not aliasing inputs or each other
 * (docs/runtime-abi.md); a violation would silently corrupt results. */
Error check_outputs(const kiln_model *m, const char *function, const void *const *inputs,
                    void *const *outputs) {
  const ModelSpec &s = m->spec;
  if (!s.outputs.empty() && !outputs)
    return null_argument(function, "outputs");
  for (size_t o = 0; o < s.outputs.size(); ++o) {
    const TensorSpec &out = s.tensors[s.outputs[o]];
    const std::string what = std::string(function) + ": output " + std::to_string(o) +
                             " (" + quoted(out.name) + ")";
    if (!outputs[o])
      return fail(KILN_ERROR_INVALID_ARGUMENT, what + " is NULL");
    for (size_t i = 0; i < s.inputs.size(); ++i) {
      const TensorSpec &in = s.tensors[s.inputs[i]];
      if (overlap(outputs[o], spec_bytes(out), inputs[i], spec_bytes(in)))
        return fail(KILN_ERROR_INVALID_ARGUMENT, what + " overlaps input " + quoted(in.name));
    }
    for (size_t p = 0; p < o; ++p) {
      const TensorSpec &prev = s.tensors[s.outputs[p]];
      if (overlap(outputs[o], spec_bytes(out), outputs[p], spec_bytes(prev)))
        return fail(KILN_ERROR_INVALID_ARGUMENT, what + " overlaps output " + quoted(prev.name));
    }
  }
  return {};
}

/* `device_pointers`: the _device entry points, whose pointers are device
 * memory and whose loss may be NULL. */
Error check_training_call(const kiln_model *m, const char *function,
                          const void *const *inputs, const void *target,
                          const float *loss, bool device_pointers = false) {
  if (!m->spec.trainable)
    return inference_only();
  if (Error e = check_inputs(m, function, inputs, device_pointers))
    return e;
  if (!loss && !device_pointers)
    return null_argument(function, "loss");
  // A model whose loss takes no target (triplet losses, a loss output)
  // has no target tensor: `target` is not read (pass NULL).
  if (m->spec.target < 0)
    return {};
  if (!target)
    return null_argument(function, "target");
  const TensorSpec &t = m->spec.tensors[m->spec.target];
  return check_caller_indices(m, t, target, device_pointers,
                              std::string(function) + ": target (" + quoted(t.name) + ")");
}

/* Validates `file` against the expected tensors before anything is copied,
 * so a failed load leaves the instance unchanged. */
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
                                           shape_string(t->shape) + ", expected " +
                                           shape_string(spec->shape));
  }
  if (file.tensors.size() != expected.size()) {
    for (const kiln::rt::TensorEntry &t : file.tensors) {
      bool known = false;
      for (const TensorSpec *spec : expected)
        known = known || spec->name == t.name;
      if (!known)
        return fail(KILN_ERROR_MISMATCH, file.path + ": unexpected tensor " +
                                             quoted(t.name) + " (not in this model)");
    }
  }
  return {};
}

/* A validated file's tensor into host memory. */
void copy_in(const kiln_safetensors &file, const TensorSpec &spec, void *dst) {
  std::memcpy(dst, file.find(spec.name)->data, spec_bytes(spec));
}

/* A validated file's tensor into tensor t's current value. */
Error load_tensor(kiln_model *m, const kiln_safetensors &file, int t) {
  const TensorSpec &spec = m->spec.tensors[t];
  return to_device(m, m->current(t), file.find(spec.name)->data, spec_bytes(spec));
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

/* Host copies of instance tensors, for writing files: `views` point into
 * `host`'s buffers (a vector's move keeps its buffer), which must outlive
 * them. */
Error host_views(const kiln_model *m, const std::vector<int> &ids,
                 std::vector<std::vector<unsigned char>> *host,
                 std::vector<kiln_tensor_view> *views) {
  for (int t : ids) {
    const TensorSpec &spec = m->spec.tensors[t];
    host->emplace_back(spec_bytes(spec));
    if (Error e = to_host(m, host->back().data(), m->current(t), host->back().size()))
      return e;
    views->push_back(view_of(spec, host->back().data()));
  }
  return {};
}

/* The state_dict: parameters and buffers in metadata order. */
std::vector<int> state_dict(const ModelSpec &s) {
  std::vector<int> ids;
  for (size_t t = 0; t < s.tensors.size(); ++t)
    if (s.tensors[t].role == KILN_ROLE_PARAMETER || s.tensors[t].role == KILN_ROLE_BUFFER)
      ids.push_back(static_cast<int>(t));
  return ids;
}

/* The random state in the optimizer file: u64 bits as I64 scalars. */
const TensorSpec &rng_spec(int which) {
  static const TensorSpec seed{"rng.seed", KILN_I64, KILN_ROLE_STEP, {}, 1, {}, {}, 0};
  static const TensorSpec offset{"rng.offset", KILN_I64, KILN_ROLE_STEP, {}, 1, {}, {}, 0};
  return which == 0 ? seed : offset;
}

/* The optimizer file: states, step, the lrs (metadata order), then the rng. */
std::vector<const TensorSpec *> optimizer_file(const ModelSpec &s) {
  std::vector<const TensorSpec *> specs;
  for (int t : s.states)
    specs.push_back(&s.tensors[t]);
  specs.push_back(&s.tensors[s.step]);
  for (int t : s.lrs)
    specs.push_back(&s.tensors[t]);
  for (int t : s.momenta)
    specs.push_back(&s.tensors[t]);
  specs.push_back(&rng_spec(0));
  specs.push_back(&rng_spec(1));
  return specs;
}

void fill(const TensorSpec &t, uint64_t seed, uint64_t stream, void *dst) {
  if (t.dtype == KILN_I64) { // only zeros and ones (metadata.cpp)
    int64_t *p = static_cast<int64_t *>(dst);
    for (int64_t i = 0; i < t.numel; ++i)
      p[i] = t.init.kind == kiln::rt::Init::Ones ? 1 : 0;
    return;
  }
  kiln::rt::Rng rng(seed, stream, static_cast<uint64_t>(t.role_index));
  kiln::rt::fill_init(t.init, rng, static_cast<float *>(dst), t.numel);
}

uint64_t stream_of(kiln_tensor_role role) {
  return role == KILN_ROLE_PARAMETER ? kiln::rt::kParameterStream
         : role == KILN_ROLE_BUFFER  ? kiln::rt::kBufferStream
                                     : kiln::rt::kStateStream;
}

/* A norm_of tensor (weight_norm's g): the norms of its source parameter's
 * initial value, made again from the same seed and stream (each tensor's
 * values depend on those alone), over every dimension but the kept one. */
void fill_norm_of(const ModelSpec &s, const TensorSpec &t, uint64_t seed, float *dst) {
  const TensorSpec &source = s.tensors[s.params[static_cast<size_t>(t.init.a)]];
  std::vector<float> v(static_cast<size_t>(source.numel));
  fill(source, seed, stream_of(source.role), v.data());
  const int64_t dim = static_cast<int64_t>(t.init.b);
  int64_t outer = 1, size = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(source.shape.size()); ++d)
    (dim < 0 ? inner : d < dim ? outer : d == dim ? size : inner) *= source.shape[d];
  std::vector<double> sums(static_cast<size_t>(size), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < size; ++i)
      for (int64_t k = 0; k < inner; ++k) {
        double x = v[static_cast<size_t>((o * size + i) * inner + k)];
        sums[static_cast<size_t>(i)] += x * x;
      }
  for (int64_t i = 0; i < size; ++i)
    dst[i] = static_cast<float>(std::sqrt(sums[static_cast<size_t>(i)]));
}

/* Tensor t's initial value, made on the host and copied in. */
Error init_tensor(kiln_model *m, int t, uint64_t seed) {
  const TensorSpec &spec = m->spec.tensors[t];
  if (spec.init.kind == kiln::rt::Init::Empty) // skip_init: left as it is
    return Error();
  std::vector<unsigned char> host(spec_bytes(spec));
  if (spec.init.kind == kiln::rt::Init::NormOf)
    fill_norm_of(m->spec, spec, seed, reinterpret_cast<float *>(host.data()));
  else
    fill(spec, seed, stream_of(spec.role), host.data());
  return to_device(m, m->current(t), host.data(), host.size());
}

Error zero(kiln_model *m, void *dst, size_t bytes) {
  const std::vector<unsigned char> zeros(bytes);
  return to_device(m, dst, zeros.data(), bytes);
}

Error index_error(const char *function, int index, size_t count) {
  return fail(KILN_ERROR_INVALID_ARGUMENT,
              std::string(function) + ": index " + std::to_string(index) +
                  " out of range [0, " + std::to_string(count) + ")");
}

} // namespace

/* DDP's broadcast_buffers (below), before LBFGS's closure too. */
static Error broadcast_buffers(kiln_model *m, const char *function);

namespace kiln::rt {

const ModelSpec &spec_of(const kiln_model *model) { return model->spec; }

std::vector<int> state_dict_of(const ModelSpec &spec) { return state_dict(spec); }

Error read_tensor_of(const kiln_model *model, int t, void *dst) {
  return to_host(model, dst, model->current(t), spec_bytes(model->spec.tensors[t]));
}

Error write_tensor_of(kiln_model *model, int t, const void *src) {
  return to_device(model, model->current(t), src, spec_bytes(model->spec.tensors[t]));
}

Error validate_file_tensors(const kiln_safetensors &file,
                            const std::vector<const TensorSpec *> &expected) {
  return validate_file(file, expected);
}

void *host_current(kiln_model *model, int t) {
  return model->spec.device->host_memory ? model->current(t) : nullptr;
}

Error read_gradient(const kiln_model *model, int param, float *dst) {
  const int t = model->spec.params[param];
  return to_host(model, dst, model->grads[param], spec_bytes(model->spec.tensors[t]));
}

double group_lr(const kiln_model *model, int group) { return model->lrs[group]; }


Error run_gradients(kiln_model *model, const void *const *inputs, const void *target,
                    const char *function, float *loss, bool device_pointers) {
  const KernelSpec *kernel = kernel_for(model, KILN_ENTRY_GRADIENTS);
  if (!kernel)
    return no_kernel(model, "gradients");
  if (Error e = broadcast_buffers(model, function))
    return e;
  if (Error e = run_kernel(model, *kernel, Bound{inputs, target, nullptr, device_pointers},
                          function))
    return e;
  return to_host(model, loss, model->current(model->spec.loss), sizeof *loss);
}

Error average_over_processes(kiln_model *model, float *data, int64_t n, const char *function) {
  if (Error e = comm_average(model->comm, data, n, "LBFGS closure values (loss and gradients)"))
    return fail(e.status, std::string(function) + ": " + e.message);
  return {};
}

Error take_snapshot(const kiln_model *model, Snapshot *s) {
  s->rng = model->rng;
  s->cur = model->cur;
  s->tensors.clear();
  const ModelSpec &spec = model->spec;
  for (size_t t = 0; t < spec.tensors.size(); ++t) {
    const kiln_tensor_role role = spec.tensors[t].role;
    if (role != KILN_ROLE_PARAMETER && role != KILN_ROLE_BUFFER &&
        role != KILN_ROLE_OPTIMIZER_STATE && role != KILN_ROLE_STEP)
      continue;
    s->tensors.emplace_back(static_cast<int>(t),
                            std::vector<unsigned char>(spec_bytes(spec.tensors[t])));
    if (Error e = read_tensor_of(model, static_cast<int>(t), s->tensors.back().second.data()))
      return e;
  }
  return {};
}

Error restore_snapshot(kiln_model *model, const Snapshot &s) {
  model->rng = s.rng;
  model->cur = s.cur;
  for (const auto &[t, bytes] : s.tensors)
    if (Error e = write_tensor_of(model, t, bytes.data()))
      return e;
  return {};
}

} // namespace kiln::rt

#define KILN_MODEL_GUARD_END(model)                                            \
  KILN_API_GUARD_END([&](const Error &guard_error) {                           \
    return record(model, guard_error);                                         \
  })

extern "C" kiln_status kiln_model_create(const kiln_model_metadata *metadata,
                                         kiln_model **out) {
  return kiln_model_create_on_device(metadata, 0, out);
}

extern "C" kiln_status kiln_model_create_on_device(const kiln_model_metadata *metadata,
                                                   int32_t device, kiln_model **out) {
  const kiln_model *none = nullptr;
  KILN_API_GUARD_BEGIN
  if (out)
    *out = nullptr;
  if (!metadata || !out)
    return record(none, fail(KILN_ERROR_INVALID_ARGUMENT,
                             "kiln_model_create: metadata or out is NULL"));
  auto model = std::make_unique<kiln_model>();
  if (Error e = kiln::rt::read_metadata(metadata, &model->spec))
    return record(none, e);
  if (Error e = model->spec.device->open(model->spec, device, &model->device_ctx))
    return record(none, fail(e.status, "kiln_model_create: model " + quoted(model->spec.name) +
                                           " for " + model->spec.device->name + " device " +
                                           std::to_string(device) + ": " + e.message));
  model->ordinal = device;
  if (Error e = allocate(model.get()))
    return record(none, e);
  model->training = model->spec.trainable;
  model->lrs.assign(model->spec.lrs.size(), 0.0);
  if (Error e = store_lrs(model.get(), model->spec.initial_lrs))
    return record(none, e);
  for (int t : model->spec.momenta)
    if (Error e = init_tensor(model.get(), t, 0))
      return record(none, e);
  size_t most_args = 0;
  for (const KernelSpec &k : model->spec.kernels)
    most_args = std::max(most_args, k.args.size());
  model->args.reserve(most_args);
  model->flips.reserve(most_args);
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
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_init_parameters"));
  const ModelSpec &s = model->spec;
  for (size_t t = 0; t < s.tensors.size(); ++t) {
    const kiln_tensor_role role = s.tensors[t].role;
    if (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_BUFFER ||
        role == KILN_ROLE_OPTIMIZER_STATE || role == KILN_ROLE_MOMENTUM)
      if (Error e = init_tensor(model, static_cast<int>(t), seed))
        return record(model, e);
  }
  for (size_t i = 0; i < model->grads.size(); ++i)
    if (Error e = zero(model, model->grads[i], spec_bytes(s.tensors[s.params[i]])))
      return record(model, e);
  for (int g : s.grad_sums)
    if (Error e = zero(model, model->current(g), spec_bytes(s.tensors[g])))
      return record(model, e);
  for (int r : s.rows_sums)
    if (Error e = zero(model, model->current(r), spec_bytes(s.tensors[r])))
      return record(model, e);
  if (s.step >= 0)
    if (Error e = zero(model, model->current(s.step), sizeof(int64_t)))
      return record(model, e);
  if (Error e = store_lrs(model, s.initial_lrs))
    return record(model, e);
  model->rng = kiln_rng_state{seed, 0};
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_load_parameters(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_load_parameters"));
  if (!path)
    return record(model, null_argument("kiln_model_load_parameters", "path"));
  std::unique_ptr<kiln_safetensors> file;
  if (Error e = kiln::rt::read_safetensors(path, &file))
    return record(model, e);
  const ModelSpec &s = model->spec;
  std::vector<const TensorSpec *> expected;
  for (int t : state_dict(s))
    expected.push_back(&s.tensors[t]);
  if (Error e = validate_file(*file, expected))
    return record(model, e);
  for (int t : state_dict(s))
    if (Error e = load_tensor(model, *file, t))
      return record(model, e);
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_save_parameters(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_save_parameters"));
  if (!path)
    return record(model, null_argument("kiln_model_save_parameters", "path"));
  std::vector<std::vector<unsigned char>> host;
  std::vector<kiln_tensor_view> views;
  if (Error e = host_views(model, state_dict(model->spec), &host, &views))
    return record(model, e);
  return record(model, kiln::rt::write_safetensors(
                           path, views.data(), static_cast<int>(views.size())));
  KILN_MODEL_GUARD_END(model)
}

/* Reads step, the lrs and the rng from a validated optimizer file,
 * rejecting values no run can have produced. */
static Error read_counters(const kiln_safetensors &file, const ModelSpec &s,
                    int64_t *step, std::vector<double> *lrs, kiln_rng_state *rng) {
  copy_in(file, s.tensors[s.step], step);
  copy_in(file, rng_spec(0), &rng->seed);
  copy_in(file, rng_spec(1), &rng->offset);
  const std::string tensor = file.path + ": tensor ";
  if (*step < 0)
    return fail(KILN_ERROR_MISMATCH, tensor + quoted(s.tensors[s.step].name) +
                                         " is negative (" + std::to_string(*step) + ")");
  lrs->clear();
  for (int t : s.lrs) {
    float lr;
    copy_in(file, s.tensors[t], &lr);
    if (!std::isfinite(lr))
      return fail(KILN_ERROR_MISMATCH, tensor + quoted(s.tensors[t].name) + " is not finite");
    lrs->push_back(lr);
  }
  return {};
}

/* load_training_state's copies, after every check. */
static Error copy_training_state(kiln_model *model, const kiln_safetensors &file,
                                 const std::vector<int> &first, int64_t step,
                                 const std::vector<double> &lrs, const kiln_rng_state &rng) {
  const ModelSpec &s = model->spec;
  std::vector<int> ids = first;
  ids.insert(ids.end(), s.states.begin(), s.states.end());
  ids.insert(ids.end(), s.momenta.begin(), s.momenta.end());
  for (int t : ids)
    if (Error e = load_tensor(model, file, t))
      return e;
  if (Error e = to_device(model, model->current(s.step), &step, sizeof step))
    return e;
  if (Error e = store_lrs(model, lrs))
    return e;
  model->rng = rng;
  return {};
}

/* Loads the optimizer file's tensors (states, step, lr, rng, the
 * attached scheduler's state) from `path`,
 * after the tensors `first` (the state_dict, for a checkpoint); `specs` is
 * everything the file must hold. Everything is read and checked before the
 * first tensor is copied in, so a bad file leaves the instance as it was. */
static Error load_training_state(kiln_model *model, const char *path,
                          const std::vector<const TensorSpec *> &specs,
                          const std::vector<int> &first) {
  const ModelSpec &s = model->spec;
  std::unique_ptr<kiln_safetensors> file;
  if (Error e = kiln::rt::read_safetensors(path, &file))
    return e;
  std::vector<const TensorSpec *> expected = specs;
  if (model->scheduler)
    expected.push_back(&model->scheduler_spec);
  if (Error e = validate_file(*file, expected))
    return e;
  int64_t step;
  std::vector<double> lrs;
  kiln_rng_state rng;
  if (Error e = read_counters(*file, s, &step, &lrs, &rng))
    return e;
  // The attached scheduler takes the file's state first (set_state checks
  // it); any later failure puts its old state back.
  std::vector<double> old_schedule;
  if (model->scheduler) {
    const TensorSpec &spec = model->scheduler_spec;
    old_schedule.resize(static_cast<size_t>(spec.numel));
    std::vector<double> schedule(old_schedule.size());
    copy_in(*file, spec, schedule.data()); // I64 bits of doubles
    kiln_scheduler_get_state(model->scheduler, old_schedule.data(),
                             static_cast<int32_t>(spec.numel));
    if (kiln_scheduler_set_state(model->scheduler, schedule.data(),
                                 static_cast<int32_t>(spec.numel)))
      return fail(KILN_ERROR_MISMATCH,
                  file->path + ": tensor 'scheduler.state': " + kiln_last_error());
    // With a scheduler the exact lrs are its own (the file's are their f32).
    for (size_t g = 0; g < lrs.size(); ++g)
      kiln_scheduler_group_lr(model->scheduler, static_cast<int32_t>(g), &lrs[g]);
  }
  Error e = copy_training_state(model, *file, first, step, lrs, rng);
  if (e && model->scheduler)
    kiln_scheduler_set_state(model->scheduler, old_schedule.data(),
                             static_cast<int32_t>(old_schedule.size()));
  return e;
}


/* Writes the tensors `first` (the state_dict, for a checkpoint), then the
 * optimizer file's: states, step, lr, rng. */
static Error save_training_state(kiln_model *model, const char *path, std::vector<int> first) {
  const ModelSpec &s = model->spec;
  std::vector<int> ids = std::move(first);
  ids.insert(ids.end(), s.states.begin(), s.states.end());
  ids.push_back(s.step);
  ids.insert(ids.end(), s.lrs.begin(), s.lrs.end());
  ids.insert(ids.end(), s.momenta.begin(), s.momenta.end());
  std::vector<std::vector<unsigned char>> host;
  std::vector<kiln_tensor_view> views;
  if (Error e = host_views(model, ids, &host, &views))
    return e;
  views.push_back(view_of(rng_spec(0), &model->rng.seed));
  views.push_back(view_of(rng_spec(1), &model->rng.offset));
  std::vector<double> schedule;
  if (model->scheduler) {
    schedule.resize(static_cast<size_t>(model->scheduler_spec.numel));
    if (kiln_scheduler_get_state(model->scheduler, schedule.data(),
                                 static_cast<int32_t>(schedule.size())))
      return fail(KILN_ERROR_INVALID_ARGUMENT, kiln_last_error());
    views.push_back(view_of(model->scheduler_spec, schedule.data())); // doubles' bits as I64
  }
  return kiln::rt::write_safetensors(path, views.data(), static_cast<int>(views.size()));
}

/* The checkpoint: the state_dict (parameters and buffers, metadata order),
 * then the optimizer file's tensors. Metadata names are unique across the
 * table and "rng.seed" / "rng.offset" are reserved, so no two collide. */
static std::vector<const TensorSpec *> checkpoint_file(const ModelSpec &s) {
  std::vector<const TensorSpec *> specs;
  for (int t : state_dict(s))
    specs.push_back(&s.tensors[t]);
  for (const TensorSpec *spec : optimizer_file(s))
    specs.push_back(spec);
  return specs;
}

extern "C" kiln_status kiln_model_load_optimizer_state(kiln_model *model,
                                                       const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_load_optimizer_state"));
  if (!path)
    return record(model, null_argument("kiln_model_load_optimizer_state", "path"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  return record(model, load_training_state(model, path, optimizer_file(model->spec), {}));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_save_optimizer_state(kiln_model *model,
                                                       const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_save_optimizer_state"));
  if (!path)
    return record(model, null_argument("kiln_model_save_optimizer_state", "path"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  return record(model, save_training_state(model, path, {}));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_save_checkpoint(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_save_checkpoint"));
  if (!path)
    return record(model, null_argument("kiln_model_save_checkpoint", "path"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  return record(model, save_training_state(model, path, state_dict(model->spec)));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_load_checkpoint(kiln_model *model,
                                                  const char *path) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_load_checkpoint"));
  if (!path)
    return record(model, null_argument("kiln_model_load_checkpoint", "path"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  const ModelSpec &s = model->spec;
  return record(model, load_training_state(model, path, checkpoint_file(s), state_dict(s)));
  KILN_MODEL_GUARD_END(model)
}

/* The _device entry points' streams: on a device without streams
 * `stream` must be NULL; otherwise what `call` queues runs after what the
 * caller queued on `stream` before, and what the caller queues on `stream`
 * after runs after it. */
template <typename Call>
static kiln_status on_caller_stream(kiln_model *model, const char *function, void *stream,
                                    Call call) {
  if (!model)
    return record(model, null_model(function));
  const Device &d = *model->spec.device;
  if (!d.wait_for_stream) {
    if (stream)
      return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                                std::string(function) + ": stream is not NULL, but a " +
                                    d.name + " model has no streams: pass NULL"));
    return call();
  }
  if (Error e = device_error(model, d.wait_for_stream(model->device_ctx, stream),
                             "ordering after the caller's stream"))
    return record(model, e);
  const kiln_status status = call();
  Error after = device_error(model, d.make_stream_wait(model->device_ctx, stream),
                             "ordering the caller's stream after the call");
  return status == KILN_OK ? record(model, after) : status;
}

static kiln_status run_forward(kiln_model *model, const char *function,
                               const void *const *inputs, void *const *outputs,
                               bool device_pointers) {
  if (!model)
    return record(model, null_model(function));
  if (Error e = check_inputs(model, function, inputs, device_pointers))
    return record(model, e);
  if (Error e = check_outputs(model, function, inputs, outputs))
    return record(model, e);
  const KernelSpec *kernel = kernel_for(model, KILN_ENTRY_FORWARD);
  if (!kernel) // metadata.cpp requires one per mode; kept for safety
    return record(model, no_kernel(model, "forward"));
  return record(model, run_kernel(model, *kernel,
                                  Bound{inputs, nullptr, outputs, device_pointers}, function));
}

extern "C" kiln_status kiln_model_forward(kiln_model *model,
                                          const void *const *inputs,
                                          void *const *outputs) {
  KILN_API_GUARD_BEGIN
  return run_forward(model, "kiln_model_forward", inputs, outputs, false);
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_forward_device(kiln_model *model,
                                                 const void *const *inputs,
                                                 void *const *outputs, void *stream) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_forward_device";
  return on_caller_stream(model, function, stream, [&] {
    return run_forward(model, function, inputs, outputs, true);
  });
  KILN_MODEL_GUARD_END(model)
}

/* gradients and train_step: the same checks, the kernel of the current mode,
 * and the loss read back. */
/* DDP's broadcast_buffers: before a training forward with a communicator
 * of several processes, every process takes rank 0's buffers (BatchNorm's
 * running statistics, which each process updates from its own batch). */
/* Tensor t of `m` from rank 0 of `comm` (through `host`, reused); errors
 * name `function`. */
static Error broadcast_tensor(kiln_model *m, kiln_comm *comm, int t,
                              std::vector<unsigned char> &host, const char *function) {
  const TensorSpec &spec = m->spec.tensors[t];
  host.resize(spec_bytes(spec));
  if (Error e = read_tensor_of(m, t, host.data()))
    return e;
  if (Error e = comm_broadcast(comm, host.data(), static_cast<int64_t>(host.size()),
                               quoted(spec.name)))
    return fail(e.status, std::string(function) + ": " + e.message);
  return write_tensor_of(m, t, host.data());
}

static Error broadcast_buffers(kiln_model *m, const char *function) {
  if (!m->comm || kiln_comm_size(m->comm) == 1 || !m->training)
    return {};
  std::vector<unsigned char> host;
  for (size_t t = 0; t < m->spec.tensors.size(); ++t)
    if (m->spec.tensors[t].role == KILN_ROLE_BUFFER)
      if (Error e = broadcast_tensor(m, m->comm, int(t), host, function))
        return e;
  return {};
}

/* `device_pointers`: a _device entry point's (inputs, target and loss in
 * device memory, loss may be NULL). */
/* A communicator of several processes attached to a model whose update
 * averaged nothing: the processes would drift apart silently. Attaching
 * refuses a model whose metadata lacks KILN_MODEL_DATA_PARALLEL; this
 * catches metadata that claims it while its kernels call no all-reduce
 * (built by hand). Only the kernel can tell, so this is checked after it,
 * like a failed collective. */
static Error check_averaged(const kiln_model *m, const char *function) {
  const int size = kiln_comm_size(m->comm);
  if (!m->comm || size < 2 || m->last_all_reduces > 0)
    return {};
  return fail(KILN_ERROR_INVALID_ARGUMENT,
              std::string(function) + ": a communicator of " + std::to_string(size) +
                  " processes is attached, but the model's update averaged no gradients: it "
                  "was compiled without --data-parallel. This step used this process's "
                  "gradients only, so the processes are out of step now");
}

static kiln_status run_training(kiln_model *model, const char *function,
                         kiln_entry_point entry, const void *const *inputs,
                         const void *target, float *loss, bool device_pointers = false) {
  if (!model)
    return record(model, null_model(function));
  if (Error e = check_training_call(model, function, inputs, target, loss, device_pointers))
    return record(model, e);
  const KernelSpec *kernel = kernel_for(model, entry);
  if (!kernel)
    return record(model, no_kernel(model, entry == KILN_ENTRY_GRADIENTS
                                              ? "gradients"
                                              : "train_step"));
  if (Error e = broadcast_buffers(model, function))
    return record(model, e);
  if (Error e = run_kernel(model, *kernel, Bound{inputs, target, nullptr, device_pointers},
                          function))
    return record(model, e);
  if (entry == KILN_ENTRY_TRAIN_STEP)
    if (Error e = check_averaged(model, function))
      return record(model, e);
  const void *computed = model->current(model->spec.loss);
  if (!loss)
    return KILN_OK;
  if (!device_pointers)
    return record(model, to_host(model, loss, computed, sizeof *loss));
  const Device &d = *model->spec.device;
  return record(model, device_error(model,
                                    d.copy_on_device(model->device_ctx, loss, computed,
                                                     sizeof *loss),
                                    "copy of the loss"));
}

extern "C" kiln_status kiln_model_gradients(kiln_model *model,
                                            const void *const *inputs,
                                            const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  return run_training(model, "kiln_model_gradients", KILN_ENTRY_GRADIENTS,
                      inputs, target, loss);
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_train_step(kiln_model *model,
                                             const void *const *inputs,
                                             const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_train_step";
  if (model && model->spec.optimizer == KILN_OPTIMIZER_LBFGS) {
    if (Error e = check_training_call(model, function, inputs, target, loss))
      return record(model, e);
    return record(model, kiln::rt::lbfgs_step(model, inputs, target, loss));
  }
  return run_training(model, function, KILN_ENTRY_TRAIN_STEP, inputs, target, loss);
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_gradients_device(kiln_model *model,
                                                   const void *const *inputs,
                                                   const void *target, float *loss,
                                                   void *stream) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_gradients_device";
  return on_caller_stream(model, function, stream, [&] {
    return run_training(model, function, KILN_ENTRY_GRADIENTS, inputs, target, loss, true);
  });
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_train_step_device(kiln_model *model,
                                                    const void *const *inputs,
                                                    const void *target, float *loss,
                                                    void *stream) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_train_step_device";
  return on_caller_stream(model, function, stream, [&] {
    if (model->spec.optimizer != KILN_OPTIMIZER_LBFGS)
      return run_training(model, function, KILN_ENTRY_TRAIN_STEP, inputs, target, loss, true);
    // LBFGS's driver runs on the host; its loss is a host value.
    if (Error e = check_training_call(model, function, inputs, target, loss, true))
      return record(model, e);
    float host_loss = 0;
    if (Error e = kiln::rt::lbfgs_step(model, inputs, target, &host_loss, true))
      return record(model, e);
    if (!loss)
      return KILN_OK;
    if (model->spec.device->host_memory) {
      *loss = host_loss;
      return KILN_OK;
    }
    return record(model, to_device(model, loss, &host_loss, sizeof host_loss));
  });
  KILN_MODEL_GUARD_END(model)
}

/* tensors[list[index]] of a role list, or an error naming `function`. */
static Error lookup(const std::vector<int> &list, int index,
                    const char *function, int *tensor) {
  if (index < 0 || index >= static_cast<int>(list.size()))
    return index_error(function, index, list.size());
  *tensor = list[index];
  return {};
}

/* The kernel of `entry` for the current mode, or the error saying there is
 * none (models compiled before gradient accumulation have no accumulate and
 * apply kernels). */
static Error accumulation_kernel(const kiln_model *model, kiln_entry_point entry,
                                 const KernelSpec **kernel) {
  if (!model->spec.trainable)
    return inference_only();
  *kernel = kernel_for(model, entry);
  if (*kernel)
    return {};
  if (model->spec.optimizer == KILN_OPTIMIZER_LBFGS && entry != KILN_ENTRY_GRADIENTS)
    return fail(KILN_ERROR_UNSUPPORTED,
                "this model's optimizer is LBFGS, whose step re-evaluates the loss and "
                "gradients itself (torch's closure): use kiln_model_train_step; gradient "
                "accumulation has no closure to call");
  if (entry == KILN_ENTRY_ACCUMULATE || entry == KILN_ENTRY_APPLY)
    return fail(KILN_ERROR_UNSUPPORTED,
                std::string("model has no ") +
                    (entry == KILN_ENTRY_ACCUMULATE ? "accumulate" : "apply") +
                    " kernel: models compiled before gradient accumulation have none; use "
                    "kiln_model_train_step");
  return no_kernel(model, "gradients");
}

extern "C" kiln_status kiln_model_accumulate(kiln_model *model, const void *const *inputs,
                                             const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_accumulate";
  if (!model)
    return record(model, null_model(function));
  const KernelSpec *grad = nullptr, *add = nullptr;
  if (Error e = accumulation_kernel(model, KILN_ENTRY_GRADIENTS, &grad))
    return record(model, e);
  if (Error e = accumulation_kernel(model, KILN_ENTRY_ACCUMULATE, &add))
    return record(model, e);
  // Every check before the first kernel: a refused batch changes nothing.
  if (Error e = check_training_call(model, function, inputs, target, loss))
    return record(model, e);
  if (Error e = broadcast_buffers(model, function))
    return record(model, e);
  if (Error e = run_kernel(model, *grad, Bound{inputs, target, nullptr}, function))
    return record(model, e);
  if (Error e = run_kernel(model, *add, Bound{}, function))
    return record(model, e);
  return record(model, to_host(model, loss, model->current(model->spec.loss), sizeof *loss));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_apply(kiln_model *model) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_apply"));
  const KernelSpec *apply = nullptr;
  if (Error e = accumulation_kernel(model, KILN_ENTRY_APPLY, &apply))
    return record(model, e);
  if (Error e = run_kernel(model, *apply, Bound{}, "kiln_model_apply"))
    return record(model, e);
  return record(model, check_averaged(model, "kiln_model_apply"));
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_zero_grad(kiln_model *model) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_zero_grad"));
  const KernelSpec *apply = nullptr;
  if (Error e = accumulation_kernel(model, KILN_ENTRY_APPLY, &apply))
    return record(model, e);
  for (int g : model->spec.grad_sums)
    if (Error e = zero(model, model->current(g), spec_bytes(model->spec.tensors[g])))
      return record(model, e);
  for (int r : model->spec.rows_sums)
    if (Error e = zero(model, model->current(r), spec_bytes(model->spec.tensors[r])))
      return record(model, e);
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_grad_sum(kiln_model *model, int index, float **data) {
  if (!model)
    return record(model, null_model("kiln_model_grad_sum"));
  if (!data)
    return record(model, null_argument("kiln_model_grad_sum", "data"));
  const KernelSpec *apply = nullptr;
  if (Error e = accumulation_kernel(model, KILN_ENTRY_APPLY, &apply))
    return record(model, e);
  int t;
  if (Error e = lookup(model->spec.grad_sums, index, "kiln_model_grad_sum", &t))
    return record(model, e);
  void *view = nullptr;
  if (Error e = tensor_view(model, t, &view))
    return record(model, e);
  *data = static_cast<float *>(view);
  return KILN_OK;
}

/* torch.optim.swa_utils.update_bn over `num_batches` batches: the
 * UPDATE_BN_FIRST kernel on the first (which starts the batch norms from
 * torch's reset statistics), UPDATE_BN on the others. Every batch's inputs
 * are checked before the first kernel; a value check that fails in a
 * kernel puts the buffers back as they were, so a refused call changes
 * nothing. The kernels are opt-in (training.update_bn): without them,
 * KILN_ERROR_UNSUPPORTED naming the option. */
extern "C" kiln_status kiln_model_update_bn(kiln_model *model, int num_batches,
                                            const void *const *const *batches) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_model_update_bn";
  if (!model)
    return record(model, null_model(function));
  if (num_batches < 1)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              std::string(function) + ": num_batches is " +
                                  std::to_string(num_batches) + ", needs at least one batch"));
  if (!batches)
    return record(model, null_argument(function, "batches"));
  const ModelSpec &s = model->spec;
  const int first = s.kernel[KILN_ENTRY_UPDATE_BN_FIRST][kiln::rt::kTrain];
  const int later = s.kernel[KILN_ENTRY_UPDATE_BN][kiln::rt::kTrain];
  if (first < 0 || later < 0)
    return record(model, fail(KILN_ERROR_UNSUPPORTED,
                              std::string(function) +
                                  (s.trainable
                                       ? ": the model was compiled without update_bn's kernels "
                                         "(set \"update_bn\": true in the model file's training "
                                         "section, the DSL's Training::update_bn())"
                                       : ": an inference model has no train mode (compile "
                                         "with --mode=train and training.update_bn)")));
  for (int b = 0; b < num_batches; ++b) {
    const std::string what = std::string(function) + ": batch " + std::to_string(b);
    if (!batches[b])
      return record(model, fail(KILN_ERROR_INVALID_ARGUMENT, what + " is NULL"));
    if (Error e = check_inputs(model, what.c_str(), batches[b]))
      return record(model, e);
  }
  std::vector<std::vector<unsigned char>> saved;
  for (int t : s.buffers) {
    saved.emplace_back(spec_bytes(s.tensors[t]));
    if (Error e = to_host(model, saved.back().data(), model->current(t), saved.back().size()))
      return record(model, e);
  }
  for (int b = 0; b < num_batches; ++b) {
    const KernelSpec &kernel = s.kernels[b == 0 ? first : later];
    if (Error e = run_kernel(model, kernel, Bound{batches[b], nullptr, nullptr}, function)) {
      for (size_t i = 0; i < s.buffers.size(); ++i)
        if (Error r = to_device(model, model->current(s.buffers[i]), saved[i].data(),
                                saved[i].size()))
          return record(model, r);
      return record(model, e);
    }
  }
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" kiln_status kiln_model_get_lr(const kiln_model *model, float *lr) {
  if (!model)
    return record(model, null_model("kiln_model_get_lr"));
  if (!lr)
    return record(model, null_argument("kiln_model_get_lr", "lr"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  *lr = static_cast<float>(model->lrs[0]);
  return KILN_OK;
}

extern "C" kiln_status kiln_model_set_lr(kiln_model *model, float lr) {
  if (!model)
    return record(model, null_model("kiln_model_set_lr"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  if (!std::isfinite(lr))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_set_lr: learning rate is not finite"));
  return record(model, store_lrs(model, std::vector<double>(model->lrs.size(), lr)));
}

extern "C" int kiln_model_num_param_groups(const kiln_model *model) {
  return model ? static_cast<int>(model->spec.lrs.size()) : 0;
}

extern "C" kiln_status kiln_model_get_group_lr(const kiln_model *model, int group, float *lr) {
  if (!model)
    return record(model, null_model("kiln_model_get_group_lr"));
  if (!lr)
    return record(model, null_argument("kiln_model_get_group_lr", "lr"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  int t;
  if (Error e = lookup(model->spec.lrs, group, "kiln_model_get_group_lr", &t))
    return record(model, e);
  *lr = static_cast<float>(model->lrs[static_cast<size_t>(group)]);
  return KILN_OK;
}

extern "C" kiln_status kiln_model_set_group_lr(kiln_model *model, int group, float lr) {
  if (!model)
    return record(model, null_model("kiln_model_set_group_lr"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  int t;
  if (Error e = lookup(model->spec.lrs, group, "kiln_model_set_group_lr", &t))
    return record(model, e);
  if (!std::isfinite(lr))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_set_group_lr: learning rate is not finite"));
  return record(model, store_lr(model, static_cast<size_t>(group), lr));
}

extern "C" kiln_status kiln_model_get_group_momentum(const kiln_model *model, int group,
                                                    float *momentum) {
  if (!model)
    return record(model, null_model("kiln_model_get_group_momentum"));
  if (!momentum)
    return record(model, null_argument("kiln_model_get_group_momentum", "momentum"));
  if (model->spec.momenta.empty())
    return record(model, fail(KILN_ERROR_UNSUPPORTED,
                              "kiln_model_get_group_momentum: the model has no cycled momentum "
                              "(no declared scheduler cycles it)"));
  int t;
  if (Error e = lookup(model->spec.momenta, group, "kiln_model_get_group_momentum", &t))
    return record(model, e);
  return record(model, to_host(model, momentum, model->current(t), sizeof *momentum));
}

extern "C" kiln_status kiln_model_get_step(const kiln_model *model,
                                           int64_t *step) {
  if (!model)
    return record(model, null_model("kiln_model_get_step"));
  if (!step)
    return record(model, null_argument("kiln_model_get_step", "step"));
  const int t = model->spec.step;
  *step = 0;
  if (t < 0)
    return KILN_OK;
  return record(model, to_host(model, step, model->current(t), sizeof *step));
}

extern "C" kiln_status kiln_model_arena_bytes(const kiln_model *model,
                                              uint64_t *bytes) {
  if (!model)
    return record(model, null_model("kiln_model_arena_bytes"));
  if (!bytes)
    return record(model, null_argument("kiln_model_arena_bytes", "bytes"));
  *bytes = model->arena_bytes;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_set_training(kiln_model *model,
                                               int training) {
  if (!model)
    return record(model, null_model("kiln_model_set_training"));
  if (training && !model->spec.trainable)
    return record(model, inference_only());
  model->training = training != 0;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_get_training(const kiln_model *model,
                                               int *training) {
  if (!model)
    return record(model, null_model("kiln_model_get_training"));
  if (!training)
    return record(model, null_argument("kiln_model_get_training", "training"));
  *training = model->training ? 1 : 0;
  return KILN_OK;
}


extern "C" int kiln_model_num_parameters(const kiln_model *model) {
  if (!model) {
    record(model, null_model("kiln_model_num_parameters"));
    return 0;
  }
  return static_cast<int>(model->spec.params.size());
}

extern "C" kiln_status kiln_model_parameter(kiln_model *model, int index,
                                            const char **name, float **data,
                                            int64_t *numel) {
  if (!model)
    return record(model, null_model("kiln_model_parameter"));
  int t;
  if (Error e = lookup(model->spec.params, index, "kiln_model_parameter", &t))
    return record(model, e);
  if (name)
    *name = model->spec.tensors[t].name.c_str();
  if (data) {
    void *view = nullptr;
    if (Error e = tensor_view(model, t, &view))
      return record(model, e);
    *data = static_cast<float *>(view);
  }
  if (numel)
    *numel = model->spec.tensors[t].numel;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_gradient(kiln_model *model, int index,
                                           float **data) {
  if (!model)
    return record(model, null_model("kiln_model_gradient"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  if (!data)
    return record(model, null_argument("kiln_model_gradient", "data"));
  if (index < 0 || index >= static_cast<int>(model->grads.size()))
    return record(model, index_error("kiln_model_gradient", index, model->grads.size()));
  const int t = model->spec.params[index];
  void *view = nullptr;
  if (Error e = host_view(model, model->spec.tensors.size() + index, model->grads[index],
                          spec_bytes(model->spec.tensors[t]), &view))
    return record(model, e);
  *data = static_cast<float *>(view);
  return KILN_OK;
}

extern "C" int kiln_model_num_buffers(const kiln_model *model) {
  if (!model) {
    record(model, null_model("kiln_model_num_buffers"));
    return 0;
  }
  return static_cast<int>(model->spec.buffers.size());
}

extern "C" kiln_status kiln_model_buffer(kiln_model *model, int index,
                                         const char **name, kiln_dtype *dtype,
                                         void **data, int64_t *numel) {
  if (!model)
    return record(model, null_model("kiln_model_buffer"));
  int t;
  if (Error e = lookup(model->spec.buffers, index, "kiln_model_buffer", &t))
    return record(model, e);
  const TensorSpec &spec = model->spec.tensors[t];
  if (name)
    *name = spec.name.c_str();
  if (dtype)
    *dtype = spec.dtype;
  if (data) {
    void *view = nullptr;
    if (Error e = tensor_view(model, t, &view))
      return record(model, e);
    *data = view;
  }
  if (numel)
    *numel = spec.numel;
  return KILN_OK;
}

extern "C" int kiln_model_num_states(const kiln_model *model) {
  if (!model) {
    record(model, null_model("kiln_model_num_states"));
    return 0;
  }
  return static_cast<int>(model->spec.states.size());
}

extern "C" kiln_status kiln_model_state(kiln_model *model, int index,
                                        const char **name, float **data,
                                        int64_t *numel) {
  if (!model)
    return record(model, null_model("kiln_model_state"));
  int t;
  if (Error e = lookup(model->spec.states, index, "kiln_model_state", &t))
    return record(model, e);
  if (name)
    *name = model->spec.tensors[t].name.c_str();
  if (data) {
    void *view = nullptr;
    if (Error e = tensor_view(model, t, &view))
      return record(model, e);
    *data = static_cast<float *>(view);
  }
  if (numel)
    *numel = model->spec.tensors[t].numel;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_get_rng(const kiln_model *model,
                                          kiln_rng_state *rng) {
  if (!model)
    return record(model, null_model("kiln_model_get_rng"));
  if (!rng)
    return record(model, null_argument("kiln_model_get_rng", "rng"));
  *rng = model->rng;
  return KILN_OK;
}

/* A scheduler's learning rates (scheduler.cpp), one per group, kept exact
 * like set_lr's; recorded on the instance as every model call's failure is. */
kiln_status kiln_model_store_scheduled_lrs(kiln_model *model, const double *lrs,
                                           const double *momenta, int32_t num_groups,
                                           int momentum_cycled) {
  if (!model->spec.trainable)
    return record(model, inference_only());
  if (momentum_cycled && model->spec.momenta.empty())
    return record(model,
                  fail(KILN_ERROR_UNSUPPORTED,
                       "kiln_model_apply_scheduler: the scheduler cycles momentum "
                       "(cycle_momentum), but this model's momentum and betas are compiled "
                       "constants: declare the scheduler in the model file's "
                       "training.scheduler (kilnc then compiles them as runtime values), or "
                       "create it with cycle_momentum 0"));
  if (static_cast<size_t>(num_groups) != model->lrs.size())
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_apply_scheduler: the scheduler has " +
                                  std::to_string(num_groups) +
                                  " parameter group(s), the model " +
                                  std::to_string(model->lrs.size()) +
                                  " (create it with kiln_scheduler_create_groups)"));
  std::vector<double> next(lrs, lrs + num_groups);
  for (int32_t g = 0; g < num_groups; ++g)
    if (!std::isfinite(lrs[g]) || (momentum_cycled && !std::isfinite(momenta[g])))
      return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                                "kiln_model_scheduler_step: learning rate or momentum is not "
                                "finite"));
  if (momentum_cycled)
    for (int32_t g = 0; g < num_groups; ++g) {
      const float value = static_cast<float>(momenta[g]);
      if (Error e = to_device(model, model->current(model->spec.momenta[g]), &value,
                              sizeof value))
        return record(model, e);
    }
  return record(model, store_lrs(model, next));
}

extern "C" kiln_status kiln_model_attach_comm(kiln_model *model, kiln_comm *comm) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_attach_comm"));
  model->comm = nullptr;
  if (!comm)
    return KILN_OK;
  // Refused before anything moves: the processes would drift apart.
  const int size = kiln_comm_size(comm);
  if (size > 1 && model->spec.trainable && !model->spec.data_parallel)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_attach_comm: the model was compiled without "
                              "--data-parallel, so its updates would use each process's own "
                              "gradients and the " + std::to_string(size) +
                                  " processes of the communicator would drift apart; "
                                  "compile it with kilnc --data-parallel"));
  // A device operation on another GPU's memory would fail inside a step,
  // or worse; a model in host memory goes through the host operations.
  const int comm_device = kiln::rt::comm_device(comm);
  if (comm_device >= 0 && !model->spec.device->host_memory && comm_device != model->ordinal)
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_attach_comm: the communicator reduces the memory of "
                              "device " + std::to_string(comm_device) + ", the model is on " +
                                  std::string(model->spec.device->name) + " device " +
                                  std::to_string(model->ordinal) +
                                  " (one communicator per device: kiln_comm_create_nccl's "
                                  "device must be the model's)"));
  // Every process starts from rank 0's parameters and buffers, as DDP's
  // constructor broadcasts its module's state.
  std::vector<unsigned char> host;
  for (int t : state_dict(model->spec))
    if (Error e = broadcast_tensor(model, comm, t, host, "kiln_model_attach_comm"))
      return record(model, e);
  model->comm = comm;
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}

extern "C" int kiln_model_world_size(const kiln_model *model) {
  return model ? kiln_comm_size(model->comm) : 1;
}

extern "C" int kiln_model_rank(const kiln_model *model) {
  return model ? kiln_comm_rank(model->comm) : 0;
}

extern "C" kiln_status kiln_model_attach_scheduler(kiln_model *model, kiln_scheduler *scheduler) {
  KILN_API_GUARD_BEGIN
  if (!model)
    return record(model, null_model("kiln_model_attach_scheduler"));
  if (!model->spec.trainable)
    return record(model, inference_only());
  model->scheduler = nullptr;
  if (!scheduler)
    return KILN_OK;
  if (static_cast<size_t>(kiln_scheduler_num_groups(scheduler)) != model->lrs.size())
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT,
                              "kiln_model_attach_scheduler: the scheduler has " +
                                  std::to_string(kiln_scheduler_num_groups(scheduler)) +
                                  " parameter group(s), the model " +
                                  std::to_string(model->lrs.size())));
  int32_t count = 0;
  if (kiln_scheduler_state_size(scheduler, &count))
    return record(model, fail(KILN_ERROR_INVALID_ARGUMENT, kiln_last_error()));
  model->scheduler_spec = TensorSpec{"scheduler.state", KILN_I64, KILN_ROLE_STEP, {count}, count,
                                     {}, {}, 0};
  model->scheduler = scheduler;
  return KILN_OK;
  KILN_MODEL_GUARD_END(model)
}
