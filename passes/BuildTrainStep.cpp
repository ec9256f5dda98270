// nn-build-train-step: one function for a whole optimizer step, generic
// over the Optimizer interface (passes/Optimizers.h).
//
// Algorithm:
//   1. Find the loss function (`nn.loss`) and its gradient function
//      `<loss>_grad` (from nn-autodiff), and the optimizer that the module's
//      `nn.optimizer` describes.
//   2. Create `train_step` with arguments: params, optimizer states (for
//      every state spec, one tensor per param, named `<param>.<state>`),
//      step (i64), lr (f32), then the loss function's other arguments
//      (inputs, target, the rng state when the graph draws random numbers).
//      The loss's `nn.mode` and `nn.rng_counters` carry over.
//   3. Call `<loss>_grad`, clip the gradients when the module asks
//      (nn.clip_grad_norm / nn.clip_grad_value, passes/GradClip.h), let the
//      optimizer build one update per parameter, and return (loss, new
//      params, new states, step + 1, next buffers[, total norm]), the next
//      buffers being `<loss>_grad`'s results after the gradients and the
//      total norm (marked nn.grad_norm) there only with error_if_nonfinite.
#include "ir/ArgSignature.h"
#include "passes/GradClip.h"
#include "passes/Optimizers.h"
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

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
    std::unique_ptr<Optimizer> optimizer = createOptimizer(module, dict);
    if (!optimizer)
      return signalPassFailure();
    if (failed(build(loss, grad, *optimizer)))
      signalPassFailure();
  }

  /// `train_step`'s signature: params, states, step, lr, other arguments.
  ArgSignature signature(OpBuilder &b, func::FuncOp loss,
                      ArrayRef<unsigned> paramIdx, ArrayRef<unsigned> otherIdx,
                      ArrayRef<OptimizerStateSpec> specs) {
    ArgSignature sig;
    for (unsigned i : paramIdx)
      sig.copy(loss, i);
    for (const OptimizerStateSpec &spec : specs)
      for (unsigned i : paramIdx) {
        auto name = loss.getArgAttrOfType<StringAttr>(i, "nn.name");
        std::string param = name ? name.getValue().str() : "arg" + std::to_string(i);
        sig.add(b, loss.getArgumentTypes()[i], param + "." + spec.name,
                nn::TensorRole::state, nn::InitAttr::get(b.getContext(), spec.init));
      }
    sig.add(b, RankedTensorType::get({}, b.getI64Type()), "step", nn::TensorRole::step);
    sig.add(b, RankedTensorType::get({}, b.getF32Type()), "lr", nn::TensorRole::lr);
    for (unsigned i : otherIdx)
      sig.copy(loss, i);
    return sig;
  }

  /// Step 3's updates: one optimizer update per parameter, from its
  /// gradient (grads[k]) and its own state tensors (states
  /// are grouped by spec: state s of parameter k is states[s * P + k]).
  std::pair<SmallVector<Value>, SmallVector<Value>>
  updateAll(OpBuilder &b, Location loc, const Optimizer &optimizer, ValueRange params,
            ValueRange states, ValueRange grads, Value lr, Value step, size_t numSpecs) {
    size_t numParams = params.size();
    SmallVector<Value> newParams, newStates(states.size());
    for (size_t k = 0; k < numParams; ++k) {
      SmallVector<Value> own;
      for (size_t s = 0; s < numSpecs; ++s)
        own.push_back(states[s * numParams + k]);
      SmallVector<Value> updated =
          optimizer.buildUpdate(b, loc, params[k], grads[k], own, lr, step);
      newParams.push_back(updated[0]);
      for (size_t s = 0; s < numSpecs; ++s)
        newStates[s * numParams + k] = updated[1 + s];
    }
    return {newParams, newStates};
  }

  LogicalResult build(func::FuncOp loss, func::FuncOp grad,
                      const Optimizer &optimizer) {
    OpBuilder b(&getContext());
    Location loc = loss.getLoc();
    SmallVector<unsigned> paramIdx, otherIdx;
    for (unsigned i = 0, e = loss.getNumArguments(); i < e; ++i) {
      (roleOf(loss, i) == nn::TensorRole::param ? paramIdx : otherIdx).push_back(i);
    }
    SmallVector<OptimizerStateSpec> specs = optimizer.stateSpecs();
    ArgSignature sig = signature(b, loss, paramIdx, otherIdx, specs);

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

    size_t numParams = paramIdx.size(), numStates = specs.size() * numParams;
    auto args = body->getArguments();
    auto params = args.take_front(numParams);
    auto states = args.slice(numParams, numStates);
    Value stepArg = args[numParams + numStates];
    Value lrArg = args[numParams + numStates + 1];
    auto others = args.drop_front(numParams + numStates + 2);

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

    FailureOr<ClippedGradients> clipped = clipGradients(
        b, loc, getOperation(), call.getResults().slice(1, numParams));
    if (failed(clipped))
      return failure();
    auto [newParams, newStates] = updateAll(b, loc, optimizer, params, states,
                                            clipped->grads, lrArg, stepArg, specs.size());
    auto i64Scalar = RankedTensorType::get({}, b.getI64Type());
    Value one = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(i64Scalar, b.getI64IntegerAttr(1)));
    Value nextStep = b.create<arith::AddIOp>(loc, stepArg, one);

    SmallVector<Value> results{call.getResult(0)};
    llvm::append_range(results, newParams);
    llvm::append_range(results, newStates);
    results.push_back(nextStep);
    // The gradient function's results after the gradients (next buffer
    // values) pass through, attributes and all.
    unsigned firstExtra = results.size();
    for (unsigned i = numParams + 1; i < call.getNumResults(); ++i)
      results.push_back(call.getResult(i));
    if (clipped->checkedNorm)
      results.push_back(clipped->checkedNorm);
    b.create<func::ReturnOp>(loc, results);
    step.setFunctionType(
        b.getFunctionType(sig.types, ValueRange(results).getTypes()));
    for (unsigned i = numParams + 1; i < call.getNumResults(); ++i)
      if (DictionaryAttr attrs = grad.getResultAttrDict(i))
        step.setResultAttrs(firstExtra + (i - numParams - 1), attrs);
    if (clipped->checkedNorm)
      step.setResultAttr(results.size() - 1, "nn.grad_norm", b.getUnitAttr());
    return success();
  }
};

} // namespace
