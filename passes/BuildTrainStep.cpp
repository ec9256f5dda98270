// nn-build-train-step: one function for a whole optimizer step, generic
// over the Optimizer interface (passes/Optimizers.h).
//
// Algorithm:
//   1. Find the loss function (`nn.loss`) and its gradient function
//      `<loss>_grad` (from nn-autodiff), and the optimizer that the module's
//      `nn.optimizer` describes.
//   2. Create `train_step` with arguments: params, optimizer states (one
//      tensor `<param>.<state>` per state of each parameter that a group
//      updates, in passes/ParamGroups.h's order), step (i64), one lr (f32)
//      per parameter group (`lr`, then `param_groups.<g>.lr`, each with
//      #nn.init<constant initial lr>), one f32 momentum per group when a
//      scheduler cycles it (`momentum`, `param_groups.<g>.momentum`: SGD's
//      and RMSprop's momentum, the Adam family's beta1), then the loss function's other
//      arguments (inputs, target, the rng state when the graph draws random
//      numbers). The loss's `nn.mode` and `nn.rng_counters` carry over.
//   3. Call `<loss>_grad`, clip the gradients when the module asks
//      (nn.clip_grad_norm / nn.clip_grad_value, passes/GradClip.h), let each
//      parameter's group's optimizer build its update (a parameter in no
//      group keeps its value, as torch leaves it; so does one the loss does
//      not reach, marked nn.no_gradient by nn-autodiff: torch's grad None,
//      which its optimizers skip), and return (loss, the
//      gradients the update used (clipped; torch's param.grad after step),
//      new params, new states, step + 1, next buffers[, total norm]), the next
//      buffers being `<loss>_grad`'s results after the gradients and the
//      total norm (marked nn.grad_norm) there only with error_if_nonfinite.
//   LBFGS (ir/LbfgsOptions.h) builds none of this: the runtime takes its
//   steps around `<loss>_grad`.
//   Sparse gradients (results of `<loss>_grad` marked nn.sparse_rows: an
//   embedding's rows read, docs/design.md): checked against each group's
//   optimizer as torch checks them. Where an update is lazy (SparseAdam)
//   they stay results of `<loss>_grad` (so the gradients kernel writes
//   them, for accumulation, step 4) and train_step hands them to the
//   update; otherwise no update reads them and they are dropped.
//   4. Gradient accumulation (torch's backward() k times, then step()):
//        accumulate(grads, rows, sums, rows sums) -> sums + grads, rows sums + rows
//        apply(params, states, step, lrs, sums, rows sums)
//          -> new params, new states, step + 1, zeros (the new sums and
//             rows sums)[, total norm]
//      where `grads` (nn.role grad, named like their parameter) are what the
//      gradients kernel (`<loss>_grad`) wrote and `sums` (nn.role grad_sum,
//      `<param>.grad`) the instance's accumulated gradients. apply is step
//      3 after the call on the sums, so train_step = gradients + accumulate
//      into zeros + apply, bit for bit. `rows` / rows sums exist only for
//      parameters with a lazy update: each batch's sparse rows (nn.role
//      sparse_rows, `<param>.grad_rows`, what the gradients kernel wrote)
//      and their running sum (nn.role rows_sum, `<param>.grad.rows`).
//      Keeping forward and backward out of these two functions compiles
//      them once, not a third time.
#include "ir/ArgSignature.h"
#include "ir/LbfgsOptions.h"
#include "passes/GradClip.h"
#include "passes/ParamGroups.h"
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// Module attribute asking for data-parallel steps (kilnc --data-parallel).
constexpr llvm::StringLiteral kDataParallelAttr = "nn.data_parallel";

struct BuildTrainStepPass : kiln::impl::BuildTrainStepBase<BuildTrainStepPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp loss;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("nn.loss"))
        loss = f;
    if (!loss)
      return; // inference-only module: nothing to assemble.
    auto grad = module.lookupSymbol<func::FuncOp>(
        (loss.getSymName() + "_grad").str());
    if (!grad) {
      loss.emitError("nn-build-train-step: no gradient function '")
          << loss.getSymName() << "_grad' (run nn-autodiff first)";
      return signalPassFailure();
    }
    auto dict = module->getAttrOfType<DictionaryAttr>("nn.optimizer");
    if (!dict) {
      module.emitError("nn-build-train-step: the module has no nn.optimizer");
      return signalPassFailure();
    }
    // LBFGS's step calls the closure (`<loss>_grad`) a data-dependent
    // number of times: the runtime runs it (ir/LbfgsOptions.h), so there is
    // no train_step, accumulate or apply to build. (torch's LBFGS densifies
    // sparse gradients, so their rows are not needed.) Data-parallel, the
    // runtime's driver averages each closure's loss and gradients over the
    // processes (runtime/lib/lbfgs.cpp): nothing to compile for it either.
    if (nn::isLbfgs(dict)) {
      dropSparseRows(grad);
      if (failed(nn::readLbfgsOptions(module, dict)))
        signalPassFailure();
      return;
    }
    SmallVector<std::string> paramNames;
    for (unsigned i = 0, e = loss.getNumArguments(); i < e; ++i)
      if (roleOf(loss, i) == nn::TensorRole::param)
        paramNames.push_back(argName(loss, i));
    // Gradient result 1 + k is parameter k's (nn-autodiff's order).
    SmallVector<bool> withoutGradient;
    for (size_t k = 0; k < paramNames.size(); ++k)
      withoutGradient.push_back(static_cast<bool>(grad.getResultAttr(1 + k, kNoGradientAttr)));
    FailureOr<OptimizerPlan> plan = planOptimizer(module, dict, paramNames, withoutGradient);
    if (failed(plan))
      return signalPassFailure();
    FailureOr<SmallVector<int>> rows = sparseRowResults(grad, paramNames, *plan);
    if (failed(rows))
      return signalPassFailure();
    // Only a lazy update (SparseAdam) reads the rows: then the gradients
    // kernel writes them too, for accumulate; otherwise they go.
    bool lazy = false;
    for (auto [k, r] : llvm::enumerate(*rows))
      lazy |= r >= 0 && plan->updatesLazily(k);
    if (!lazy) {
      dropSparseRows(grad);
      rows->assign(rows->size(), -1);
    } else if (failed(sparseRowsLast(grad))) {
      return signalPassFailure();
    }
    if (failed(build(loss, grad, *plan, *rows)))
      signalPassFailure();
  }

  /// Removes `grad`'s results marked nn.sparse_rows (sparse gradients'
  /// rows, frontend/import/Embedding.cpp) where no update needs them.
  static void dropSparseRows(func::FuncOp grad) {
    llvm::BitVector marked(grad.getNumResults());
    for (unsigned i = 0; i < grad.getNumResults(); ++i)
      if (grad.getResultAttr(i, "nn.sparse_rows"))
        marked.set(i);
    if (marked.none())
      return;
    for (Block &block : grad.getBody())
      if (auto ret = dyn_cast<func::ReturnOp>(block.getTerminator()))
        ret->eraseOperands(marked);
    grad.eraseResults(marked);
  }

  /// Checks that the rows results come after every other result, where
  /// the model interface expects them (codegen/ModelInterface.cpp: loss,
  /// gradients, next buffers, value checks, sparse rows).
  static LogicalResult sparseRowsLast(func::FuncOp grad) {
    bool seen = false;
    for (unsigned i = 0; i < grad.getNumResults(); ++i) {
      bool rows = static_cast<bool>(grad.getResultAttr(i, "nn.sparse_rows"));
      if (seen && !rows)
        return grad.emitError("nn-build-train-step: result ")
               << i << " of '" << grad.getSymName()
               << "' follows a sparse gradient's rows; they must come last";
      seen |= rows;
    }
    return success();
  }

  /// Per parameter, the result of `grad` with its sparse gradient's rows
  /// (-1: its gradient is dense). Fails where torch would refuse the
  /// optimizer step: a sparse gradient for an optimizer without sparse
  /// support (Adam: "does not support sparse gradients"), a dense one for
  /// SparseAdam, or clipping of a sparse gradient.
  FailureOr<SmallVector<int>> sparseRowResults(func::FuncOp grad,
                                               ArrayRef<std::string> paramNames,
                                               const OptimizerPlan &plan) {
    ModuleOp module = getOperation();
    SmallVector<int> rows(paramNames.size(), -1);
    for (unsigned i = 0; i < grad.getNumResults(); ++i)
      if (auto name = grad.getResultAttrOfType<StringAttr>(i, "nn.sparse_rows")) {
        const auto *it = llvm::find(paramNames, name.getValue().str());
        if (it == paramNames.end())
          return grad.emitError("nn-build-train-step: sparse rows of '")
                     << name.getValue() << "', which is no parameter",
                 failure();
        rows[it - paramNames.begin()] = static_cast<int>(i);
      }
    bool clipped = module->hasAttr("nn.clip_grad_norm") || module->hasAttr("nn.clip_grad_value");
    for (size_t k = 0; k < paramNames.size(); ++k) {
      if (plan.groupOf[k] < 0)
        continue;
      const Optimizer &optimizer = *plan.groups[plan.groupOf[k]].optimizer;
      if (rows[k] >= 0) {
        if (std::string problem = optimizer.sparseGradientProblem(); !problem.empty())
          return module.emitError("nn.optimizer: parameter '")
                     << paramNames[k] << "' has a sparse gradient (its embedding has "
                     << "sparse=True): " << problem,
                 failure();
        if (clipped)
          return module.emitError("nn.optimizer: parameter '")
                     << paramNames[k]
                     << "' has a sparse gradient (its embedding has sparse=True), which "
                        "gradient clipping does not support (torch's clip_grad_norm_ takes "
                        "the norm of the uncoalesced entries; clip_grad_value_ cannot clamp "
                        "it): use sparse=False",
                 failure();
      } else if (optimizer.needsSparseRows()) {
        return module.emitError("nn.optimizer: parameter '")
                   << paramNames[k]
                   << "': SparseAdam does not support dense gradients, please consider Adam "
                      "instead (only the weight of an Embedding or EmbeddingBag with "
                      "sparse=True that nothing else reads has a sparse gradient)",
               failure();
      }
    }
    return rows;
  }

  static std::string argName(func::FuncOp f, unsigned i) {
    auto name = f.getArgAttrOfType<StringAttr>(i, "nn.name");
    return name ? name.getValue().str() : "arg" + std::to_string(i);
  }

  /// The name of parameter group g's runtime scalar `key` ("lr",
  /// "momentum"; also its optimizer-file tensor): the bare key for the
  /// first group, as before groups existed, `param_groups.<g>.<key>` after.
  static std::string groupScalarName(size_t g, StringRef key) {
    return g == 0 ? key.str() : "param_groups." + std::to_string(g) + "." + key.str();
  }

  /// How many runtime scalars follow the step: the lrs, then the cycled
  /// momenta.
  static size_t numScalars(const OptimizerPlan &plan) {
    size_t n = plan.groups.size();
    for (const ParamGroup &g : plan.groups)
      n += g.momentum.has_value();
    return n;
  }

  /// `train_step`'s signature: params, states, step, lrs, cycled momenta,
  /// other arguments.
  ArgSignature signature(OpBuilder &b, func::FuncOp loss,
                      ArrayRef<unsigned> paramIdx, ArrayRef<unsigned> otherIdx,
                      const OptimizerPlan &plan) {
    ArgSignature sig;
    for (unsigned i : paramIdx)
      sig.copy(loss, i);
    for (const StateSlot &slot : plan.states) {
      unsigned i = paramIdx[slot.param];
      const OptimizerStateSpec &spec = plan.groups[plan.groupOf[slot.param]].specs[slot.spec];
      Type type = spec.scalar ? RankedTensorType::get({}, b.getF32Type())
                              : loss.getArgumentTypes()[i];
      sig.add(b, type, argName(loss, i) + "." + spec.name, nn::TensorRole::state,
              nn::InitAttr::get(b.getContext(), spec.init, spec.value));
    }
    sig.add(b, RankedTensorType::get({}, b.getI64Type()), "step", nn::TensorRole::step);
    for (auto [g, group] : llvm::enumerate(plan.groups))
      sig.add(b, RankedTensorType::get({}, b.getF32Type()), groupScalarName(g, "lr"),
              nn::TensorRole::lr,
              nn::InitAttr::get(b.getContext(), nn::InitKind::constant, group.lr));
    for (auto [g, group] : llvm::enumerate(plan.groups))
      if (group.momentum)
        sig.add(b, RankedTensorType::get({}, b.getF32Type()), groupScalarName(g, "momentum"),
                nn::TensorRole::momentum,
                nn::InitAttr::get(b.getContext(), nn::InitKind::constant, *group.momentum));
    for (unsigned i : otherIdx)
      sig.copy(loss, i);
    return sig;
  }

  /// Step 3's updates: one optimizer update per parameter of a group, from
  /// its gradient (grads[k]), its own state tensors (plan.slotOf) and its
  /// group's lr and cycled momentum (`scalars`: the lrs, then the momenta).
  std::pair<SmallVector<Value>, SmallVector<Value>>
  updateAll(OpBuilder &b, Location loc, const OptimizerPlan &plan, ValueRange params,
            ValueRange states, ValueRange grads, ValueRange scalars, Value step,
            ArrayRef<Value> rows) {
    SmallVector<Value> newParams, newStates(states.size());
    ValueRange lrs = scalars.take_front(plan.groups.size());
    SmallVector<Value> momenta;
    for (size_t g = 0, next = plan.groups.size(); g < plan.groups.size(); ++g)
      momenta.push_back(plan.groups[g].momentum ? scalars[next++] : Value());
    for (size_t k = 0; k < params.size(); ++k) {
      if (plan.groupOf[k] < 0) {
        newParams.push_back(params[k]); // in no group: torch leaves it as it is
        continue;
      }
      const ParamGroup &group = plan.groups[plan.groupOf[k]];
      SmallVector<Value> own;
      for (unsigned slot : plan.slotOf[k])
        own.push_back(states[slot]);
      Value sparseRows = group.optimizer->needsSparseRows() ? rows[k] : Value();
      SmallVector<Value> updated =
          group.optimizer->buildUpdate(b, loc, params[k], grads[k], own, lrs[plan.groupOf[k]],
                                       step, momenta[plan.groupOf[k]], sparseRows);
      newParams.push_back(updated[0]);
      for (auto [s, slot] : llvm::enumerate(plan.slotOf[k]))
        newStates[slot] = updated[1 + s];
    }
    return {newParams, newStates};
  }

  /// Step 3 after the gradients: clip, update every parameter and count
  /// the step. Returns new params, new states, step + 1, in `results`, and
  /// the checked total norm (null unless error_if_nonfinite).
  FailureOr<Value> update(OpBuilder &b, Location loc, const OptimizerPlan &plan,
                          ValueRange params, ValueRange states, Value stepArg, ValueRange scalars,
                          ValueRange grads, ArrayRef<Value> rows, SmallVector<Value> &results,
                          bool withGradients) {
    // Data parallelism: the gradients averaged over the processes (one
    // bucket), before clipping, as DDP's hooks run before clip_grad_*.
    // A lazy update's rows (SparseAdam's, > 0 where the sparse gradient
    // has an entry) are averaged with them: > 0 where any process's
    // gradient has one, the union of the entries that torch's sparse
    // all-reduce (DDP concatenates the processes' sparse gradients) gives
    // the update, whose values are the dense average's.
    SmallVector<Value> local(grads.begin(), grads.end());
    SmallVector<Value> allRows(rows.begin(), rows.end());
    if (getOperation()->hasAttr(kDataParallelAttr) && !local.empty()) {
      SmallVector<Value> operands(local);
      for (Value r : rows)
        if (r)
          operands.push_back(r);
      ValueRange averaged = b.create<nn::AllReduceOp>(loc, operands)->getResults();
      local.assign(averaged.begin(), averaged.begin() + grads.size());
      unsigned next = grads.size();
      for (Value &r : allRows)
        if (r)
          r = averaged[next++];
    }
    FailureOr<ClippedGradients> clipped = clipGradients(b, loc, getOperation(), local);
    if (failed(clipped))
      return failure();
    auto [newParams, newStates] =
        updateAll(b, loc, plan, params, states, clipped->grads, scalars, stepArg, allRows);
    auto i64Scalar = RankedTensorType::get({}, b.getI64Type());
    Value one = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(i64Scalar, b.getI64IntegerAttr(1)));
    // train_step: the gradients the update used, as torch's param.grad holds
    // them after backward, clip_grad_* and step; so they are computed into
    // the instance's gradient buffers rather than kernel temporaries.
    if (withGradients)
      llvm::append_range(results, clipped->grads);
    llvm::append_range(results, newParams);
    llvm::append_range(results, newStates);
    results.push_back(b.create<arith::AddIOp>(loc, stepArg, one));
    return clipped->checkedNorm;
  }

  /// Step 4: `accumulate` and `apply` after `train_step` (whose arguments
  /// give the parameters, states, step, lrs and cycled momenta).
  /// `rowTypes[k]`: the type of parameter k's sparse rows where its update
  /// is lazy (SparseAdam), else null; such a parameter gets a rows sum
  /// beside its grad sum, which accumulate adds each batch's rows to and
  /// apply hands to the update (the union of the batches' rows).
  LogicalResult buildAccumulation(OpBuilder &b, Location loc, func::FuncOp trainStep,
                                  size_t numParams, const OptimizerPlan &plan,
                                  ArrayRef<Type> rowTypes) {
    size_t numStates = plan.states.size(), scalarCount = numScalars(plan);
    MLIRContext *ctx = b.getContext();
    ArgSignature grads, sums, rows, rowSums;
    SmallVector<size_t> lazy;
    for (unsigned i = 0; i < numParams; ++i) {
      Type t = trainStep.getArgumentTypes()[i];
      auto name = trainStep.getArgAttrOfType<StringAttr>(i, "nn.name");
      if (!name)
        return trainStep.emitError("nn-build-train-step: parameter ") << i << " has no nn.name";
      grads.add(b, t, name.getValue(), nn::TensorRole::grad);
      sums.add(b, t, (name.getValue() + ".grad").str(), nn::TensorRole::grad_sum,
               nn::InitAttr::get(ctx, nn::InitKind::zeros));
      if (!rowTypes[i])
        continue;
      lazy.push_back(i);
      rows.add(b, rowTypes[i], (name.getValue() + ".grad_rows").str(),
               nn::TensorRole::sparse_rows);
      rowSums.add(b, rowTypes[i], (name.getValue() + ".grad.rows").str(),
                  nn::TensorRole::rows_sum, nn::InitAttr::get(ctx, nn::InitKind::zeros));
    }
    size_t numLazy = lazy.size();

    // accumulate(grads, rows, grad sums, rows sums)
    //   -> grad sums + grads, rows sums + rows
    b.setInsertionPointAfter(trainStep);
    ArgSignature accSig = grads;
    for (const ArgSignature *part : {&rows, &sums, &rowSums}) {
      accSig.types.append(part->types);
      accSig.attrs.append(part->attrs);
    }
    SmallVector<Type> accResults(sums.types);
    accResults.append(rowSums.types);
    auto acc = b.create<func::FuncOp>(loc, "accumulate",
                                      b.getFunctionType(accSig.types, accResults));
    acc.setAllArgAttrs(accSig.attrs);
    Block *accBody = acc.addEntryBlock();
    b.setInsertionPointToStart(accBody);
    auto accArgs = accBody->getArguments();
    auto gradArgs = accArgs.take_front(numParams);
    auto rowArgs = accArgs.slice(numParams, numLazy);
    auto sumArgs = accArgs.slice(numParams + numLazy, numParams);
    auto rowSumArgs = accArgs.take_back(numLazy);
    SmallVector<Value> added;
    for (size_t k = 0; k < numParams; ++k)
      added.push_back(b.create<nn::AddOp>(loc, sumArgs[k], gradArgs[k]));
    for (size_t j = 0; j < numLazy; ++j)
      added.push_back(b.create<nn::AddOp>(loc, rowSumArgs[j], rowArgs[j]));
    b.create<func::ReturnOp>(loc, added);

    b.setInsertionPointAfter(acc);
    ArgSignature applySig;
    for (unsigned i = 0; i < numParams + numStates + 1 + scalarCount; ++i)
      applySig.copy(trainStep, i);
    for (const ArgSignature *part : {&sums, &rowSums}) {
      applySig.types.append(part->types);
      applySig.attrs.append(part->attrs);
    }
    auto apply = b.create<func::FuncOp>(loc, "apply", b.getFunctionType(applySig.types, {}));
    apply.setAllArgAttrs(applySig.attrs);
    Block *body = apply.addEntryBlock();
    b.setInsertionPointToStart(body);
    auto args = body->getArguments();
    SmallVector<Value> applyRows(numParams, Value());
    for (auto [j, k] : llvm::enumerate(lazy))
      applyRows[k] = args[args.size() - numLazy + j];
    SmallVector<Value> results;
    FailureOr<Value> norm = update(b, optimizerLocation(loc), plan, args.take_front(numParams),
                                   args.slice(numParams, numStates), args[numParams + numStates],
                                   args.slice(numParams + numStates + 1, scalarCount),
                                   args.drop_back(numLazy).take_back(numParams), applyRows,
                                   results, /*withGradients=*/false);
    if (failed(norm))
      return failure();
    // optimizer.zero_grad() (set_to_none=False) after the step: torch's
    // sparse gradients become empty, so the next batches' rows start anew.
    for (Type t : llvm::concat<Type>(sums.types, rowSums.types)) {
      auto type = cast<RankedTensorType>(t);
      results.push_back(b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 0.0))));
    }
    if (*norm)
      results.push_back(*norm);
    b.create<func::ReturnOp>(loc, results);
    apply.setFunctionType(b.getFunctionType(applySig.types, ValueRange(results).getTypes()));
    if (*norm)
      apply.setResultAttr(results.size() - 1, "nn.grad_norm", b.getUnitAttr());
    return success();
  }

  /// Where the update ops are: the model file's training.optimizer, next
  /// to the loss function's NameLoc("loss", file), so that diagnostics and
  /// kilnc --remarks about the update point at the optimizer.
  static Location optimizerLocation(Location lossLoc) {
    if (auto name = dyn_cast<NameLoc>(lossLoc))
      return NameLoc::get(StringAttr::get(lossLoc.getContext(), "training.optimizer"),
                          name.getChildLoc());
    return lossLoc;
  }

  /// `rowResults`: per parameter, the result of `grad` with its sparse
  /// gradient's rows, or -1.
  LogicalResult build(func::FuncOp loss, func::FuncOp grad, const OptimizerPlan &plan,
                      ArrayRef<int> rowResults) {
    OpBuilder b(&getContext());
    Location loc = loss.getLoc();
    SmallVector<unsigned> paramIdx, otherIdx;
    for (unsigned i = 0, e = loss.getNumArguments(); i < e; ++i) {
      (roleOf(loss, i) == nn::TensorRole::param ? paramIdx : otherIdx).push_back(i);
    }
    ArgSignature sig = signature(b, loss, paramIdx, otherIdx, plan);

    b.setInsertionPointAfter(grad);
    auto step = b.create<func::FuncOp>(loc, "train_step",
                                       b.getFunctionType(sig.types, {}));
    step.setAllArgAttrs(sig.attrs);
    // The step runs the loss's graph: same mode, same random draws.
    for (StringRef attr : {"nn.mode", "nn.rng_counters"})
      if (Attribute a = loss->getAttr(attr))
        step->setAttr(attr, a);
    Block *body = step.addEntryBlock();
    b.setInsertionPointToStart(body);

    size_t numParams = paramIdx.size(), numStates = plan.states.size();
    size_t scalarCount = numScalars(plan);
    auto args = body->getArguments();
    auto params = args.take_front(numParams);
    auto states = args.slice(numParams, numStates);
    Value stepArg = args[numParams + numStates];
    auto scalars = args.slice(numParams + numStates + 1, scalarCount);
    auto others = args.drop_front(numParams + numStates + 1 + scalarCount);

    // The gradient function takes the loss function's arguments in order and
    // returns the loss, then the param gradients in order.
    SmallVector<Value> callArgs(loss.getNumArguments());
    for (auto [k, i] : llvm::enumerate(paramIdx))
      callArgs[i] = params[k];
    for (auto [k, i] : llvm::enumerate(otherIdx))
      callArgs[i] = others[k];
    auto call = b.create<func::CallOp>(loc, grad, callArgs);
    if (call.getNumResults() < numParams + 1)
      return grad.emitError("nn-build-train-step: expected the loss and one "
                            "gradient per parameter from '")
             << grad.getSymName() << "'";

    SmallVector<Value> rows;
    for (int r : rowResults)
      rows.push_back(r >= 0 ? call.getResult(r) : Value());
    SmallVector<Value> results{call.getResult(0)};
    FailureOr<Value> checkedNorm =
        update(b, optimizerLocation(loc), plan, params, states, stepArg, scalars,
               call.getResults().slice(1, numParams), rows, results, /*withGradients=*/true);
    if (failed(checkedNorm))
      return failure();
    // The gradient function's results after the gradients (next buffer
    // values, value checks) pass through, attributes and all; the sparse
    // rows stay inside.
    SmallVector<unsigned> passed;
    for (unsigned i = numParams + 1; i < call.getNumResults(); ++i)
      if (!grad.getResultAttr(i, "nn.sparse_rows"))
        passed.push_back(i);
    unsigned firstExtra = results.size();
    for (unsigned i : passed)
      results.push_back(call.getResult(i));
    if (*checkedNorm)
      results.push_back(*checkedNorm);
    b.create<func::ReturnOp>(loc, results);
    step.setFunctionType(
        b.getFunctionType(sig.types, ValueRange(results).getTypes()));
    for (auto [k, i] : llvm::enumerate(passed))
      if (DictionaryAttr attrs = grad.getResultAttrDict(i))
        step.setResultAttrs(firstExtra + k, attrs);
    if (*checkedNorm)
      step.setResultAttr(results.size() - 1, "nn.grad_norm", b.getUnitAttr());
    // A lazy update steps on the rows the accumulated batches read.
    SmallVector<Type> rowTypes(numParams);
    for (auto [k, r] : llvm::enumerate(rows))
      if (r && plan.updatesLazily(k))
        rowTypes[k] = r.getType();
    return buildAccumulation(b, loc, step, numParams, plan, rowTypes);
  }
};

} // namespace
