// The optimizers nn-build-train-step knows, looked up by `nn.optimizer`'s
// type. Range checks of hyper-parameters live in the update ops' verifiers
// (and, with JSON paths, in the importer); here they are only read.
#include "passes/Optimizers.h"
#include "passes/OptimizerRules.h"

#include "ir/NNDialect.h"

#include <functional>
#include <map>

using namespace mlir;
using namespace kiln;

namespace {

/// Typed reads of the `nn.optimizer` dictionary with errors on the module.
class HyperParameters {
public:
  HyperParameters(ModuleOp module, DictionaryAttr dict)
      : module(module), dict(dict) {}

  /// A number (f64 as written; integers accepted), `dflt` when absent.
  double number(StringRef key, double dflt) {
    Attribute a = dict.get(key);
    if (!a)
      return dflt;
    if (auto f = dyn_cast<FloatAttr>(a))
      return f.getValueAsDouble();
    if (auto i = dyn_cast<IntegerAttr>(a))
      return static_cast<double>(i.getInt());
    return error(key, "a number"), dflt;
  }

  bool flag(StringRef key, bool dflt) {
    Attribute a = dict.get(key);
    if (!a)
      return dflt;
    if (auto b = dyn_cast<BoolAttr>(a))
      return b.getValue();
    return error(key, "a bool"), dflt;
  }

  bool ok() const { return !failed; }

private:
  void error(StringRef key, StringRef what) {
    module.emitError("nn.optimizer: '") << key << "' must be " << what;
    failed = true;
  }

  ModuleOp module;
  DictionaryAttr dict;
  bool failed = false;
};

/// torch.optim.SGD (1.13): one nn.sgd_update per parameter; a momentum
/// buffer only when momentum != 0.
class Sgd : public Optimizer {
public:
  explicit Sgd(HyperParameters &h)
      : momentum(h.number("momentum", 0)), dampening(h.number("dampening", 0)),
        weightDecay(h.number("weight_decay", 0)),
        nesterov(h.flag("nesterov", false)), maximize(h.flag("maximize", false)),
        cycled(h.flag("cycle_momentum", false)) {}

  LogicalResult verify(ModuleOp module) const override {
    std::string problem =
        nn::checkSgdOptions(momentum, dampening, weightDecay, nesterov);
    if (problem.empty())
      return success();
    return module.emitError("nn.optimizer: SGD ") << problem;
  }

  /// A cycled momentum needs the buffer even at momentum 0: the scheduler
  /// sets a momentum before the first step (torch then creates the buffer).
  SmallVector<OptimizerStateSpec> stateSpecs() const override {
    if (momentum == 0 && !cycled)
      return {};
    return {{"momentum_buffer", nn::InitKind::zeros}};
  }

  std::optional<double> cycledMomentum() const override {
    return cycled ? std::optional<double>(momentum) : std::nullopt;
  }

  /// torch's sparse SGD is the dense update (momentum included) except for
  /// weight decay, whose add(sparse, dense) torch refuses.
  std::string sparseGradientProblem() const override {
    if (weightDecay != 0)
      return "SGD: weight_decay does not work with sparse gradients (torch: add(sparse, "
             "dense) is not supported)";
    return "";
  }

  SmallVector<Value> buildUpdate(OpBuilder &b, Location loc, Value param,
                                 Value grad, ValueRange states, Value lr,
                                 Value step, Value cycledValue, Value) const override {
    SmallVector<Type> types(1 + states.size(), param.getType());
    auto update = b.create<nn::SgdUpdateOp>(
        loc, types, param, grad, states.empty() ? Value() : states.front(), lr,
        step, cycledValue, b.getF64FloatAttr(momentum), b.getF64FloatAttr(dampening),
        b.getF64FloatAttr(weightDecay), nesterov ? b.getUnitAttr() : UnitAttr(),
        maximize ? b.getUnitAttr() : UnitAttr());
    return SmallVector<Value>(update->getResults());
  }

private:
  double momentum, dampening, weightDecay;
  bool nesterov, maximize, cycled;
};

/// Every optimizer with a rule in passes/optim/: one nn.optimizer_update
/// per parameter, carrying the optimizer's name and hyper-parameters.
class RuleOptimizer : public Optimizer {
public:
  RuleOptimizer(const optim::OptimizerRule &rule, DictionaryAttr dict)
      : rule(rule), hyper(stripType(dict)) {
    if (auto flag = dict.getAs<BoolAttr>("cycle_momentum"))
      cycled = flag.getValue();
  }

  LogicalResult verify(ModuleOp module) const override {
    optim::Hyper h(hyper);
    if (std::string key = h.malformed(); !key.empty())
      return module.emitError("nn.optimizer: '") << key << "' must be a number, flag or pair";
    if (std::string problem = rule.check(h); !problem.empty())
      return module.emitError("nn.optimizer: ") << rule.name << ": " << problem;
    if (cycled && !rule.cycledMomentum)
      return module.emitError("nn.optimizer: ")
             << rule.name << ": cycle_momentum is not supported for this optimizer";
    return success();
  }

  std::optional<double> cycledMomentum() const override {
    if (!cycled)
      return std::nullopt;
    return rule.cycledMomentum(optim::Hyper(hyper));
  }

  SmallVector<OptimizerStateSpec> stateSpecs() const override {
    SmallVector<OptimizerStateSpec> specs;
    optim::Hyper h(hyper);
    for (std::string &name : rule.states(h))
      specs.push_back({std::move(name), nn::InitKind::zeros});
    if (rule.scalarStates)
      for (optim::ScalarState &state : rule.scalarStates(h))
        specs.push_back({std::move(state.name), nn::InitKind::constant, state.initial, true});
    return specs;
  }

  std::string sparseGradientProblem() const override {
    return optim::sparseGradientProblem(rule, optim::Hyper(hyper));
  }

  bool needsSparseRows() const override { return rule.lazyRows; }

  SmallVector<Value> buildUpdate(OpBuilder &b, Location loc, Value param,
                                 Value grad, ValueRange states, Value lr,
                                 Value step, Value momentum, Value rows) const override {
    SmallVector<Type> types{param.getType()};
    llvm::append_range(types, states.getTypes());
    auto update = b.create<nn::OptimizerUpdateOp>(loc, types, param, grad, states, lr, step,
                                                  momentum, rows, b.getStringAttr(rule.name),
                                                  hyper);
    return SmallVector<Value>(update->getResults());
  }

private:
  /// The hyper-parameters: the dictionary without its `type` and `lr` (lr
  /// is the runtime scalar); cycle_momentum stays (rules read it).
  static DictionaryAttr stripType(DictionaryAttr dict) {
    SmallVector<NamedAttribute> kept;
    for (NamedAttribute a : dict)
      if (a.getName() != "type" && a.getName() != "lr")
        kept.push_back(a);
    return DictionaryAttr::get(dict.getContext(), kept);
  }

  const optim::OptimizerRule &rule;
  DictionaryAttr hyper;
  bool cycled = false;
};

using Factory = std::function<std::unique_ptr<Optimizer>(HyperParameters &)>;

/// Every optimizer by its `nn.optimizer` type (torch.optim class name).
const std::map<std::string, Factory> &factories() {
  static const std::map<std::string, Factory> table = {
      {"SGD", [](HyperParameters &h) { return std::make_unique<Sgd>(h); }},
  };
  return table;
}

} // namespace

std::unique_ptr<Optimizer> kiln::createOptimizer(ModuleOp module,
                                                 DictionaryAttr dict) {
  auto type = dict.getAs<StringAttr>("type");
  if (type)
    if (const optim::OptimizerRule *rule = optim::lookup(type.getValue())) {
      auto optimizer = std::make_unique<RuleOptimizer>(*rule, dict);
      if (failed(optimizer->verify(module)))
        return nullptr;
      return optimizer;
    }
  auto it = type ? factories().find(type.getValue().str()) : factories().end();
  if (it == factories().end()) {
    std::string known;
    for (auto &[name, factory] : factories())
      known += (known.empty() ? "" : ", ") + name;
    for (auto &[name, rule] : optim::rules())
      known += ", " + name;
    module.emitError("nn-build-train-step: optimizer '")
        << (type ? type.getValue() : "?") << "' is not supported yet (supported: "
        << known << ")";
    return nullptr;
  }
  HyperParameters h(module, dict);
  std::unique_ptr<Optimizer> optimizer = it->second(h);
  if (!h.ok() || failed(optimizer->verify(module)))
    return nullptr;
  return optimizer;
}
