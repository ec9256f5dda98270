// training.optimizer.param_groups: torch's
//   optim.SGD([{"params": backbone.parameters(), "lr": 1e-4},
//              {"params": head.parameters()}], lr=1e-2, momentum=0.9)
// written as
//   "optimizer": {"type": "SGD", "options": {"lr": 0.01, "momentum": 0.9},
//                 "param_groups": [{"params": ["backbone"], "options": {"lr": 1e-4}},
//                                  {"params": ["head"]}]}
// The groups' complete hyper-parameters go to nn-build-train-step
// (passes/ParamGroups.h), which builds one update per group and one lr
// argument per group.
//
// Several torch optimizers stepped together (the usual pairing of
// SparseAdam for sparse embeddings with Adam for the rest) are groups with
// their own `type`: such a group takes that optimizer's options alone (its
// defaults, overridden by the group's `options`), not the top-level ones:
//   "optimizer": {"type": "Adam", "options": {"lr": 0.01},
//                 "param_groups": [{"params": ["emb"], "type": "SparseAdam"},
//                                  {"params": ["head"]}]}
// is torch's SparseAdam(emb.parameters()) and Adam(head.parameters(),
// lr=0.01), both stepped every step.
#include "frontend/import/ParamGroups.h"

#include "frontend/import/Limits.h"

#include <map>

using namespace mlir;

namespace kiln::import {
namespace {

/// The parameter names `entry` (a parameter or a module path) stands for,
/// in parameter order.
std::vector<std::string> resolve(const std::string &entry, const std::string &path,
                                 const std::vector<std::string> &paramNames) {
  std::vector<std::string> names;
  for (const std::string &p : paramNames)
    if (p == entry || (p.size() > entry.size() && p.compare(0, entry.size(), entry) == 0 &&
                       p[entry.size()] == '.'))
      names.push_back(p);
  if (names.empty())
    fail(path, "no parameter or module named " + quotedName(entry) +
                   " has parameters (a parameter's state_dict name, or a module's "
                   "path for all of its parameters)");
  return names;
}

/// The options of group `g`: the optimizer's as written, overridden by the
/// group's.
json mergedOptions(const json &defaults, const json &group) {
  json merged = defaults.is_object() ? defaults : json::object();
  for (auto it = group.begin(); it != group.end(); ++it)
    merged[it.key()] = *it;
  return merged;
}

} // namespace

DictionaryAttr optimizerAttribute(OpBuilder &b, const Entry &entry, const json &optimizer,
                                  const std::vector<std::string> &paramNames) {
  checkKnownKeys(optimizer, "training.optimizer", {"type", "options", "param_groups"});
  const json none = json::object();
  auto optionsIt = optimizer.find("options");
  const json &defaults =
      optionsIt == optimizer.end() || optionsIt->is_null() ? none : *optionsIt;
  DictionaryAttr top = entry.buildOptimizer(
      b, parseOptions(entry, defaults, "training.optimizer.options"));
  auto groupsIt = optimizer.find("param_groups");
  if (groupsIt == optimizer.end())
    return top;

  const std::string groupsPath = "training.optimizer.param_groups";
  if (entry.refusesParamGroups)
    fail(groupsPath, entry.torchName.substr(entry.torchName.find('.') + 1) +
                         " doesn't support per-parameter options (parameter groups)");
  if (!groupsIt->is_array() || groupsIt->empty())
    fail(groupsPath, "expected a non-empty array of parameter groups");
  std::map<std::string, std::string> owner; // parameter -> the path that took it
  SmallVector<Attribute> groups;
  for (size_t g = 0; g < groupsIt->size(); ++g) {
    const json &group = (*groupsIt)[g];
    const std::string path = groupsPath + "[" + std::to_string(g) + "]";
    checkKnownKeys(group, path, {"params", "options", "type"});
    // A group of another optimizer: its entry, and no inherited options.
    const Entry *groupEntry = &entry;
    const json *inherited = &defaults;
    if (group.contains("type")) {
      if (!group["type"].is_string())
        fail(path + ".type", "expected an optimizer name");
      const std::string type = group["type"].get<std::string>();
      groupEntry = registry().lookup(EntryKind::Optimizer, type);
      if (!groupEntry)
        fail(path + ".type", "unknown optimizer '" + type + "' (supported: " +
                                 registry().supportedNames(EntryKind::Optimizer) + ")");
      if (groupEntry->refusesParamGroups)
        fail(path + ".type", type + " cannot share a step with other optimizers (its step "
                                    "re-evaluates the loss itself)");
      inherited = &none;
    }
    auto paramsIt = group.find("params");
    if (paramsIt == group.end() || !paramsIt->is_array())
      fail(path + ".params", "expected an array of parameter or module names");
    SmallVector<Attribute> names;
    for (size_t i = 0; i < paramsIt->size(); ++i) {
      const std::string at = path + ".params[" + std::to_string(i) + "]";
      if (!(*paramsIt)[i].is_string())
        fail(at, "expected a parameter or module name");
      for (const std::string &name : resolve((*paramsIt)[i].get<std::string>(), at, paramNames)) {
        auto [it, fresh] = owner.emplace(name, at);
        if (!fresh)
          fail(at, "parameter " + quotedName(name) + " is already in a group (" + it->second +
                       "): some parameters appear in more than one parameter group");
        names.push_back(b.getStringAttr(name));
      }
    }
    const json &own = group.contains("options") && !group["options"].is_null()
                          ? group["options"]
                          : none;
    if (!own.is_object())
      fail(path + ".options", "expected an object");
    // The group's own keys first, so that an unknown or bad one is reported
    // where it is written; then the merged options (their cross-checks).
    for (auto it = own.begin(); it != own.end(); ++it)
      if (std::none_of(groupEntry->options.begin(), groupEntry->options.end(),
                       [&](const OptionSpec &o) { return o.name == it.key(); }))
        fail(path + ".options." + it.key(), "unknown option '" + it.key() + "'");
    json merged = mergedOptions(*inherited, own);
    // torch reads these from the constructor for every group (a group of
    // another optimizer has no constructor options of this one: its own).
    if (inherited == &defaults)
      for (const std::string &key : groupEntry->constructorOnlyOptions) {
        if (defaults.is_object() && defaults.contains(key))
          merged[key] = defaults[key];
        else
          merged.erase(key);
      }
    DictionaryAttr hyper = groupEntry->buildOptimizer(
        b, parseOptions(*groupEntry, merged, path + ".options"));
    SmallVector<NamedAttribute> attrs(hyper.begin(), hyper.end());
    attrs.push_back(b.getNamedAttr("params", b.getArrayAttr(names)));
    groups.push_back(b.getDictionaryAttr(attrs));
  }
  SmallVector<NamedAttribute> attrs(top.begin(), top.end());
  attrs.push_back(b.getNamedAttr("param_groups", b.getArrayAttr(groups)));
  return b.getDictionaryAttr(attrs);
}

} // namespace kiln::import
