// nn-build-train-step: one function for a whole optimizer step.
//
// Algorithm:
//   1. Find the loss function (`nn.loss`) and its gradient function
//      `<loss>_grad` (from nn-autodiff), and the optimizer (`nn.optimizer`
//      on the module).
//   2. Create `train_step` with arguments: params, optimizer states (one
//      momentum buffer per param for SGD with momentum), step (i64), lr
//      (f32), then the loss function's other arguments (inputs, target).
//   3. Call `<loss>_grad`, apply one update op per parameter, and return
//      (loss, new params, new states, step + 1).
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

/// torch.optim.SGD's hyper-parameters, read from the `nn.optimizer` dict.
struct SgdOptions {
  float momentum = 0, dampening = 0, weightDecay = 0;
  bool nesterov = false, maximize = false;
};

FailureOr<SgdOptions> readSgd(ModuleOp module, DictionaryAttr dict) {
  SgdOptions o;
  auto number = [&](StringRef key, float &out) -> LogicalResult {
    Attribute a = dict.get(key);
    if (!a)
      return success();
    if (auto f = dyn_cast<FloatAttr>(a))
      return out = f.getValueAsDouble(), success();
    if (auto i = dyn_cast<IntegerAttr>(a))
      return out = i.getInt(), success();
    return module.emitError("nn.optimizer: '") << key << "' must be a number";
  };
  auto flag = [&](StringRef key, bool &out) -> LogicalResult {
    Attribute a = dict.get(key);
    if (!a)
      return success();
    if (auto b = dyn_cast<BoolAttr>(a))
      return out = b.getValue(), success();
    return module.emitError("nn.optimizer: '") << key << "' must be a bool";
  };
  if (failed(number("momentum", o.momentum)) ||
      failed(number("dampening", o.dampening)) ||
      failed(number("weight_decay", o.weightDecay)) ||
      failed(flag("nesterov", o.nesterov)) ||
      failed(flag("maximize", o.maximize)))
    return failure();
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    return module.emitError(
        "nn.optimizer: SGD nesterov requires momentum > 0 and dampening 0");
  return o;
}

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
    auto optimizer = module->getAttrOfType<DictionaryAttr>("nn.optimizer");
    if (!optimizer) {
      module.emitError("nn-build-train-step: the module has no nn.optimizer");
      return signalPassFailure();
    }
    auto type = optimizer.getAs<StringAttr>("type");
    if (!type || type.getValue() != "SGD") {
      module.emitError("nn-build-train-step: optimizer '")
          << (type ? type.getValue() : "?")
          << "' is not supported yet (supported: SGD)";
      return signalPassFailure();
    }
    auto sgd = readSgd(module, optimizer);
    if (failed(sgd))
      return signalPassFailure();
    build(module, loss, grad, *sgd);
  }

  void build(ModuleOp module, func::FuncOp loss, func::FuncOp grad,
             const SgdOptions &sgd) {
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Location loc = loss.getLoc();
    auto roleOf = [&](unsigned i) {
      auto r = loss.getArgAttrOfType<StringAttr>(i, "nn.role");
      return r ? r.getValue() : StringRef();
    };
    bool withMomentum = sgd.momentum != 0;

    SmallVector<unsigned> paramIdx, otherIdx;
    for (unsigned i = 0, e = loss.getNumArguments(); i < e; ++i)
      (roleOf(i) == "param" ? paramIdx : otherIdx).push_back(i);

    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    auto addArg = [&](Type t, StringRef name, StringRef role,
                      StringRef init = {}) {
      argTypes.push_back(t);
      SmallVector<NamedAttribute> attrs{b.getNamedAttr("nn.name", b.getStringAttr(name)),
                                        b.getNamedAttr("nn.role", b.getStringAttr(role))};
      if (!init.empty())
        attrs.push_back(b.getNamedAttr("nn.init", b.getStringAttr(init)));
      argAttrs.push_back(b.getDictionaryAttr(attrs));
    };
    auto paramName = [&](unsigned i) {
      auto n = loss.getArgAttrOfType<StringAttr>(i, "nn.name");
      return n ? n.getValue().str() : ("arg" + std::to_string(i));
    };
    for (unsigned i : paramIdx) {
      argTypes.push_back(loss.getArgumentTypes()[i]);
      argAttrs.push_back(loss.getArgAttrDict(i));
    }
    if (withMomentum)
      for (unsigned i : paramIdx)
        addArg(loss.getArgumentTypes()[i], paramName(i) + ".momentum_buffer",
               "state", "zeros");
    auto i64Scalar = RankedTensorType::get({}, b.getI64Type());
    auto f32Scalar = RankedTensorType::get({}, b.getF32Type());
    addArg(i64Scalar, "step", "step");
    addArg(f32Scalar, "lr", "lr");
    for (unsigned i : otherIdx) {
      argTypes.push_back(loss.getArgumentTypes()[i]);
      argAttrs.push_back(loss.getArgAttrDict(i));
    }

    SmallVector<Type> resultTypes{grad.getFunctionType().getResult(0)};
    for (unsigned i : paramIdx)
      resultTypes.push_back(loss.getArgumentTypes()[i]);
    if (withMomentum)
      for (unsigned i : paramIdx)
        resultTypes.push_back(loss.getArgumentTypes()[i]);
    resultTypes.push_back(i64Scalar);

    b.setInsertionPointAfter(grad);
    auto step = b.create<func::FuncOp>(loc, "train_step",
                                       b.getFunctionType(argTypes, resultTypes));
    step.setAllArgAttrs(argAttrs);
    Block *body = step.addEntryBlock();
    b.setInsertionPointToStart(body);

    size_t numParams = paramIdx.size();
    auto params = body->getArguments().take_front(numParams);
    auto states = withMomentum ? body->getArguments().slice(numParams, numParams)
                               : ArrayRef<BlockArgument>();
    size_t scalarsAt = numParams * (withMomentum ? 2 : 1);
    Value stepArg = body->getArgument(scalarsAt);
    Value lrArg = body->getArgument(scalarsAt + 1);
    auto others = body->getArguments().drop_front(scalarsAt + 2);

    // The gradient function takes the loss function's arguments in order.
    SmallVector<Value> callArgs(loss.getNumArguments());
    for (auto [k, i] : llvm::enumerate(paramIdx))
      callArgs[i] = params[k];
    for (auto [k, i] : llvm::enumerate(otherIdx))
      callArgs[i] = others[k];
    auto call = b.create<func::CallOp>(loc, grad, callArgs);
    // The gradient function returns loss, then param gradients in order.
    if (call.getNumResults() != numParams + 1) {
      grad.emitError("nn-build-train-step: expected the loss and one gradient "
                     "per parameter from '")
          << grad.getSymName() << "'";
      return signalPassFailure();
    }

    SmallVector<Value> newParams, newStates;
    for (size_t k = 0; k < numParams; ++k) {
      SmallVector<Type> types{params[k].getType()};
      if (withMomentum)
        types.push_back(params[k].getType());
      auto update = b.create<SgdUpdateOp>(
          loc, types, params[k], call.getResult(k + 1),
          withMomentum ? Value(states[k]) : Value(), lrArg, stepArg,
          b.getF32FloatAttr(sgd.momentum), b.getF32FloatAttr(sgd.dampening),
          b.getF32FloatAttr(sgd.weightDecay),
          sgd.nesterov ? b.getUnitAttr() : UnitAttr(),
          sgd.maximize ? b.getUnitAttr() : UnitAttr());
      newParams.push_back(update.getNewParam());
      if (withMomentum)
        newStates.push_back(update.getNewMomentumBuffer());
    }
    Value one = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(i64Scalar, b.getI64IntegerAttr(1)));
    Value nextStep = b.create<arith::AddIOp>(loc, stepArg, one);

    SmallVector<Value> results{call.getResult(0)};
    llvm::append_range(results, newParams);
    llvm::append_range(results, newStates);
    results.push_back(nextStep);
    b.create<func::ReturnOp>(loc, results);
  }
};

} // namespace
