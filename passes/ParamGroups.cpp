#include "passes/ParamGroups.h"
#include "passes/OptimizerRules.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <map>

using namespace mlir;
using namespace kiln;

namespace {

/// A group's optimizer dictionary: its hyper-parameters with its own type
/// (a group of another optimizer stepped together with this one) or the
/// optimizer's, without `params`.
DictionaryAttr groupDictionary(DictionaryAttr group, Attribute type) {
  SmallVector<NamedAttribute> kept;
  for (NamedAttribute a : group)
    if (a.getName() != "params" && a.getName() != "type")
      kept.push_back(a);
  if (Attribute own = group.get("type"))
    type = own;
  kept.push_back(NamedAttribute(StringAttr::get(group.getContext(), "type"), type));
  return DictionaryAttr::get(group.getContext(), kept);
}

LogicalResult addGroup(ModuleOp module, DictionaryAttr dict, OptimizerPlan &plan) {
  ParamGroup group;
  group.optimizer = createOptimizer(module, dict);
  if (!group.optimizer)
    return failure();
  group.specs = group.optimizer->stateSpecs();
  group.lr = optim::Hyper(dict).number("lr", 0);
  group.momentum = group.optimizer->cycledMomentum();
  plan.groups.push_back(std::move(group));
  return success();
}

/// Fills plan.states and plan.slotOf from the groups and groupOf.
void layOutStates(OptimizerPlan &plan) {
  SmallVector<std::string> names; // state names, first appearance order
  for (const ParamGroup &g : plan.groups)
    for (const OptimizerStateSpec &spec : g.specs)
      if (!llvm::is_contained(names, spec.name))
        names.push_back(spec.name);
  plan.slotOf.assign(plan.groupOf.size(), {});
  for (size_t k = 0; k < plan.groupOf.size(); ++k)
    if (plan.groupOf[k] >= 0)
      plan.slotOf[k].assign(plan.groups[plan.groupOf[k]].specs.size(), 0);
  for (const std::string &name : names)
    for (size_t k = 0; k < plan.groupOf.size(); ++k) {
      if (plan.groupOf[k] < 0)
        continue;
      const ParamGroup &g = plan.groups[plan.groupOf[k]];
      for (size_t s = 0; s < g.specs.size(); ++s)
        if (g.specs[s].name == name) {
          plan.slotOf[k][s] = plan.states.size();
          plan.states.push_back({static_cast<unsigned>(k), static_cast<unsigned>(s)});
        }
    }
}

} // namespace

FailureOr<OptimizerPlan> kiln::planOptimizer(ModuleOp module, DictionaryAttr dict,
                                             ArrayRef<std::string> paramNames,
                                             ArrayRef<bool> withoutGradient) {
  OptimizerPlan plan;
  auto skipUngraded = [&] {
    for (auto [k, none] : llvm::enumerate(withoutGradient))
      if (none)
        plan.groupOf[k] = -1;
  };
  Attribute groupsAttr = dict.get("param_groups");
  if (!groupsAttr) {
    if (failed(addGroup(module, dict, plan)))
      return failure();
    plan.groupOf.assign(paramNames.size(), 0);
    skipUngraded();
    layOutStates(plan);
    return plan;
  }
  auto groups = dyn_cast<ArrayAttr>(groupsAttr);
  if (!groups || groups.empty())
    return module.emitError("nn.optimizer: param_groups must be a non-empty array"), failure();
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < paramNames.size(); ++k)
    index[paramNames[k]] = k;
  plan.groupOf.assign(paramNames.size(), -1);
  for (auto [g, attr] : llvm::enumerate(groups)) {
    auto group = dyn_cast<DictionaryAttr>(attr);
    auto params = group ? group.getAs<ArrayAttr>("params") : ArrayAttr();
    if (!params)
      return module.emitError("nn.optimizer: param_groups[")
                 << g << "] must be a dictionary with a 'params' array",
             failure();
    if (failed(addGroup(module, groupDictionary(group, dict.get("type")), plan)))
      return failure();
    for (Attribute p : params) {
      auto name = dyn_cast<StringAttr>(p);
      auto it = name ? index.find(name.getValue().str()) : index.end();
      if (it == index.end())
        return module.emitError("nn.optimizer: param_groups[")
                   << g << "].params: " << p << " is not a parameter of the loss function",
               failure();
      if (plan.groupOf[it->second] >= 0)
        return module.emitError("nn.optimizer: parameter '")
                   << name.getValue() << "' appears in more than one parameter group",
               failure();
      plan.groupOf[it->second] = static_cast<int>(g);
    }
  }
  skipUngraded();
  layOutStates(plan);
  return plan;
}
