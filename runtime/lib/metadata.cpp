#include "metadata.h"
#include "safetensors.h"

#include <cmath>
#include <cstring>
#include <set>
#include <unordered_set>

namespace kiln::rt {
namespace {

constexpr int32_t kMaxTensors = 1 << 20;
constexpr int32_t kMaxKernels = 64;
constexpr int32_t kMaxArgs = 1 << 16;
constexpr int32_t kMaxDeviceKernels = 1 << 16;
constexpr int32_t kMaxRank = 32;
constexpr size_t kMaxName = 1024;
constexpr int64_t kMaxWorkspace = int64_t(1) << 48;

Error bad(const std::string &what) {
  return fail(KILN_ERROR_FORMAT, "metadata: " + what);
}

const char *role_name(int32_t role) {
  static const char *const names[] = {"parameter", "buffer", "optimizer state",
                                      "input",     "target", "output",
                                      "loss",      "step",   "lr",
                                      "grad_norm", "grad sum", "momentum", "check",
                                      "sparse rows", "rows sum"};
  return role >= 0 && role <= KILN_ROLE_ROWS_SUM ? names[role] : "?";
}

/* Names become safetensors keys, messages and generated text: non-empty
 * printable ASCII without spaces, bounded so a missing NUL cannot run on. */
Error check_name(const char *name, const std::string &what) {
  if (!name)
    return bad(what + ": name is NULL");
  size_t n = strnlen(name, kMaxName + 1);
  if (n == 0)
    return bad(what + ": name is empty");
  if (n > kMaxName)
    return bad(what + ": name longer than " + std::to_string(kMaxName) + " bytes");
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c <= 0x20 || c >= 0x7f)
      return bad(what + ": name has a space, control or non-ASCII character"
                        " at byte " + std::to_string(i));
  }
  return {};
}

Error check_init(const kiln_init &init, kiln_dtype dtype, const std::string &what,
                 Init *out) {
  if (init.kind < KILN_INIT_ZEROS || init.kind > KILN_INIT_EMPTY)
    return bad(what + ": unknown initializer kind " + std::to_string(init.kind));
  out->kind = static_cast<Init::Kind>(init.kind);
  out->a = init.args[0];
  out->b = init.args[1];
  if (init.kind == KILN_INIT_CONSTANT) {
    if (dtype != KILN_F32)
      return bad(what + ": a constant initializer needs dtype f32");
    if (!std::isfinite(out->a) || !std::isfinite(static_cast<float>(out->a)) || out->b != 0)
      return bad(what + ": a constant initializer needs a finite f32 value and args[1] = 0");
    return {};
  }
  if (init.kind == KILN_INIT_NORM_OF || init.kind == KILN_INIT_UNIT_NORMAL) {
    // norm_of's source is checked against the parameters (check_norm_of).
    if (dtype != KILN_F32)
      return bad(what + ": a derived initializer needs dtype f32");
    if (init.kind == KILN_INIT_UNIT_NORMAL &&
        (!(out->a > 0) || !std::isfinite(out->a) || out->b != 0))
      return bad(what + ": unit_normal needs a finite eps > 0 and args[1] = 0");
    if (init.kind == KILN_INIT_NORM_OF &&
        (out->a != std::floor(out->a) || out->a < 0 || out->a > kMaxTensors ||
         out->b != std::floor(out->b) || out->b < -1 || out->b >= kMaxRank))
      return bad(what + ": norm_of needs a parameter index and a dimension (or -1)");
    return {};
  }
  if (init.kind == KILN_INIT_EMPTY && (out->a != 0 || out->b != 0))
    return bad(what + ": an empty initializer takes no arguments");
  const bool random = init.kind == KILN_INIT_UNIFORM || init.kind == KILN_INIT_NORMAL;
  if (!random)
    return {};
  if (dtype != KILN_F32)
    return bad(what + ": a random initializer needs dtype f32");
  if (!std::isfinite(out->a) || !std::isfinite(out->b))
    return bad(what + ": initializer arguments are not finite");
  if (init.kind == KILN_INIT_UNIFORM && out->a > out->b)
    return bad(what + ": uniform bounds have lo > hi");
  if (init.kind == KILN_INIT_NORMAL && out->b < 0)
    return bad(what + ": normal std is negative");
  return {};
}

/* Only the caller's i64 tensors can be checked, and only they need to be:
 * everything else the runtime or the kernels write themselves. */
Error check_range(const kiln_index_range &r, const TensorSpec &t,
                  const std::string &what, IndexRange *out) {
  if (!r.checked) {
    if (r.has_ignore || r.lo || r.hi || r.ignore)
      return bad(what + ": index range fields set but not checked");
    return {};
  }
  if (r.checked != 1 || (r.has_ignore != 0 && r.has_ignore != 1))
    return bad(what + ": index range flags must be 0 or 1");
  if (t.dtype != KILN_I64 || (t.role != KILN_ROLE_INPUT && t.role != KILN_ROLE_TARGET))
    return bad(what + ": only i64 inputs and targets have an index range");
  if (r.lo > r.hi)
    return bad(what + ": index range has lo > hi");
  if (!r.has_ignore && r.ignore)
    return bad(what + ": index range has an ignore value but has_ignore is 0");
  *out = {true, r.has_ignore == 1, r.lo, r.hi, r.ignore};
  return {};
}

/* dtype and shape rules of each role (parameters and states are exposed as
 * float*; step, lr and loss are scalars of a fixed type). */
Error check_role_type(const TensorSpec &t, const std::string &what) {
  const bool scalar = t.shape.empty();
  switch (t.role) {
  case KILN_ROLE_PARAMETER:
  case KILN_ROLE_OPTIMIZER_STATE:
  case KILN_ROLE_GRAD_SUM:
    return t.dtype == KILN_F32 ? Error{} : bad(what + ": must be f32");
  case KILN_ROLE_LOSS:
  case KILN_ROLE_LR:
  case KILN_ROLE_MOMENTUM:
  case KILN_ROLE_GRAD_NORM:
    return t.dtype == KILN_F32 && scalar ? Error{}
                                         : bad(what + ": must be an f32 scalar");
  case KILN_ROLE_STEP:
    return t.dtype == KILN_I64 && scalar ? Error{}
                                         : bad(what + ": must be an i64 scalar");
  case KILN_ROLE_CHECK:
    return t.dtype == KILN_F32 && t.shape == std::vector<int64_t>{2}
               ? Error{}
               : bad(what + ": must be f32 [2] (index, value)");
  case KILN_ROLE_SPARSE_ROWS:
  case KILN_ROLE_ROWS_SUM:
    return t.dtype == KILN_F32 && t.shape.size() == 2 && t.shape[1] == 1
               ? Error{}
               : bad(what + ": must be f32 [rows, 1]");
  default:
    return {};
  }
}

Error read_tensor(const kiln_tensor_info &info, int index, TensorSpec *t) {
  std::string what = "tensor " + std::to_string(index);
  if (Error e = check_name(info.name, what))
    return e;
  t->name = info.name;
  what += " (" + quoted(t->name) + ")";
  if (info.dtype != KILN_F32 && info.dtype != KILN_I64)
    return bad(what + ": unknown dtype " + std::to_string(info.dtype));
  t->dtype = static_cast<kiln_dtype>(info.dtype);
  if (info.role < KILN_ROLE_PARAMETER || info.role > KILN_ROLE_ROWS_SUM)
    return bad(what + ": unknown role " + std::to_string(info.role));
  t->role = static_cast<kiln_tensor_role>(info.role);
  if (info.rank < 0 || info.rank > kMaxRank)
    return bad(what + ": rank " + std::to_string(info.rank) + " out of range [0, " +
               std::to_string(kMaxRank) + "]");
  if (info.rank > 0 && !info.shape)
    return bad(what + ": shape is NULL");
  t->shape.assign(info.shape, info.shape + info.rank);
  for (int64_t d : t->shape)
    if (d < 0)
      return bad(what + ": negative dimension " + std::to_string(d));
  if (!checked_numel(t->shape, dtype_size(t->dtype), &t->numel))
    return bad(what + ": shape " + shape_string(t->shape) + " is too large");
  if (Error e = check_init(info.init, t->dtype, what, &t->init))
    return e;
  if (Error e = check_role_type(*t, what))
    return e;
  return check_range(info.range, *t, what, &t->range);
}

/* Files the parameters and the optimizer state share with these names
 * (scheduler.state: kiln_model_attach_scheduler). */
bool reserved(const std::string &name) {
  return name == "rng.seed" || name == "rng.offset" || name == "scheduler.state";
}

/* A norm_of initializer reads a parameter with a plain initializer (not
 * derived itself), and its size is that parameter's size at the kept
 * dimension (1 over all). */
Error check_norm_of(const ModelSpec &spec) {
  for (const TensorSpec &t : spec.tensors) {
    if (t.init.kind != Init::NormOf)
      continue;
    std::string what = "tensor " + quoted(t.name) + ": norm_of";
    size_t source = static_cast<size_t>(t.init.a);
    if (source >= spec.params.size())
      return bad(what + " reads parameter " + std::to_string(source) + ", but there are " +
                 std::to_string(spec.params.size()));
    const TensorSpec &s = spec.tensors[spec.params[source]];
    if (s.init.kind == Init::NormOf || s.init.kind == Init::UnitNormal || s.dtype != KILN_F32)
      return bad(what + " reads " + quoted(s.name) + ", whose initializer is not a plain one");
    int64_t dim = static_cast<int64_t>(t.init.b);
    if (dim >= static_cast<int64_t>(s.shape.size()))
      return bad(what + ": dimension " + std::to_string(dim) + " of " + quoted(s.name) +
                 " (rank " + std::to_string(s.shape.size()) + ")");
    if (t.numel != (dim < 0 ? 1 : s.shape[static_cast<size_t>(dim)]))
      return bad(what + ": has " + std::to_string(t.numel) + " elements, but " + quoted(s.name) +
                 " has " + (dim < 0 ? std::string("one norm") : std::to_string(s.shape[dim]) +
                 " at dimension " + std::to_string(dim)));
  }
  return {};
}

Error read_tensors(const kiln_model_metadata &m, ModelSpec *spec) {
  if (m.num_tensors < 0 || m.num_tensors > kMaxTensors)
    return bad("num_tensors " + std::to_string(m.num_tensors) + " out of range");
  if (m.num_tensors > 0 && !m.tensors)
    return bad("tensors is NULL");
  std::unordered_set<std::string> names;
  int *single[] = {&spec->target, &spec->loss, &spec->step, nullptr, &spec->grad_norm};
  for (int i = 0; i < m.num_tensors; ++i) {
    TensorSpec t;
    if (Error e = read_tensor(m.tensors[i], i, &t))
      return e;
    if (!names.insert(t.name).second)
      return bad("duplicate tensor name " + quoted(t.name));
    if (reserved(t.name))
      return bad("tensor name " + quoted(t.name) + " is reserved");
    std::vector<int> *lists[] = {&spec->params, &spec->buffers, &spec->states,
                                 &spec->inputs, nullptr,        &spec->outputs,
                                 nullptr,       nullptr,        &spec->lrs,
                                 nullptr,       &spec->grad_sums, &spec->momenta,
                                 &spec->checks, &spec->sparse_rows, &spec->rows_sums};
    if (!lists[t.role]) {
      int *slot = single[t.role == KILN_ROLE_TARGET ? 0 : t.role - KILN_ROLE_LOSS + 1];
      if (*slot >= 0)
        return bad(std::string("more than one ") + role_name(t.role) + " tensor");
      *slot = i;
    } else {
      t.role_index = static_cast<int>(lists[t.role]->size());
      lists[t.role]->push_back(i);
    }
    spec->tensors.push_back(std::move(t));
  }
  return check_norm_of(*spec);
}

/* Which (argument kind, tensor role) pairs each entry point may use. The
 * accumulation kernels get no caller tensors (apply takes no batch). */
bool allowed(int entry, int32_t kind, kiln_tensor_role role) {
  // An in-place update reads the current value and writes the next one
  // (so never a caller's tensor: no kernel writes their next value).
  if (kind == KILN_ARG_TENSOR_UPDATE)
    return allowed(entry, KILN_ARG_TENSOR, role) && allowed(entry, KILN_ARG_TENSOR_NEXT, role);
  if (entry == KILN_ENTRY_ACCUMULATE)
    return (kind == KILN_ARG_GRADIENT && role == KILN_ROLE_PARAMETER) ||
           (kind == KILN_ARG_TENSOR && role == KILN_ROLE_SPARSE_ROWS) ||
           ((kind == KILN_ARG_TENSOR || kind == KILN_ARG_TENSOR_NEXT) &&
            (role == KILN_ROLE_GRAD_SUM || role == KILN_ROLE_ROWS_SUM));
  // update_bn: a train-mode forward without outputs, writing buffers.
  if (entry == KILN_ENTRY_UPDATE_BN_FIRST || entry == KILN_ENTRY_UPDATE_BN)
    return (kind == KILN_ARG_TENSOR &&
            (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_BUFFER ||
             role == KILN_ROLE_INPUT || role == KILN_ROLE_CHECK)) ||
           (kind == KILN_ARG_TENSOR_NEXT && role == KILN_ROLE_BUFFER);
  if (entry == KILN_ENTRY_APPLY)
    return (kind == KILN_ARG_TENSOR &&
            (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_OPTIMIZER_STATE ||
             role == KILN_ROLE_STEP || role == KILN_ROLE_LR || role == KILN_ROLE_MOMENTUM ||
             role == KILN_ROLE_GRAD_SUM || role == KILN_ROLE_ROWS_SUM ||
             role == KILN_ROLE_GRAD_NORM)) ||
           (kind == KILN_ARG_TENSOR_NEXT &&
            (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_OPTIMIZER_STATE ||
             role == KILN_ROLE_STEP || role == KILN_ROLE_GRAD_SUM ||
             role == KILN_ROLE_ROWS_SUM));
  switch (kind) {
  case KILN_ARG_TENSOR:
    if (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_BUFFER ||
        role == KILN_ROLE_INPUT)
      return true;
    if (role == KILN_ROLE_CHECK)
      return entry == KILN_ENTRY_FORWARD || entry == KILN_ENTRY_GRADIENTS ||
             entry == KILN_ENTRY_TRAIN_STEP;
    if (entry == KILN_ENTRY_FORWARD)
      return role == KILN_ROLE_OUTPUT;
    if (role == KILN_ROLE_TARGET || role == KILN_ROLE_LOSS)
      return true;
    if (role == KILN_ROLE_SPARSE_ROWS)
      return entry == KILN_ENTRY_GRADIENTS;
    return entry == KILN_ENTRY_TRAIN_STEP &&
           (role == KILN_ROLE_OPTIMIZER_STATE || role == KILN_ROLE_STEP ||
            role == KILN_ROLE_LR || role == KILN_ROLE_MOMENTUM || role == KILN_ROLE_GRAD_NORM);
  case KILN_ARG_TENSOR_NEXT:
    if (role == KILN_ROLE_BUFFER)
      return true;
    return entry == KILN_ENTRY_TRAIN_STEP &&
           (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_OPTIMIZER_STATE ||
            role == KILN_ROLE_STEP);
  case KILN_ARG_GRADIENT:
    return (entry == KILN_ENTRY_GRADIENTS || entry == KILN_ENTRY_TRAIN_STEP) &&
           role == KILN_ROLE_PARAMETER;
  default:
    return false;
  }
}

Error read_arg(const ModelSpec &spec, int entry, const kiln_kernel_arg &arg,
               const std::string &what) {
  if (arg.kind < KILN_ARG_TENSOR || arg.kind > KILN_ARG_TENSOR_UPDATE)
    return bad(what + ": unknown argument kind " + std::to_string(arg.kind));
  if (arg.kind == KILN_ARG_RNG || arg.kind == KILN_ARG_WORKSPACE)
    return arg.tensor == -1 ? Error{} : bad(what + ": tensor must be -1");
  if (arg.tensor < 0 || arg.tensor >= static_cast<int32_t>(spec.tensors.size()))
    return bad(what + ": tensor index " + std::to_string(arg.tensor) + " out of range");
  const TensorSpec &t = spec.tensors[arg.tensor];
  if (!allowed(entry, arg.kind, t.role))
    return bad(what + ": argument kind " + std::to_string(arg.kind) +
               " of " + role_name(t.role) + " " + quoted(t.name) +
               " is not allowed here");
  return {};
}

/* The tensors an entry point must write, or callers would read stale data. */
Error check_required(const ModelSpec &spec, int entry, const KernelSpec &k,
                     const std::string &what) {
  // An in-place update counts as both the read and the write.
  auto has = [&](int32_t kind, int tensor) {
    for (const kiln_kernel_arg &a : k.args)
      if (a.tensor == tensor &&
          (a.kind == kind || (a.kind == KILN_ARG_TENSOR_UPDATE &&
                              (kind == KILN_ARG_TENSOR || kind == KILN_ARG_TENSOR_NEXT))))
        return true;
    return false;
  };
  if (entry == KILN_ENTRY_FORWARD) {
    for (int o : spec.outputs)
      if (!has(KILN_ARG_TENSOR, o))
        return bad(what + ": does not write output " + quoted(spec.tensors[o].name));
    return {};
  }
  if (entry == KILN_ENTRY_UPDATE_BN_FIRST || entry == KILN_ENTRY_UPDATE_BN) {
    for (const kiln_kernel_arg &a : k.args)
      if (a.kind == KILN_ARG_TENSOR_NEXT || a.kind == KILN_ARG_TENSOR_UPDATE)
        return {};
    return bad(what + ": update_bn writes no buffer");
  }
  if (entry == KILN_ENTRY_ACCUMULATE || entry == KILN_ENTRY_APPLY) {
    // Every grad sum is written (added to, or zeroed), and accumulate reads
    // every gradient, apply every grad sum.
    for (size_t i = 0; i < spec.grad_sums.size(); ++i) {
      const int g = spec.grad_sums[i];
      if (!has(KILN_ARG_TENSOR_NEXT, g) || !has(KILN_ARG_TENSOR, g))
        return bad(what + ": does not read and write grad sum " + quoted(spec.tensors[g].name));
      if (entry == KILN_ENTRY_ACCUMULATE && !has(KILN_ARG_GRADIENT, spec.params[i]))
        return bad(what + ": does not read the gradient of " +
                   quoted(spec.tensors[spec.params[i]].name));
    }
    // Likewise every rows sum, and accumulate reads every batch's rows.
    for (size_t i = 0; i < spec.rows_sums.size(); ++i) {
      const int s = spec.rows_sums[i];
      if (!has(KILN_ARG_TENSOR_NEXT, s) || !has(KILN_ARG_TENSOR, s))
        return bad(what + ": does not read and write rows sum " + quoted(spec.tensors[s].name));
      if (entry == KILN_ENTRY_ACCUMULATE && i < spec.sparse_rows.size() &&
          !has(KILN_ARG_TENSOR, spec.sparse_rows[i]))
        return bad(what + ": does not read sparse rows " +
                   quoted(spec.tensors[spec.sparse_rows[i]].name));
    }
    if (entry == KILN_ENTRY_APPLY && (spec.step < 0 || !has(KILN_ARG_TENSOR_NEXT, spec.step)))
      return bad(what + ": does not advance the step");
    return {};
  }
  if (spec.loss < 0 || !has(KILN_ARG_TENSOR, spec.loss))
    return bad(what + ": does not write the loss");
  if (entry == KILN_ENTRY_GRADIENTS)
    for (int r : spec.sparse_rows)
      if (!has(KILN_ARG_TENSOR, r))
        return bad(what + ": does not write sparse rows " + quoted(spec.tensors[r].name));
  if (entry == KILN_ENTRY_GRADIENTS)
    for (int p : spec.params)
      if (!has(KILN_ARG_GRADIENT, p))
        return bad(what + ": does not write the gradient of " +
                   quoted(spec.tensors[p].name));
  return {};
}

/* In-place updates (KILN_ARG_TENSOR_UPDATE): the tensor must reach the
 * kernel through that one argument (anything else would alias it; its
 * gradient, KILN_ARG_GRADIENT, is other memory). That a kernel with value
 * checks keeps the old values when a check fails (runtime.h) is its own
 * contract, which no table can show. */
Error check_in_place(const ModelSpec &spec, const KernelSpec &k, const std::string &what) {
  for (const kiln_kernel_arg &u : k.args) {
    if (u.kind != KILN_ARG_TENSOR_UPDATE)
      continue;
    for (const kiln_kernel_arg &a : k.args)
      if (&a != &u && a.tensor == u.tensor && a.kind != KILN_ARG_GRADIENT)
        return bad(what + ": updates " + quoted(spec.tensors[u.tensor].name) +
                   " in place and passes it again");
  }
  return {};
}

Error read_kernel(const ModelSpec &spec, const kiln_kernel_info &info,
                  const std::string &what, KernelSpec *k) {
  if (!info.fn)
    return bad(what + ": fn is NULL");
  if (info.num_args < 0 || info.num_args > kMaxArgs)
    return bad(what + ": num_args " + std::to_string(info.num_args) + " out of range");
  if (info.num_args > 0 && !info.args)
    return bad(what + ": args is NULL");
  k->fn = info.fn;
  if (info.rng_counters < 0 || info.rng_counters > (int64_t{1} << 62))
    return bad(what + ": rng_counters " + std::to_string(info.rng_counters) +
               " out of range (0 to 2^62)");
  k->rng_counters = static_cast<uint64_t>(info.rng_counters);
  // A repeated argument would alias an output with another argument.
  std::set<std::pair<int32_t, int32_t>> seen;
  for (int a = 0; a < info.num_args; ++a) {
    const kiln_kernel_arg &arg = info.args[a];
    const std::string at = what + " argument " + std::to_string(a);
    if (Error e = read_arg(spec, info.entry, arg, at))
      return e;
    if (!seen.insert({arg.kind, arg.tensor}).second)
      return bad(at + ": repeats an earlier argument");
    k->args.push_back(arg);
  }
  if (k->rng_counters > 0 && !seen.count({KILN_ARG_RNG, -1}))
    return bad(what + ": rng_counters without an rng argument");
  if (Error e = check_in_place(spec, *k, what))
    return e;
  return check_required(spec, info.entry, *k, what);
}

Error read_kernels(const kiln_model_metadata &m, ModelSpec *spec) {
  if (m.num_kernels < 0 || m.num_kernels > kMaxKernels)
    return bad("num_kernels " + std::to_string(m.num_kernels) + " out of range");
  if (m.num_kernels > 0 && !m.kernels)
    return bad("kernels is NULL");
  int exact[kNumEntries][3]; // [entry][kiln_mode]
  for (auto &row : exact)
    row[0] = row[1] = row[2] = -1;
  for (int i = 0; i < m.num_kernels; ++i) {
    const kiln_kernel_info &info = m.kernels[i];
    const std::string what = "kernel " + std::to_string(i);
    if (info.entry < 0 || info.entry >= kNumEntries)
      return bad(what + ": unknown entry point " + std::to_string(info.entry));
    if (info.mode < KILN_MODE_ANY || info.mode > KILN_MODE_EVAL)
      return bad(what + ": unknown mode " + std::to_string(info.mode));
    if (exact[info.entry][info.mode] >= 0)
      return bad(what + ": second kernel for the same entry point and mode");
    KernelSpec k;
    if (Error e = read_kernel(*spec, info, what, &k))
      return e;
    exact[info.entry][info.mode] = i;
    spec->kernels.push_back(std::move(k));
  }
  for (int e = 0; e < kNumEntries; ++e) {
    const int any = exact[e][KILN_MODE_ANY];
    spec->kernel[e][kTrain] = exact[e][KILN_MODE_TRAIN] >= 0 ? exact[e][KILN_MODE_TRAIN] : any;
    spec->kernel[e][kEval] = exact[e][KILN_MODE_EVAL] >= 0 ? exact[e][KILN_MODE_EVAL] : any;
  }
  return {};
}

/* Gradient accumulation is all or nothing: accumulate and apply kernels for
 * every mode that has a gradients kernel, and one grad sum per parameter,
 * in parameter order with its shape. */
Error check_accumulation(const ModelSpec &spec) {
  const auto &k = spec.kernel;
  const bool any = !spec.grad_sums.empty() || k[KILN_ENTRY_ACCUMULATE][kTrain] >= 0 ||
                   k[KILN_ENTRY_ACCUMULATE][kEval] >= 0 || k[KILN_ENTRY_APPLY][kTrain] >= 0 ||
                   k[KILN_ENTRY_APPLY][kEval] >= 0;
  if (!any)
    return {};
  for (int mode : {kTrain, kEval})
    if (k[KILN_ENTRY_GRADIENTS][mode] >= 0 &&
        (k[KILN_ENTRY_ACCUMULATE][mode] < 0 || k[KILN_ENTRY_APPLY][mode] < 0))
      return bad(std::string("gradient accumulation needs accumulate and apply kernels for ") +
                 (mode == kTrain ? "train" : "eval") + " mode");
  if (spec.grad_sums.size() != spec.params.size())
    return bad("gradient accumulation needs one grad sum per parameter (" +
               std::to_string(spec.grad_sums.size()) + " for " +
               std::to_string(spec.params.size()) + " parameters)");
  for (size_t i = 0; i < spec.params.size(); ++i) {
    const TensorSpec &p = spec.tensors[spec.params[i]], &g = spec.tensors[spec.grad_sums[i]];
    if (g.shape != p.shape)
      return bad("grad sum " + quoted(g.name) + " has shape " + shape_string(g.shape) +
                 ", parameter " + quoted(p.name) + " " + shape_string(p.shape));
  }
  if (spec.rows_sums.size() != spec.sparse_rows.size())
    return bad("gradient accumulation needs one rows sum per sparse rows tensor (" +
               std::to_string(spec.rows_sums.size()) + " for " +
               std::to_string(spec.sparse_rows.size()) + ")");
  for (size_t i = 0; i < spec.rows_sums.size(); ++i) {
    const TensorSpec &r = spec.tensors[spec.sparse_rows[i]], &s = spec.tensors[spec.rows_sums[i]];
    if (s.shape != r.shape)
      return bad("rows sum " + quoted(s.name) + " has shape " + shape_string(s.shape) +
                 ", sparse rows " + quoted(r.name) + " " + shape_string(r.shape));
  }
  return {};
}

/* A model is trainable when it has training kernels; then it needs the
 * training tensors, and otherwise it must have none. */
Error check_model(ModelSpec *spec) {
  const auto &k = spec->kernel;
  if (k[KILN_ENTRY_FORWARD][kTrain] < 0 || k[KILN_ENTRY_FORWARD][kEval] < 0)
    return bad("no forward kernel for both train and eval mode");
  spec->trainable = k[KILN_ENTRY_GRADIENTS][kTrain] >= 0 ||
                    k[KILN_ENTRY_TRAIN_STEP][kTrain] >= 0 ||
                    k[KILN_ENTRY_GRADIENTS][kEval] >= 0 ||
                    k[KILN_ENTRY_TRAIN_STEP][kEval] >= 0;
  if (!spec->trainable) {
    if (spec->target >= 0 || spec->loss >= 0 || spec->step >= 0 ||
        !spec->lrs.empty() || !spec->momenta.empty() || !spec->states.empty() || !spec->grad_sums.empty() ||
        !spec->sparse_rows.empty() || !spec->rows_sums.empty() ||
        k[KILN_ENTRY_ACCUMULATE][kTrain] >= 0 || k[KILN_ENTRY_ACCUMULATE][kEval] >= 0 ||
        k[KILN_ENTRY_APPLY][kTrain] >= 0 || k[KILN_ENTRY_APPLY][kEval] >= 0 ||
        k[KILN_ENTRY_UPDATE_BN_FIRST][kTrain] >= 0 || k[KILN_ENTRY_UPDATE_BN][kTrain] >= 0)
      return bad("target, loss, step, lr, optimizer state, grad sums, the accumulation "
                 "and the update_bn kernels need training kernels");
    return {};
  }
  if (Error e = check_accumulation(*spec))
    return e;
  // update_bn: both kernels for train mode (the runtime runs them whatever
  // the instance's mode), or neither.
  if ((k[KILN_ENTRY_UPDATE_BN_FIRST][kTrain] >= 0) != (k[KILN_ENTRY_UPDATE_BN][kTrain] >= 0))
    return bad("update_bn needs both its kernels (first batch and later batches) for "
               "train mode");
  if (k[KILN_ENTRY_GRADIENTS][kTrain] < 0)
    return bad("a trainable model needs a gradients kernel for train mode");
  if (spec->optimizer == KILN_OPTIMIZER_COMPILED && k[KILN_ENTRY_TRAIN_STEP][kTrain] < 0)
    return bad("a trainable model needs a train_step kernel for train mode (or an "
               "optimizer driver)");
  // The target is optional: a loss may take model outputs only (triplet
  // losses, a loss computed in the graph).
  if (spec->loss < 0 || spec->step < 0 || spec->lrs.empty())
    return bad("a trainable model needs loss, step and lr tensors");
  if (!std::isfinite(spec->initial_lrs[0]) ||
      !std::isfinite(static_cast<float>(spec->initial_lrs[0])))
    return bad("lr is not a finite f32 value");
  // The later groups' initial lrs are their lr tensors' constant inits.
  for (size_t g = 1; g < spec->lrs.size(); ++g) {
    const TensorSpec &t = spec->tensors[spec->lrs[g]];
    if (t.init.kind != Init::Constant)
      return bad("lr tensor " + quoted(t.name) + " (parameter group " + std::to_string(g) +
                 ") needs a constant initializer: its initial lr");
    spec->initial_lrs.push_back(t.init.a);
  }
  if (!spec->momenta.empty() && spec->momenta.size() != spec->lrs.size())
    return bad("a cycled momentum needs one momentum tensor per parameter group (" +
               std::to_string(spec->momenta.size()) + " for " + std::to_string(spec->lrs.size()) +
               " groups)");
  for (int m : spec->momenta)
    if (spec->tensors[m].init.kind != Init::Constant)
      return bad("momentum tensor " + quoted(spec->tensors[m].name) +
                 " needs a constant initializer: its initial value");
  return {};
}

/* An optimizer argument that must be an integer in [lo, 2^31). */
Error integral_arg(double v, const char *name, int64_t lo, int64_t *out) {
  if (!(v >= static_cast<double>(lo) && v < 2147483648.0 && v == std::floor(v)))
    return bad(std::string("LBFGS ") + name + " " + std::to_string(v) +
               " is not an integer in [" + std::to_string(lo) + ", 2^31)");
  *out = static_cast<int64_t>(v);
  return {};
}

/* KILN_OPTIMIZER_LBFGS (runtime.h): its arguments, no compiled update
 * (train_step, accumulate, apply), one parameter group, no cycled momentum
 * or gradient clipping, and exactly torch's state tensors under the first
 * parameter's name with the shapes the runtime's algorithm indexes. */
Error check_lbfgs(const kiln_model_metadata &m, ModelSpec *spec) {
  LbfgsSpec &l = spec->lbfgs;
  const double *a = m.optimizer_args;
  if (Error e = integral_arg(a[0], "max_iter", 0, &l.max_iter))
    return e;
  if (Error e = integral_arg(a[1], "max_eval", 0, &l.max_eval))
    return e;
  if (std::isnan(a[2]) || std::isnan(a[3]))
    return bad("LBFGS tolerance_grad and tolerance_change must not be NaN");
  l.tolerance_grad = a[2];
  l.tolerance_change = a[3];
  if (Error e = integral_arg(a[4], "history_size", 1, &l.history_size))
    return e;
  if (a[5] != 0 && a[5] != 1)
    return bad("LBFGS line search " + std::to_string(a[5]) + " is not 0 (none) or 1 (strong_wolfe)");
  l.strong_wolfe = a[5] == 1;
  const auto &k = spec->kernel;
  for (int e : {KILN_ENTRY_TRAIN_STEP, KILN_ENTRY_ACCUMULATE, KILN_ENTRY_APPLY})
    if (k[e][kTrain] >= 0 || k[e][kEval] >= 0)
      return bad("an LBFGS model has no train_step, accumulate or apply kernels: "
                 "the runtime takes its steps");
  if (spec->lrs.size() != 1 || !spec->momenta.empty() || spec->grad_norm >= 0)
    return bad("an LBFGS model has one parameter group, no cycled momentum and no "
               "gradient-norm check");
  if (spec->params.empty())
    return bad("an LBFGS model needs parameters");
  l.numel = 0;
  for (int p : spec->params)
    l.numel += spec->tensors[p].numel;
  const std::string p0 = spec->tensors[spec->params[0]].name;
  const int64_t n = l.numel, h = l.history_size;
  const std::vector<int64_t> N = {n}, SCALAR = {}, H = {h}, HN = {h, n};
  const struct {
    const char *key;
    std::vector<int64_t> shape;
#define KILN_LBFGS_STATE(key, shape) {#key, shape},
  } expected[LbfgsSpec::kNumStates] = {KILN_LBFGS_STATES(KILN_LBFGS_STATE)};
#undef KILN_LBFGS_STATE
  if (spec->states.size() != LbfgsSpec::kNumStates)
    return bad("an LBFGS model needs " + std::to_string(LbfgsSpec::kNumStates) +
               " optimizer-state tensors, not " + std::to_string(spec->states.size()));
  for (int i = 0; i < LbfgsSpec::kNumStates; ++i) {
    const TensorSpec &t = spec->tensors[spec->states[i]];
    const std::string name = p0 + "." + expected[i].key;
    if (t.name != name || t.shape != expected[i].shape || t.init.kind != Init::Zeros)
      return bad("LBFGS optimizer state " + std::to_string(i) + " must be " + quoted(name) +
                 " of shape " + shape_string(expected[i].shape) + ", zeros; it is " +
                 quoted(t.name) + " of shape " + shape_string(t.shape));
    l.state[i] = spec->states[i];
  }
  return {};
}

} // namespace

/* The PTX module and kernel names of a CUDA model; none for the CPU. */
Error read_device_code(const kiln_model_metadata &m, ModelSpec *out) {
  if (m.device != KILN_DEVICE_CUDA) {
    if (m.device_code || m.device_code_bytes != 0 || m.num_device_kernels != 0 ||
        m.device_kernels)
      return bad("device_code and device_kernels are only for KILN_DEVICE_CUDA models");
    return {};
  }
  if (!m.device_code)
    return bad("a KILN_DEVICE_CUDA model needs device_code");
  if (m.device_code_bytes < 0 || m.device_code_bytes > (int64_t(1) << 31) ||
      m.device_code[m.device_code_bytes] != '\0')
    return bad("device_code_bytes " + std::to_string(m.device_code_bytes) +
               " out of range [0, 2^31], or device_code not NUL-terminated there");
  if (m.num_device_kernels < 0 || m.num_device_kernels > kMaxDeviceKernels ||
      (m.num_device_kernels > 0 && !m.device_kernels))
    return bad("num_device_kernels " + std::to_string(m.num_device_kernels) +
               " out of range, or device_kernels is NULL");
  out->device_code = m.device_code;
  for (int32_t i = 0; i < m.num_device_kernels; ++i) {
    const char *name = m.device_kernels[i];
    if (Error e = check_name(name, "device kernel"))
      return e;
    out->device_kernels.push_back(name);
  }
  return {};
}

Error read_metadata(const kiln_model_metadata *m, ModelSpec *out) {
  *out = ModelSpec();
  if (!m)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "metadata is NULL");
  if (m->abi_version != KILN_METADATA_VERSION)
    return fail(KILN_ERROR_UNSUPPORTED,
                "metadata: abi_version " + std::to_string(m->abi_version) +
                    " is not supported (this runtime reads version " +
                    std::to_string(KILN_METADATA_VERSION) + ")");
  if (m->struct_size != sizeof(kiln_model_metadata))
    return bad("struct_size " + std::to_string(m->struct_size) + ", expected " +
               std::to_string(sizeof(kiln_model_metadata)));
  if (Error e = check_name(m->name, "model"))
    return e;
  out->name = m->name;
  if (Error e = read_device_code(*m, out))
    return e;
  out->device = find_device(m->device);
  if (!out->device)
    return fail(KILN_ERROR_UNSUPPORTED, "metadata: device kind " +
                                            std::to_string(m->device) +
                                            " is not supported (devices: " +
                                            device_names() + ")");
  if (m->workspace_bytes < 0 || m->workspace_bytes > kMaxWorkspace)
    return bad("workspace_bytes " + std::to_string(m->workspace_bytes) +
               " out of range [0, 2^48]");
  out->workspace_bytes = m->workspace_bytes;
  out->initial_lrs = {m->lr};
  if (Error e = read_tensors(*m, out))
    return e;
  if (Error e = read_kernels(*m, out))
    return e;
  if (m->optimizer != KILN_OPTIMIZER_COMPILED && m->optimizer != KILN_OPTIMIZER_LBFGS)
    return bad("optimizer " + std::to_string(m->optimizer) + " is not a kiln_optimizer_driver");
  out->optimizer = m->optimizer;
  if (m->flags & ~KILN_MODEL_DATA_PARALLEL)
    return bad("flags " + std::to_string(m->flags) + " has bits this runtime does not know");
  out->data_parallel = (m->flags & KILN_MODEL_DATA_PARALLEL) != 0;
  if (Error e = check_model(out))
    return e;
  if (out->data_parallel && !out->trainable)
    return bad("flags: KILN_MODEL_DATA_PARALLEL on a model that does not train");
  if (out->optimizer == KILN_OPTIMIZER_LBFGS) {
    if (!out->trainable)
      return bad("an LBFGS model needs a gradients kernel");
    return check_lbfgs(*m, out);
  }
  for (double v : m->optimizer_args)
    if (v != 0)
      return bad("optimizer_args must be zeros without an optimizer driver");
  return {};
}

} // namespace kiln::rt
