// Containers and the `utility-module` family: nn.Flatten, nn.Unflatten,
// Sequential, ModuleList, ModuleDict, Module, and a module's own parameters
// (Parameter, ParameterList, ParameterDict).
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"
#include "ir/VisionShapeRules.h"

using namespace mlir;

namespace kiln::import {

static Value flatten(BuildContext &c) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  return c.create<nn::FlattenOp>(c.operands()[0],
                                 b.getI64IntegerAttr(o.getInt("start_dim")),
                                 b.getI64IntegerAttr(o.getInt("end_dim")));
}

/// torch.unflatten / nn.Unflatten: a reshape whose result shape the shared
/// rule gives (-1 resolved, sizes checked against the dimension).
static Value unflatten(BuildContext &c, const std::string &sizesOption) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto in = nn::shapeOf(x);
  shape_rules::Inferred r = shape_rules::unflatten(
      shape_rules::Shape(in.begin(), in.end()), o.getInt("dim"), o.getInts(sizesOption));
  if (!r.ok())
    c.fail(r.error);
  return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), r.shape), x);
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

  // nn.Unflatten(dim, unflattened_size); torch also takes a NamedShape for
  // named tensors, which Kiln does not have.
  Entry unflattenLayer{"nn.Unflatten", EntryKind::Layer, "nn.reshape"};
  unflattenLayer.options = {intOption("dim"), intListOption("unflattened_size")};
  unflattenLayer.build = [](BuildContext &c) { return unflatten(c, "unflattened_size"); };
  unflattenLayer.example = {{"options", {{"dim", 1}, {"unflattened_size", {2, -1}}}},
                            {"input", {2, 6}}};
  r.add(std::move(unflattenLayer));

  Entry unflattenFunction{"unflatten", EntryKind::Function, "nn.reshape"};
  unflattenFunction.options = {intOption("dim"), intListOption("sizes")};
  unflattenFunction.build = [](BuildContext &c) { return unflatten(c, "sizes"); };
  unflattenFunction.example = {{"options", {{"dim", -1}, {"sizes", {3, 2}}}},
                               {"input", {2, 6}}};
  r.add(std::move(unflattenFunction));

  // Containers only structure the module tree (state_dict names); graph
  // nodes call their leaves.
  for (const char *name : {"Sequential", "ModuleList", "ModuleDict", "Module"})
    r.add(Entry{name, EntryKind::Container, "(graph structure)"});
  // torch.nn.utils' flat views of the parameters: the runtime's C API.
  r.add(Entry{"parameters_to_vector", EntryKind::Runtime,
              "kiln_model_parameters_to_vector (C API; <prefix>_parameters_to_vector)"});
  r.add(Entry{"vector_to_parameters", EntryKind::Runtime,
              "kiln_model_vector_to_parameters (C API; <prefix>_vector_to_parameters)"});
  // torch's DDP is a compile flag and a communicator, not a module: the
  // gradient all-reduce is compiled into the train step (docs/distributed.md,
  // the mpirun ctests Distributed.*). nn.DataParallel (one process, several
  // GPUs) has no entry until it has run on GPUs.
  r.add(Entry{"nn.parallel.DistributedDataParallel", EntryKind::Runtime,
              "kilnc --data-parallel and a kiln_comm attached to the instance (kiln/comm.h): "
              "gradients averaged over the processes in the train step, over MPI (NCCL "
              "between GPUs: built, not yet run on a GPU)"});
  // torch.nn.utils.skip_init(module_cls, ...): a module node's field
  // `skip_init: true` (ModelImporter.cpp), like `reparametrize` a field of
  // the node: its tensors get #nn.init<empty>, which the runtime's
  // init_parameters leaves as they are.
  r.add(Entry{"skip_init", EntryKind::Reparametrization,
              "(a module node's skip_init: its parameters and buffers #nn.init<empty>, left as "
              "they are by kiln_model_init_parameters)"});
  // A module's own parameters: the node's `parameters`, read by the
  // graph's `parameter` nodes (ModuleParameters.cpp).
  r.add(Entry{"Parameter", EntryKind::Container,
              "(a module node's `parameters`, read by a graph `parameter` node)"});
  for (const char *name : {"ParameterList", "ParameterDict"})
    r.add(Entry{name, EntryKind::Container,
                "(graph structure: a module node with `parameters` \"0\", \"1\", ... or "
                "its keys)"});
}

} // namespace kiln::import
