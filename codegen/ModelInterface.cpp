#include "codegen/ModelInterface.h"

#include "ir/ArgSignature.h"
#include "ir/FormatNumber.h"
#include "ir/LbfgsOptions.h"

#include "kiln/arena.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

using namespace mlir;
using namespace kiln;

static const char *roleName(kiln_tensor_role role);

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<std::pair<std::string, uint64_t>> kiln::ModelInterface::arenaParts() const {
  // Same order as the runtime's layout (kiln/arena.h): tensors in metadata
  // order, grouped here by role for the report.
  std::vector<std::pair<std::string, uint64_t>> parts;
  auto add = [&](const std::string &what, uint64_t bytes) {
    for (auto &part : parts)
      if (part.first == what) {
        part.second += bytes;
        return;
      }
    parts.emplace_back(what, bytes);
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &t = tensors[i];
    if (kiln_arena_caller_owned(t.role))
      continue;
    uint64_t slot = kiln_arena_slot_bytes(t.numel(), t.dtype == "i64" ? 8 : 4);
    int copies = doubleBuffered(static_cast<int>(i)) ? 2 : 1;
    add(roleName(t.role), slot * copies);
  }
  if (trainable)
    for (const TensorSpec *p : ofRole(KILN_ROLE_PARAMETER))
      add("gradients", kiln_arena_slot_bytes(p->numel(), 4));
  add("workspace", kiln_arena_slot_bytes(workspaceBytes, 1));
  return parts;
}

bool kiln::ModelInterface::doubleBuffered(int t) const {
  for (const KernelSpec &k : kernels) {
    std::vector<kiln_kernel_arg> args;
    for (const KernelArg &a : k.args)
      args.push_back({a.kind, a.tensor});
    if (kiln_arena_writes_next(args.data(), static_cast<int32_t>(args.size()), t))
      return true;
  }
  return false;
}

uint64_t kiln::ModelInterface::arenaBytes() const {
  uint64_t total = 0;
  for (const auto &part : arenaParts())
    total += part.second;
  return total;
}

std::string kiln::kernelSymbol(llvm::StringRef prefix, llvm::StringRef kernel) {
  return (prefix + "__" + kernel).str();
}

std::vector<const TensorSpec *>
ModelInterface::ofRole(kiln_tensor_role role) const {
  std::vector<const TensorSpec *> out;
  for (const TensorSpec &t : tensors)
    if (t.role == role)
      out.push_back(&t);
  return out;
}

InitSpec kiln::initSpecOf(nn::InitAttr attr) {
  InitSpec init;
  if (!attr)
    return init;
  switch (attr.getKind()) {
  case nn::InitKind::zeros:
    init.kind = KILN_INIT_ZEROS;
    break;
  case nn::InitKind::ones:
    init.kind = KILN_INIT_ONES;
    break;
  case nn::InitKind::uniform:
    init.kind = KILN_INIT_UNIFORM;
    break;
  case nn::InitKind::normal:
    init.kind = KILN_INIT_NORMAL;
    break;
  case nn::InitKind::constant:
    init.kind = KILN_INIT_CONSTANT;
    break;
  case nn::InitKind::norm_of:
    init.kind = KILN_INIT_NORM_OF;
    break;
  case nn::InitKind::unit_normal:
    init.kind = KILN_INIT_UNIT_NORMAL;
    break;
  case nn::InitKind::empty:
    init.kind = KILN_INIT_EMPTY;
    break;
  }
  init.args[0] = attr.getA().convertToDouble();
  init.args[1] = attr.getB().convertToDouble();
  return init;
}

/// The metadata role of an argument role (rng is no tensor of the table).
static kiln_tensor_role tableRole(nn::TensorRole role) {
  switch (role) {
  case nn::TensorRole::param:
    return KILN_ROLE_PARAMETER;
  case nn::TensorRole::buffer:
    return KILN_ROLE_BUFFER;
  case nn::TensorRole::state:
    return KILN_ROLE_OPTIMIZER_STATE;
  case nn::TensorRole::input:
    return KILN_ROLE_INPUT;
  case nn::TensorRole::target:
    return KILN_ROLE_TARGET;
  case nn::TensorRole::step:
    return KILN_ROLE_STEP;
  case nn::TensorRole::lr:
    return KILN_ROLE_LR;
  case nn::TensorRole::grad_sum:
    return KILN_ROLE_GRAD_SUM;
  case nn::TensorRole::momentum:
    return KILN_ROLE_MOMENTUM;
  case nn::TensorRole::sparse_rows:
    return KILN_ROLE_SPARSE_ROWS;
  case nn::TensorRole::rows_sum:
    return KILN_ROLE_ROWS_SUM;
  case nn::TensorRole::rng:
  case nn::TensorRole::grad:
    break;
  }
  llvm_unreachable("the rng and gradient arguments have no table role of their own");
}

/// What the ops that index with `v` accept (intersected), or nothing when
/// none does. An nn op with an i64 result made from `v` (nn.reshape,
/// nn.broadcast_to: the nn dialect has no i64 arithmetic) only moves its
/// elements, so the ops indexing with that result bound `v` too (Embedding's
/// index, flattened and broadcast for nn.gather).
static std::optional<nn::IndexBounds> indexBoundsOf(Value v) {
  std::optional<nn::IndexBounds> bounds;
  auto merge = [&](std::optional<nn::IndexBounds> b) {
    if (b)
      bounds = bounds ? bounds->intersect(*b) : *b;
  };
  for (OpOperand &use : v.getUses()) {
    Operation *owner = use.getOwner();
    if (auto op = dyn_cast<nn::IndexOperandOpInterface>(owner))
      merge(op.getIndexBounds(use.getOperandNumber()));
    else if (isa<nn::NNDialect>(owner->getDialect()) && owner->getNumResults() == 1 &&
             getElementTypeOrSelf(owner->getResult(0).getType()).isInteger(64))
      merge(indexBoundsOf(owner->getResult(0)));
  }
  return bounds;
}

/// What the ops of `f` that index with argument `i` accept.
static std::optional<nn::IndexBounds> indexBoundsOf(func::FuncOp f, unsigned i) {
  return indexBoundsOf(f.getArgument(i));
}

namespace {

/// Builds the tensor table and the kernels' argument lists from the entry
/// functions' `nn.name` / `nn.role` / `nn.init` argument attributes.
class InterfaceReader {
public:
  explicit InterfaceReader(ModelInterface &m) : m(m) {}

  /// The tensor index of argument `i` of `f`, adding it on first sight;
  /// kRngArgument for the random state, which is no tensor of the table.
  static constexpr int kRngArgument = -1;
  FailureOr<int> argument(func::FuncOp f, unsigned i) {
    auto type = dyn_cast<RankedTensorType>(f.getArgumentTypes()[i]);
    auto name = f.getArgAttrOfType<StringAttr>(i, "nn.name");
    std::optional<nn::TensorRole> role = roleOf(f, i);
    if (role == nn::TensorRole::rng) {
      if (!type || type != RankedTensorType::get({2}, IntegerType::get(f.getContext(), 64)))
        return f.emitError("argument ") << i << " of '" << f.getSymName()
                                        << "': the rng state must be a tensor<2xi64>",
               failure();
      return kRngArgument;
    }
    if (!type || !type.hasStaticShape() || !name || !role)
      return f.emitError("argument ") << i << " of '" << f.getSymName()
                                      << "' needs a static tensor type, nn.name and nn.role",
             failure();
    auto known = index.find(name.getValue().str());
    if (*role == nn::TensorRole::grad) {
      // The gradient of the parameter of that name (KILN_ARG_GRADIENT).
      if (known == index.end() || m.tensors[known->second].role != KILN_ROLE_PARAMETER ||
          m.tensors[known->second].shape != ArrayRef<int64_t>(type.getShape()).vec())
        return f.emitError("argument ") << i << " of '" << f.getSymName() << "' is the gradient of '"
                                        << name.getValue() << "', which is no parameter of its shape",
               failure();
      return known->second;
    }
    // One name, one tensor: a name that two roles claim (a parameter
    // `w.grad` next to the grad sum of `w`) must not merge them.
    if (known != index.end() && m.tensors[known->second].role != tableRole(*role))
      return f.emitError("argument ") << i << " of '" << f.getSymName() << "': the name '"
                                      << name.getValue() << "' is taken by a tensor of another role",
             failure();
    int t = known != index.end()
                ? known->second
                : add(name.getValue().str(), type, tableRole(*role), initSpecOf(initOf(f, i)));
    // Every function that indexes with the tensor narrows what it accepts.
    if (std::optional<nn::IndexBounds> bounds = indexBoundsOf(f, i)) {
      std::optional<nn::IndexBounds> &merged = m.tensors[t].indexBounds;
      merged = merged ? merged->intersect(*bounds) : *bounds;
    }
    return t;
  }

  /// A tensor that is no function argument (outputs, the loss).
  FailureOr<int> result(func::FuncOp f, const std::string &name, Type t,
                        kiln_tensor_role role) {
    if (index.count(name))
      return f.emitError("the name '") << name << "' of a " << (role == KILN_ROLE_LOSS ? "loss" : role == KILN_ROLE_OUTPUT ? "output" : "kernel result")
                                       << " tensor is taken by an argument",
             failure();
    return add(name, cast<RankedTensorType>(t), role, InitSpec());
  }

  /// The kernel's arguments in order: its function arguments, then `results`
  /// (its out-parameters after bufferization), then the workspace. Its mode
  /// is the function's `nn.mode` (none: any); a function with an rng
  /// argument says in `nn.rng_counters` how far one call advances the
  /// stream.
  LogicalResult kernel(func::FuncOp f, kiln_entry_point entry, StringRef kernelName,
                       ArrayRef<KernelArg> results) {
    KernelSpec k{entry, KILN_MODE_ANY, kernelSymbol(m.name, kernelName), {}, 0, 0, {}, {}};
    if (auto mode = f->getAttrOfType<StringAttr>("nn.mode")) {
      if (mode.getValue() != "train" && mode.getValue() != "eval")
        return f.emitError("unknown nn.mode '") << mode.getValue()
                                                << "' (train or eval)";
      k.mode = mode.getValue() == "train" ? KILN_MODE_TRAIN : KILN_MODE_EVAL;
    }
    bool usesRng = false;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto t = argument(f, i);
      if (failed(t))
        return failure();
      usesRng |= *t == kRngArgument;
      k.args.push_back(*t == kRngArgument                  ? KernelArg{KILN_ARG_RNG, -1}
                       : roleOf(f, i) == nn::TensorRole::grad ? KernelArg{KILN_ARG_GRADIENT, *t}
                                                              : KernelArg{KILN_ARG_TENSOR, *t});
    }
    auto counters = f->getAttrOfType<IntegerAttr>("nn.rng_counters");
    if (usesRng != static_cast<bool>(counters) || (counters && counters.getInt() < 0))
      return f.emitError("'") << f.getSymName()
                              << "' needs a non-negative nn.rng_counters exactly "
                                 "when it takes an rng argument",
             failure();
    k.rngCounters = counters ? counters.getInt() : 0;
    k.numArguments = f.getNumArguments();
    k.args.insert(k.args.end(), results.begin(), results.end());
    k.args.push_back({KILN_ARG_WORKSPACE, -1});
    m.kernels.push_back(std::move(k));
    return success();
  }

  /// The results of `f` marked `nn.next = <buffer>`: next buffer values
  /// (a train-mode forward's running statistics), as TENSOR_NEXT arguments.
  FailureOr<SmallVector<KernelArg>> nextBuffers(func::FuncOp f) {
    SmallVector<KernelArg> out;
    for (unsigned i = 0; i < f.getNumResults(); ++i) {
      auto name = f.getResultAttrOfType<StringAttr>(i, "nn.next");
      if (!name)
        continue;
      auto it = index.find(name.getValue().str());
      if (it == index.end() || m.tensors[it->second].role != KILN_ROLE_BUFFER)
        return f.emitError("result ") << i << " of '" << f.getSymName()
                                       << "' is the next value of '" << name.getValue()
                                       << "', which is no buffer argument",
               failure();
      out.push_back({KILN_ARG_TENSOR_NEXT, it->second});
    }
    return out;
  }

  /// The results of `f` marked `nn.check = <name>` (value checks,
  /// frontend/import/ValueCheck.cpp), as TENSOR arguments of the tensor
  /// `check.<name>` (KILN_ROLE_CHECK), which every kernel running the same
  /// check site shares (forward, gradients, train_step); the runtime reads
  /// it after the kernel.
  FailureOr<SmallVector<KernelArg>> checks(func::FuncOp f) {
    SmallVector<KernelArg> out;
    for (unsigned i = 0; i < f.getNumResults(); ++i) {
      auto name = f.getResultAttrOfType<StringAttr>(i, "nn.check");
      if (!name)
        continue;
      std::string tensor = "check." + name.getValue().str();
      auto type = cast<RankedTensorType>(f.getResultTypes()[i]);
      if (type != RankedTensorType::get({2}, Float32Type::get(f.getContext())))
        return f.emitError("result ") << i << " of '" << f.getSymName()
                                       << "' is a value check, which must be tensor<2xf32>",
               failure();
      auto it = index.find(tensor);
      if (it != index.end() && m.tensors[it->second].role != KILN_ROLE_CHECK)
        return f.emitError("the name '") << tensor << "' of a value check is taken",
               failure();
      int t = it != index.end() ? it->second : add(tensor, type, KILN_ROLE_CHECK, InitSpec());
      out.push_back({KILN_ARG_TENSOR, t});
    }
    return out;
  }

  /// The tensor named `name`, if any.
  std::optional<int> find(StringRef name) const {
    auto it = index.find(name.str());
    return it == index.end() ? std::nullopt : std::optional<int>(it->second);
  }

  /// Arguments of `f` with `role`, as `kind` arguments (gradients, next values).
  SmallVector<KernelArg> each(func::FuncOp f, nn::TensorRole role, kiln_arg_kind kind) {
    SmallVector<KernelArg> out;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto name = f.getArgAttrOfType<StringAttr>(i, "nn.name");
      if (name && roleOf(f, i) == role)
        out.push_back({kind, index.at(name.getValue().str())});
    }
    return out;
  }

  /// A tensor no kernel takes (an optimizer driver's state, its step and
  /// lr): the runtime allocates it and reads or writes it itself.
  FailureOr<int> runtimeTensor(Operation *where, const std::string &name, RankedTensorType type,
                               kiln_tensor_role role, InitSpec init) {
    if (index.count(name))
      return where->emitError("the name '") << name << "' of a runtime tensor is taken",
             failure();
    return add(name, type, role, init);
  }

private:
  int add(std::string name, RankedTensorType type, kiln_tensor_role role,
          InitSpec init) {
    TensorSpec s;
    s.name = name;
    s.dtype = type.getElementType().isF32() ? "f32" : "i64";
    s.shape.assign(type.getShape().begin(), type.getShape().end());
    s.role = role;
    s.init = init;
    m.tensors.push_back(std::move(s));
    index[name] = static_cast<int>(m.tensors.size()) - 1;
    return index[name];
  }

  ModelInterface &m;
  std::map<std::string, int> index;
};

} // namespace

/// forward(params, inputs[, rng]) -> outputs, value checks, and the
/// train-mode `forward_train` of a mode-dependent model (same arguments and
/// outputs, then next buffers and value checks).
static LogicalResult readForward(InterfaceReader &r, func::FuncOp forward,
                                 func::FuncOp forwardTrain) {
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) // table order
    if (failed(r.argument(forward, i)))
      return failure();
  // The outputs, then the graph's value checks (results marked nn.check).
  SmallVector<KernelArg> outputs;
  SmallVector<Type> outputTypes;
  for (auto [i, t] : llvm::enumerate(forward.getResultTypes())) {
    if (forward.getResultAttr(i, "nn.next"))
      return forward.emitError("the eval-mode forward cannot update buffers"), failure();
    if (forward.getResultAttr(i, "nn.check"))
      continue;
    auto out = r.result(forward, "output" + std::to_string(i), t, KILN_ROLE_OUTPUT);
    if (failed(out))
      return failure();
    outputs.push_back({KILN_ARG_TENSOR, *out});
    outputTypes.push_back(t);
  }
  auto checks = r.checks(forward);
  if (failed(checks))
    return failure();
  SmallVector<KernelArg> evalArgs = outputs;
  evalArgs.append(*checks);
  if (failed(r.kernel(forward, KILN_ENTRY_FORWARD, "forward", evalArgs)))
    return failure();
  if (!forwardTrain)
    return success();
  // forward_train: the same outputs, then next buffer values, then its
  // value checks.
  auto next = r.nextBuffers(forwardTrain);
  auto trainChecks = r.checks(forwardTrain);
  if (failed(next) || failed(trainChecks))
    return failure();
  if (forwardTrain.getResultTypes().take_front(outputTypes.size()) != ArrayRef<Type>(outputTypes) ||
      forwardTrain.getNumResults() != outputTypes.size() + next->size() + trainChecks->size())
    return forwardTrain.emitError("forward_train must return what forward returns, "
                                  "then next buffer values, then value checks"),
           failure();
  outputs.append(*next);
  outputs.append(*trainChecks);
  return r.kernel(forwardTrain, KILN_ENTRY_FORWARD, "forward_train", outputs);
}

/// loss_grad(params, buffers, inputs, target[, rng])
///   -> loss, param gradients, next buffers, value checks;
/// train_step(params, states, step, lr, buffers, inputs, target[, rng])
///   -> loss, param gradients, new params, new states, new step, next
///      buffers, value checks[, grad norm]
/// (passes/BuildTrainStep.cpp); next buffers are the results marked nn.next,
/// value checks those marked nn.check.
static LogicalResult readTraining(InterfaceReader &r, func::FuncOp grad,
                                  func::FuncOp step, Type lossType) {
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    if (failed(r.argument(step, i)))
      return failure();
  auto loss = r.result(step, "loss", lossType, KILN_ROLE_LOSS);
  if (failed(loss))
    return failure();
  auto gradNext = r.nextBuffers(grad), stepNext = r.nextBuffers(step);
  if (failed(gradNext) || failed(stepNext))
    return failure();
  auto gradChecks = r.checks(grad), stepChecks = r.checks(step);
  if (failed(gradChecks) || failed(stepChecks))
    return failure();
  SmallVector<KernelArg> gradResults{{KILN_ARG_TENSOR, *loss}};
  gradResults.append(r.each(grad, nn::TensorRole::param, KILN_ARG_GRADIENT));
  gradResults.append(*gradNext);
  gradResults.append(*gradChecks);
  // Last (nn-build-train-step puts them there): the rows each lazily
  // updated embedding read, which accumulate adds up.
  for (unsigned i = 0; i < grad.getNumResults(); ++i)
    if (auto param = grad.getResultAttrOfType<StringAttr>(i, "nn.sparse_rows")) {
      auto rows = r.result(grad, param.getValue().str() + ".grad_rows",
                           grad.getResultTypes()[i], KILN_ROLE_SPARSE_ROWS);
      if (failed(rows))
        return failure();
      gradResults.push_back({KILN_ARG_TENSOR, *rows});
    }
  if (failed(r.kernel(grad, KILN_ENTRY_GRADIENTS, "gradients", gradResults)))
    return failure();
  SmallVector<KernelArg> stepResults{{KILN_ARG_TENSOR, *loss}};
  stepResults.append(r.each(step, nn::TensorRole::param, KILN_ARG_GRADIENT));
  for (nn::TensorRole role : {nn::TensorRole::param, nn::TensorRole::state, nn::TensorRole::step})
    stepResults.append(r.each(step, role, KILN_ARG_TENSOR_NEXT));
  stepResults.append(*stepNext);
  stepResults.append(*stepChecks);
  // Last, with clip_grad_norm's error_if_nonfinite: the total norm the
  // runtime checks before the step becomes current.
  unsigned last = step.getNumResults() - 1;
  if (step.getResultAttr(last, "nn.grad_norm")) {
    auto norm = r.result(step, "grad_norm", step.getResultTypes()[last], KILN_ROLE_GRAD_NORM);
    if (failed(norm))
      return failure();
    stepResults.push_back({KILN_ARG_TENSOR, *norm});
  }
  return r.kernel(step, KILN_ENTRY_TRAIN_STEP, "train_step", stepResults);
}

/// An LBFGS model (ir/LbfgsOptions.h): the gradients kernel only, as
/// readTraining reads it, then the tensors the runtime's driver keeps:
/// step, lr, and torch's LBFGS state under the first parameter's name in
/// runtime.h's order (KILN_OPTIMIZER_LBFGS).
static LogicalResult readLbfgs(InterfaceReader &r, ModelInterface &m, ModuleOp module,
                               func::FuncOp grad, const nn::LbfgsOptions &options) {
  for (unsigned i = 0; i < grad.getNumArguments(); ++i)
    if (failed(r.argument(grad, i)))
      return failure();
  if (grad.getNumResults() == 0)
    return grad.emitError("loss_grad needs a loss result"), failure();
  auto loss = r.result(grad, "loss", grad.getResultTypes()[0], KILN_ROLE_LOSS);
  auto next = r.nextBuffers(grad);
  auto checks = r.checks(grad);
  if (failed(loss) || failed(next) || failed(checks))
    return failure();
  SmallVector<KernelArg> results{{KILN_ARG_TENSOR, *loss}};
  results.append(r.each(grad, nn::TensorRole::param, KILN_ARG_GRADIENT));
  results.append(*next);
  results.append(*checks);
  if (failed(r.kernel(grad, KILN_ENTRY_GRADIENTS, "gradients", results)))
    return failure();

  std::vector<const TensorSpec *> params = m.ofRole(KILN_ROLE_PARAMETER);
  if (params.empty())
    return module.emitError("nn.optimizer: LBFGS needs parameters to optimize"), failure();
  int64_t numel = 0;
  for (const TensorSpec *p : params)
    numel += p->numel();
  const std::string p0 = params.front()->name;
  MLIRContext *ctx = module.getContext();
  Type f32 = Float32Type::get(ctx);
  auto tensor = [&](ArrayRef<int64_t> shape, Type element) {
    return RankedTensorType::get(shape, element);
  };
  InitSpec lr;
  lr.kind = KILN_INIT_CONSTANT;
  lr.args[0] = options.lr;
  if (failed(r.runtimeTensor(grad, "step", tensor({}, IntegerType::get(ctx, 64)), KILN_ROLE_STEP,
                             InitSpec())) ||
      failed(r.runtimeTensor(grad, "lr", tensor({}, f32), KILN_ROLE_LR, lr)))
    return failure();
  const int64_t h = options.historySize;
  const SmallVector<int64_t> N = {numel}, SCALAR = {}, H = {h}, HN = {h, numel};
#define KILN_LBFGS_STATE(key, shape) {#key, shape},
  const std::pair<const char *, SmallVector<int64_t>> states[] = {
      KILN_LBFGS_STATES(KILN_LBFGS_STATE)};
#undef KILN_LBFGS_STATE
  for (const auto &[key, shape] : states)
    if (failed(r.runtimeTensor(grad, p0 + "." + key, tensor(shape, f32),
                               KILN_ROLE_OPTIMIZER_STATE, InitSpec())))
      return failure();
  m.optimizer = KILN_OPTIMIZER_LBFGS;
  std::array<double, 6> args = options.metadataArgs();
  std::copy(args.begin(), args.end(), m.optimizerArgs.begin());
  m.lr = options.lr;
  return success();
}

/// accumulate(grads, grad sums) -> next grad sums;
/// apply(params, states, step, lr, grad sums)
///   -> new params, new states, new step, next grad sums[, grad norm]
/// (passes/BuildTrainStep.cpp, step 4). The grad sums enter the table here,
/// in parameter order.
static LogicalResult readAccumulation(InterfaceReader &r, func::FuncOp acc,
                                      func::FuncOp apply) {
  for (unsigned i = 0; i < acc.getNumArguments(); ++i)
    if (failed(r.argument(acc, i)))
      return failure();
  SmallVector<KernelArg> sums = r.each(acc, nn::TensorRole::grad_sum, KILN_ARG_TENSOR_NEXT);
  sums.append(r.each(acc, nn::TensorRole::rows_sum, KILN_ARG_TENSOR_NEXT));
  if (failed(r.kernel(acc, KILN_ENTRY_ACCUMULATE, "accumulate", sums)))
    return failure();
  SmallVector<KernelArg> results;
  for (nn::TensorRole role : {nn::TensorRole::param, nn::TensorRole::state,
                              nn::TensorRole::step, nn::TensorRole::grad_sum,
                              nn::TensorRole::rows_sum})
    results.append(r.each(apply, role, KILN_ARG_TENSOR_NEXT));
  unsigned last = apply.getNumResults() - 1;
  if (apply.getNumResults() && apply.getResultAttr(last, "nn.grad_norm")) {
    // train_step's norm tensor: the same check, the same table entry.
    std::optional<int> norm = r.find("grad_norm");
    if (!norm)
      return apply.emitError("apply checks the gradient norm, train_step does not"), failure();
    results.push_back({KILN_ARG_TENSOR, *norm});
  }
  return r.kernel(apply, KILN_ENTRY_APPLY, "apply", results);
}

/// nn.scheduler {kind: i32, args: array<f64>, children: [...]}
/// (frontend/import/Scheduler.cpp).
static FailureOr<SchedulerSpec> readScheduler(DictionaryAttr attr, int depth = 0) {
  auto kind = attr.getAs<IntegerAttr>("kind");
  auto args = attr.getAs<DenseF64ArrayAttr>("args");
  auto children = attr.getAs<ArrayAttr>("children");
  if (!kind || !args || !children || depth > 16)
    return failure();
  SchedulerSpec spec;
  spec.kind = static_cast<int32_t>(kind.getInt());
  spec.args.assign(args.asArrayRef().begin(), args.asArrayRef().end());
  for (Attribute child : children) {
    auto dict = dyn_cast<DictionaryAttr>(child);
    if (!dict)
      return failure();
    auto c = readScheduler(dict, depth + 1);
    if (failed(c))
      return failure();
    spec.children.push_back(*c);
  }
  return spec;
}

/// training.scheduler (nn.scheduler), when the model declares one.
static LogicalResult readDeclaredScheduler(ModuleOp module, ModelInterface &m) {
  auto sched = module->getAttrOfType<DictionaryAttr>("nn.scheduler");
  if (!sched)
    return success();
  auto spec = readScheduler(sched);
  if (failed(spec))
    return module.emitError("malformed nn.scheduler attribute"), failure();
  m.scheduler = *spec;
  return success();
}

/// torch's swa_utils.update_bn: `update_bn_first` and `update_bn`
/// (frontend/import/ModelImporter.cpp), train-mode forwards that return
/// only next buffers and value checks, or neither.
static LogicalResult readUpdateBn(InterfaceReader &r, ModuleOp module) {
  auto first = module.lookupSymbol<func::FuncOp>("update_bn_first");
  auto later = module.lookupSymbol<func::FuncOp>("update_bn");
  if (static_cast<bool>(first) != static_cast<bool>(later))
    return module.emitError("update_bn_first and update_bn come together"), failure();
  if (!first)
    return success();
  for (auto [f, entry, name] :
       {std::tuple{first, KILN_ENTRY_UPDATE_BN_FIRST, "update_bn_first"},
        std::tuple{later, KILN_ENTRY_UPDATE_BN, "update_bn"}}) {
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (failed(r.argument(f, i)))
        return failure();
    auto next = r.nextBuffers(f);
    auto checks = r.checks(f);
    if (failed(next) || failed(checks))
      return failure();
    if (next->empty() || f.getNumResults() != next->size() + checks->size())
      return f.emitError("'") << name
                              << "' must return next buffer values, then value checks",
             failure();
    SmallVector<KernelArg> results(*next);
    results.append(*checks);
    if (failed(r.kernel(f, entry, name, results)))
      return failure();
  }
  return success();
}

FailureOr<ModelInterface> kiln::readModelInterface(ModuleOp module) {
  ModelInterface m;
  auto name = module->getAttrOfType<StringAttr>("nn.model_name");
  if (!name)
    return module.emitError("module has no nn.model_name"), failure();
  m.name = name.getValue().str();
  m.dataParallel = module->hasAttr("nn.data_parallel");
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return module.emitError("module has no 'forward' function"), failure();
  InterfaceReader reader(m);
  if (failed(readForward(reader, forward,
                         module.lookupSymbol<func::FuncOp>("forward_train"))))
    return failure();
  auto step = module.lookupSymbol<func::FuncOp>("train_step");
  auto optimizer = module->getAttrOfType<DictionaryAttr>("nn.optimizer");
  if (!step && nn::isLbfgs(optimizer)) {
    if (auto grad = module.lookupSymbol<func::FuncOp>("loss_grad")) {
      FailureOr<nn::LbfgsOptions> options = nn::readLbfgsOptions(module, optimizer);
      if (failed(options))
        return failure();
      m.trainable = true;
      if (failed(readLbfgs(reader, m, module, grad, *options)) ||
          failed(readDeclaredScheduler(module, m)))
        return failure();
      return m;
    }
  }
  if (!step)
    return m;
  auto grad = module.lookupSymbol<func::FuncOp>("loss_grad");
  if (!grad || step.getNumResults() == 0)
    return step.emitError("train_step needs a loss_grad function and a loss result"),
           failure();
  m.trainable = true;
  if (failed(readTraining(reader, grad, step, step.getResultTypes()[0])))
    return failure();
  auto acc = module.lookupSymbol<func::FuncOp>("accumulate");
  auto apply = module.lookupSymbol<func::FuncOp>("apply");
  if (static_cast<bool>(acc) != static_cast<bool>(apply))
    return module.emitError("accumulate and apply come together"), failure();
  if (acc && failed(readAccumulation(reader, acc, apply)))
    return failure();
  if (failed(readUpdateBn(reader, module)))
    return failure();
  // The first group's initial lr: its lr tensor's constant init
  // (nn-build-train-step), else the optimizer's lr (hand-written IR).
  if (auto opt = module->getAttrOfType<DictionaryAttr>("nn.optimizer"))
    if (auto lr = opt.getAs<FloatAttr>("lr"))
      m.lr = lr.getValueAsDouble();
  for (const TensorSpec &t : m.tensors)
    if (t.role == KILN_ROLE_LR) {
      if (t.init.kind == KILN_INIT_CONSTANT)
        m.lr = t.init.args[0];
      break;
    }
  if (failed(readDeclaredScheduler(module, m)))
    return failure();
  return m;
}

static const char *roleName(kiln_tensor_role role) {
  static const char *const names[] = {"parameter", "buffer", "state", "input", "target",
                                      "output", "loss", "step", "lr", "grad_norm",
                                      "grad_sum", "momentum", "check", "sparse_rows",
                                      "rows_sum"};
  return names[role];
}

static std::string initText(const InitSpec &init) {
  switch (init.kind) {
  case KILN_INIT_ZEROS:
    return "zeros";
  case KILN_INIT_ONES:
    return "ones";
  case KILN_INIT_UNIFORM:
  case KILN_INIT_NORMAL:
    return std::string(init.kind == KILN_INIT_UNIFORM ? "uniform " : "normal ") +
           formatExact(init.args[0]) + " " + formatExact(init.args[1]);
  case KILN_INIT_CONSTANT:
    return "constant " + formatExact(init.args[0]);
  case KILN_INIT_NORM_OF:
    return "norm_of " + formatExact(init.args[0]) + " " + formatExact(init.args[1]);
  case KILN_INIT_UNIT_NORMAL:
    return "unit_normal " + formatExact(init.args[0]);
  case KILN_INIT_EMPTY:
    return "empty";
  }
  return "?";
}

static std::string argText(const ModelInterface &m, const KernelArg &a) {
  switch (a.kind) {
  case KILN_ARG_TENSOR:
    return m.tensors[a.tensor].name;
  case KILN_ARG_TENSOR_NEXT:
    return "next(" + m.tensors[a.tensor].name + ")";
  case KILN_ARG_TENSOR_UPDATE:
    return "update(" + m.tensors[a.tensor].name + ")";
  case KILN_ARG_GRADIENT:
    return "grad(" + m.tensors[a.tensor].name + ")";
  case KILN_ARG_RNG:
    return "rng";
  case KILN_ARG_WORKSPACE:
    return "workspace";
  }
  return "?";
}

static const char *deviceName(kiln_device_kind device) {
  return device == KILN_DEVICE_CPU ? "cpu" : device == KILN_DEVICE_CUDA ? "cuda" : "?";
}

std::string ModelInterface::descriptor() const {
  static const char *const entries[] = {"forward",    "gradients",       "train_step",
                                        "accumulate", "apply",           "update_bn_first",
                                        "update_bn"};
  static const char *const modes[] = {"any", "train", "eval"};
  std::ostringstream os;
  os << "kiln-model-metadata " << KILN_METADATA_VERSION << "\n"
     << "name " << name << "\ndevice " << deviceName(device) << "\n";
  if (trainable)
    os << "lr " << formatExact(lr) << "\n";
  if (dataParallel)
    os << "data_parallel\n";
  if (optimizer == KILN_OPTIMIZER_LBFGS)
    os << "optimizer lbfgs max_iter " << formatExact(optimizerArgs[0]) << " max_eval "
       << formatExact(optimizerArgs[1]) << " tolerance_grad " << formatExact(optimizerArgs[2])
       << " tolerance_change " << formatExact(optimizerArgs[3]) << " history_size "
       << formatExact(optimizerArgs[4]) << " line_search "
       << (optimizerArgs[5] == 1 ? "strong_wolfe" : "none") << "\n";
  os << "workspace_bytes " << workspaceBytes << "\n";
  os << "arena_bytes " << arenaBytes() << "\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &t = tensors[i];
    os << "tensor " << i << " " << roleName(t.role) << " " << t.name << " "
       << t.dtype << " [";
    for (size_t d = 0; d < t.shape.size(); ++d)
      os << (d ? ", " : "") << t.shape[d];
    os << "] " << initText(t.init);
    if (t.indexBounds) {
      os << " indices [" << t.indexBounds->lo << ", " << t.indexBounds->hi << ")";
      if (t.indexBounds->ignore)
        os << " or " << *t.indexBounds->ignore;
    }
    os << "\n";
  }
  for (const KernelSpec &k : kernels) {
    os << "kernel " << entries[k.entry] << " " << modes[k.mode] << " "
       << k.symbol << ":";
    for (const KernelArg &a : k.args)
      os << " " << argText(*this, a);
    if (k.rngCounters)
      os << " (rng_counters " << k.rngCounters << ")";
    os << "\n";
  }
  return os.str();
}

static std::string upper(const std::string &s) {
  std::string u = s;
  for (char &c : u)
    c = std::toupper(static_cast<unsigned char>(c));
  return u;
}

/// `name` for a C comment. The importer admits only [A-Za-z0-9_.-] names
/// (frontend/import/Limits.h); this is the second line of defence, so that
/// no name can ever close the comment or start a line of C.
static std::string commentSafe(const std::string &name) {
  std::string out = name;
  for (char &c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      c = '?';
  return out;
}

/// Shapes and counts as constants, so applications size their buffers
/// without calling anything.
static void writeConstants(std::ostream &os, const ModelInterface &m,
                           const std::string &P) {
  auto shapeConsts = [&](const std::string &what, const TensorSpec &s) {
    os << "#define " << P << "_" << what << "_RANK " << s.shape.size() << "\n";
    os << "#define " << P << "_" << what << "_NUMEL " << s.numel() << "\n";
    os << "static const int64_t " << P << "_" << what << "_SHAPE["
       << std::max<size_t>(s.shape.size(), 1) << "] = {";
    for (size_t i = 0; i < s.shape.size(); ++i)
      os << (i ? ", " : "") << s.shape[i];
    if (s.shape.empty())
      os << "1";
    os << "};\n";
  };
  auto inputs = m.ofRole(KILN_ROLE_INPUT), outputs = m.ofRole(KILN_ROLE_OUTPUT);
  os << "#define " << P << "_TRAINABLE " << (m.trainable ? 1 : 0) << "\n";
  os << "#define " << P << "_DATA_PARALLEL " << (m.dataParallel ? 1 : 0) << "\n";
  os << "#define " << P << "_NUM_INPUTS " << inputs.size() << "\n";
  os << "#define " << P << "_NUM_OUTPUTS " << outputs.size() << "\n";
  os << "#define " << P << "_NUM_PARAMETERS " << m.ofRole(KILN_ROLE_PARAMETER).size() << "\n";
  os << "#define " << P << "_NUM_BUFFERS " << m.ofRole(KILN_ROLE_BUFFER).size() << "\n";
  os << "#define " << P << "_NUM_STATES " << m.ofRole(KILN_ROLE_OPTIMIZER_STATE).size() << "\n";
  os << "#define " << P << "_NUM_PARAM_GROUPS " << m.ofRole(KILN_ROLE_LR).size() << "\n";
  // Lets generic code (one trainer source for many models) use
  // <prefix>_scheduler_create only where it exists.
  os << "#define " << P << "_HAS_SCHEDULER " << (m.scheduler ? 1 : 0) << "\n";
  // kiln/arena.h: what one instance allocates (kiln_model_arena_bytes).
  os << "/* bytes " << m.name << "_create allocates per instance: parameters, buffers and\n"
     << " * optimizer state (with their second copies), gradients, workspace */\n";
  os << "#define " << P << "_ARENA_BYTES " << m.arenaBytes() << "ull\n";
  os << "#define " << P << "_BATCH_SIZE "
     << (inputs.empty() || inputs[0]->shape.empty() ? 1 : inputs[0]->shape[0]) << "\n\n";
  for (size_t i = 0; i < inputs.size(); ++i) {
    os << "/* input " << i << ": '" << commentSafe(inputs[i]->name) << "' " << inputs[i]->dtype
       << (inputs[i]->dtype == "i64" ? " (pass const int64_t *)" : " (pass const float *)")
       << " */\n";
    shapeConsts("INPUT" + std::to_string(i), *inputs[i]);
    os << "#define " << P << "_INPUT" << i << "_IS_INT64 " << (inputs[i]->dtype == "i64") << "\n";
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    os << "/* output " << i << ": " << outputs[i]->dtype
       << (outputs[i]->dtype == "i64" ? " (pass int64_t *)" : " (pass float *)") << " */\n";
    shapeConsts("OUTPUT" + std::to_string(i), *outputs[i]);
    os << "#define " << P << "_OUTPUT" << i << "_IS_INT64 " << (outputs[i]->dtype == "i64") << "\n";
  }
  // 0: the loss takes no target (pass NULL to train_step and gradients).
  if (m.trainable)
    os << "#define " << P << "_HAS_TARGET " << !m.ofRole(KILN_ROLE_TARGET).empty() << "\n";
  for (const TensorSpec *target : m.ofRole(KILN_ROLE_TARGET)) {
    os << "/* loss target '" << commentSafe(target->name) << "' " << target->dtype << " */\n";
    shapeConsts("TARGET", *target);
    os << "#define " << P << "_TARGET_IS_INT64 " << (target->dtype == "i64") << "\n";
  }
  os << "\n/* Parameters and buffers (the state_dict), and optimizer state:\n";
  for (kiln_tensor_role role : {KILN_ROLE_PARAMETER, KILN_ROLE_BUFFER, KILN_ROLE_OPTIMIZER_STATE}) {
    auto list = m.ofRole(role);
    for (size_t i = 0; i < list.size(); ++i) {
      os << " *   " << roleName(role) << " " << i << ": " << commentSafe(list[i]->name) << " [";
      for (size_t d = 0; d < list[i]->shape.size(); ++d)
        os << (d ? ", " : "") << list[i]->shape[d];
      os << "]\n";
    }
  }
  os << " */\n\n";
}

/// The per-model API: static inline forwarders to <kiln/runtime.h>, so the C
/// compiler checks every call against the runtime's declarations. `$` stands
/// for the prefix; each line is "return type|name|parameters|call arguments".
/// One forwarding function per row of `fns` ("<result>|<name>|<parameters,
/// $ for the prefix>|<arguments after the model>"), each calling
/// kiln_model_<name>.
static void writeFunctions(std::ostream &os, const std::string &p,
                           ArrayRef<const char *> fns) {
  for (const char *fn : fns) {
    SmallVector<StringRef> f;
    StringRef(fn).split(f, '|');
    std::string params = f[2].str();
    for (size_t at; (at = params.find('$')) != std::string::npos;)
      params.replace(at, 1, p);
    // Decided on the template, not on the substituted text: a model named
    // `constant_pad` must not read as a const parameter.
    const char *cast = f[2].starts_with("const $") ? "const kiln_model *" : "kiln_model *";
    os << "static inline " << f[0].str() << " " << p << "_" << f[1].str() << "(" << params
       << ") {\n  " << (f[0] == "void" ? "" : "return ") << "kiln_model_" << f[1].str()
       << "((" << cast << ")model" << f[3].str() << ");\n}\n";
  }
}

/// Every model's functions (kiln/runtime.h).
static const char *const kFunctions[] = {
      "void|destroy|$_model *model|",
      "kiln_status|init_parameters|$_model *model, uint64_t seed|, seed",
      "kiln_status|load_parameters|$_model *model, const char *path|, path",
      "kiln_status|save_parameters|$_model *model, const char *path|, path",
      "kiln_status|load_optimizer_state|$_model *model, const char *path|, path",
      "kiln_status|save_optimizer_state|$_model *model, const char *path|, path",
      "kiln_status|load_checkpoint|$_model *model, const char *path|, path",
      "kiln_status|save_checkpoint|$_model *model, const char *path|, path",
      "kiln_status|forward|$_model *model, const void *const *inputs, void *const *outputs|, inputs, outputs",
      "kiln_status|gradients|$_model *model, const void *const *inputs, const void *target, float *loss|, inputs, target, loss",
      "kiln_status|train_step|$_model *model, const void *const *inputs, const void *target, float *loss|, inputs, target, loss",
      "kiln_status|accumulate|$_model *model, const void *const *inputs, const void *target, float *loss|, inputs, target, loss",
      "kiln_status|apply|$_model *model|",
      "kiln_status|zero_grad|$_model *model|",
      "kiln_status|grad_sum|$_model *model, int index, float **data|, index, data",
      "kiln_status|update_bn|$_model *model, int num_batches, const void *const *const *batches|, num_batches, batches",
      "kiln_status|get_lr|const $_model *model, float *lr|, lr",
      "kiln_status|set_lr|$_model *model, float lr|, lr",
      "int|num_param_groups|const $_model *model|",
      "kiln_status|get_group_lr|const $_model *model, int group, float *lr|, group, lr",
      "kiln_status|set_group_lr|$_model *model, int group, float lr|, group, lr",
      "kiln_status|get_group_momentum|const $_model *model, int group, float *momentum|, group, momentum",
      "kiln_status|scheduler_step|$_model *model, kiln_scheduler *scheduler|, scheduler",
      "kiln_status|scheduler_step_epoch|$_model *model, kiln_scheduler *scheduler, double epoch|, scheduler, epoch",
      "kiln_status|scheduler_step_metric|$_model *model, kiln_scheduler *scheduler, double metric|, scheduler, metric",
      "kiln_status|attach_scheduler|$_model *model, kiln_scheduler *scheduler|, scheduler",
      "kiln_status|get_step|const $_model *model, int64_t *step|, step",
      "kiln_status|set_training|$_model *model, int training|, training",
      "kiln_status|get_training|const $_model *model, int *training|, training",
      "int|num_parameters|const $_model *model|",
      "kiln_status|parameter|$_model *model, int index, const char **name, float **data, int64_t *numel|, index, name, data, numel",
      "kiln_status|gradient|$_model *model, int index, float **data|, index, data",
      "int|num_buffers|const $_model *model|",
      "kiln_status|buffer|$_model *model, int index, const char **name, kiln_dtype *dtype, void **data, int64_t *numel|, index, name, dtype, data, numel",
      "int|num_states|const $_model *model|",
      "kiln_status|state|$_model *model, int index, const char **name, float **data, int64_t *numel|, index, name, data, numel",
      "kiln_status|get_rng|const $_model *model, kiln_rng_state *rng|, rng",
      "int64_t|parameter_elements|const $_model *model|",
      "kiln_status|parameters_to_vector|$_model *model, float *out, int64_t numel|, out, numel",
      "kiln_status|vector_to_parameters|$_model *model, const float *in, int64_t numel|, in, numel",
      "kiln_status|attach_comm|$_model *model, kiln_comm *comm|, comm",
      "int|world_size|const $_model *model|",
      "int|rank|const $_model *model|",
};

/// A CUDA model's entry points on device pointers and the caller's stream.
static const char *const kDeviceFunctions[] = {
    "kiln_status|forward_device|$_model *model, const void *const *inputs, void *const *outputs, void *stream|, inputs, outputs, stream",
    "kiln_status|gradients_device|$_model *model, const void *const *inputs, const void *target, float *loss, void *stream|, inputs, target, loss, stream",
    "kiln_status|train_step_device|$_model *model, const void *const *inputs, const void *target, float *loss, void *stream|, inputs, target, loss, stream",
};

/// Static arrays for `spec` and its children (children first, so every
/// initializer names only what precedes it); returns the spec's initializer.
static std::string schedulerInit(std::ostream &os, const SchedulerSpec &spec, int &counter) {
  std::string args = "0", children = "0";
  if (!spec.args.empty()) {
    args = "a" + std::to_string(counter++);
    os << "  static const double " << args << "[] = {";
    for (size_t i = 0; i < spec.args.size(); ++i)
      os << (i ? ", " : "") << formatExact(spec.args[i]);
    os << "};\n";
  }
  if (!spec.children.empty()) {
    std::vector<std::string> inits;
    for (const SchedulerSpec &c : spec.children)
      inits.push_back(schedulerInit(os, c, counter));
    children = "c" + std::to_string(counter++);
    os << "  static const kiln_scheduler_spec " << children << "[] = {";
    for (size_t i = 0; i < inits.size(); ++i)
      os << (i ? ", " : "") << inits[i];
    os << "};\n";
  }
  return "{" + std::to_string(spec.kind) + ", " + args + ", " + std::to_string(spec.args.size()) +
         ", 0, 0, " + children + ", " + std::to_string(spec.children.size()) + "}";
}

/// <prefix>_scheduler_create: the scheduler of the model file's
/// training.scheduler over the initial lr of every parameter group
/// (docs/generated-header.md).
static void writeSchedulerCreate(std::ostream &os, const std::string &p,
                                 const SchedulerSpec &spec, const std::vector<double> &lrs) {
  os << "/* The scheduler the model file declares (training.scheduler), at epoch 0\n"
     << " * over the initial lrs; step it with " << p << "_scheduler_step, attach it\n"
     << " * to save it with the optimizer state. kiln_scheduler_destroy frees it. */\n"
     << "static inline kiln_status " << p << "_scheduler_create(kiln_scheduler **out) {\n";
  int counter = 0;
  std::string init = schedulerInit(os, spec, counter);
  os << "  static const kiln_scheduler_spec spec = " << init << ";\n"
     << "  static const double lrs[] = {";
  for (size_t g = 0; g < lrs.size(); ++g)
    os << (g ? ", " : "") << formatExact(lrs[g]);
  os << "};\n"
     << "  return kiln_scheduler_create_groups(&spec, lrs, " << lrs.size() << ", out);\n}\n";
}

std::string ModelInterface::header() const {
  std::ostringstream os;
  std::string P = upper(name), p = name;
  os << "/* " << p << ".h: generated by kilnc from model '" << p << "'. Do not edit.\n"
     << " *\n"
     << " * Link " << p << ".o with libkiln_rt. Every function forwards to the\n"
     << " * kiln_model_* function of the same name in <kiln/runtime.h> (semantics\n"
     << " * there and in docs/generated-header.md); " << p << "_last_error(NULL)\n"
     << " * explains a failed " << p << "_create.\n"
     << " * Tensors are dense row-major float32 (class indices: int64). */\n";
  os << "#ifndef " << P << "_H\n#define " << P << "_H\n\n"
     << "#include <kiln/runtime.h>\n#include <kiln/comm.h>\n#include <kiln/scheduler.h>\n#include <kiln/swa.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  writeConstants(os, *this, P);
  os << "/* What libkiln_rt needs to know about this model (docs/runtime-abi.md). */\n"
     << "extern const kiln_model_metadata " << p << "__metadata;\n\n"
     << "typedef struct " << p << "_model " << p << "_model;\n\n"
     << "/* Allocates an instance; parameters are zero until initialised or loaded. */\n"
     << "static inline kiln_status " << p << "_create(" << p << "_model **out) {\n"
     << "  kiln_model *model = NULL;\n"
     << "  kiln_status status = kiln_model_create(&" << p << "__metadata, out ? &model : NULL);\n"
     << "  if (out)\n    *out = (" << p << "_model *)model;\n"
     << "  return status;\n}\n";
  if (device == KILN_DEVICE_CUDA)
    os << "/* The same on CUDA device `device` (an ordinal); without a driver or\n"
       << " * a device it fails here, KILN_ERROR_UNSUPPORTED. The functions below\n"
       << " * take host pointers and the runtime copies them; the _device ones\n"
       << " * take the GPU's. */\n"
       << "static inline kiln_status " << p << "_create_on_device(int device, " << p
       << "_model **out) {\n"
       << "  kiln_model *model = NULL;\n"
       << "  kiln_status status = kiln_model_create_on_device(&" << p
       << "__metadata, device, out ? &model : NULL);\n"
       << "  if (out)\n    *out = (" << p << "_model *)model;\n"
       << "  return status;\n}\n";
  os << "/* Message of the last failure on `model` (NULL: of the last failed create). */\n"
     << "static inline const char *" << p << "_last_error(const " << p << "_model *model) {\n"
     << "  return model ? kiln_model_last_error((const kiln_model *)model) : kiln_last_error();\n}\n";
  writeFunctions(os, p, kFunctions);
  if (device == KILN_DEVICE_CUDA) {
    os << "/* forward, gradients and train_step on device pointers of the model's\n"
       << " * GPU, ordered on the caller's stream (a cudaStream_t; NULL: the default\n"
       << " * stream): nothing is copied, and the call may return before the work\n"
       << " * is done (kiln_model_forward_device in kiln/runtime.h). */\n";
    writeFunctions(os, p, kDeviceFunctions);
  }
  if (scheduler) {
    // Each group's initial lr: the first is `lr`, later ones their lr
    // tensor's constant init.
    std::vector<double> lrs;
    for (const TensorSpec *t : ofRole(KILN_ROLE_LR))
      lrs.push_back(lrs.empty() ? lr : t->init.args[0]);
    if (lrs.empty())
      lrs.push_back(lr);
    writeSchedulerCreate(os, p, *scheduler, lrs);
  }
  os << "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << P << "_H */\n";
  return os.str();
}
