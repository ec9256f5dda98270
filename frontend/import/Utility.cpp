// Containers and the `utility-module` family: nn.Flatten, Sequential,
// ModuleList, Module.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

static Value flatten(BuildContext &c) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  return c.create<nn::FlattenOp>(c.operands()[0],
                                 b.getI64IntegerAttr(o.getInt("start_dim")),
                                 b.getI64IntegerAttr(o.getInt("end_dim")));
}

void registerUtilityFamily(Registry &r) {
  Entry layer{"nn.Flatten", EntryKind::Layer, "nn.flatten"};
  layer.options = {intOption("start_dim", 1), intOption("end_dim", -1)};
  layer.build = flatten;
  layer.example = {{"input", {2, 3, 4}}};
  r.add(std::move(layer));

  // torch.flatten: the same op with torch.flatten's defaults (start_dim 0).
  Entry function{"flatten", EntryKind::Function, "nn.flatten"};
  function.options = {intOption("start_dim", 0), intOption("end_dim", -1)};
  function.build = flatten;
  function.example = {{"input", {2, 3, 4}}};
  r.add(std::move(function));

  // Containers only structure the module tree (state_dict names); graph
  // nodes call their leaves.
  for (const char *name : {"Sequential", "ModuleList", "Module"})
    r.add(Entry{name, EntryKind::Container, "(graph structure)"});
}

} // namespace kiln::import
