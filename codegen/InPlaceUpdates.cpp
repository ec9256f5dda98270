#include "codegen/InPlaceUpdates.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

void kiln::planInPlaceUpdates(ModelInterface &model) {
  for (KernelSpec &k : model.kernels) {
    std::vector<KernelArg> kept(k.args.begin(), k.args.begin() + k.numArguments);
    std::vector<std::pair<unsigned, kiln_tensor_role>> guards;
    for (size_t i = k.numArguments; i < k.args.size(); ++i) {
      const KernelArg &a = k.args[i];
      const unsigned result = static_cast<unsigned>(i - k.numArguments);
      if (a.kind == KILN_ARG_TENSOR && a.tensor >= 0 &&
          (model.tensors[a.tensor].role == KILN_ROLE_CHECK ||
           model.tensors[a.tensor].role == KILN_ROLE_GRAD_NORM))
        guards.emplace_back(result, model.tensors[a.tensor].role);
      unsigned read = 0;
      while (read < k.numArguments &&
             !(kept[read].kind == KILN_ARG_TENSOR && kept[read].tensor == a.tensor))
        ++read;
      if (a.kind != KILN_ARG_TENSOR_NEXT || read == k.numArguments) {
        kept.push_back(a);
        continue;
      }
      kept[read].kind = KILN_ARG_TENSOR_UPDATE;
      k.inPlace.emplace_back(result, read);
    }
    k.args = std::move(kept);
    if (!k.inPlace.empty())
      k.guards = std::move(guards);
  }
}

LogicalResult kiln::markInPlaceResults(ModuleOp module, const ModelInterface &model) {
  for (const KernelSpec &k : model.kernels) {
    if (k.inPlace.empty())
      continue;
    auto f = module.lookupSymbol<func::FuncOp>(k.symbol);
    if (!f)
      return module.emitError("no kernel function '") << k.symbol << "'", failure();
    // Arguments, then the results not written in place, then the workspace.
    unsigned results = k.args.size() - k.numArguments - 1 + k.inPlace.size();
    if (f.getNumArguments() != k.numArguments || f.getNumResults() != results)
      return f.emitError("does not match its kernel table entry"), failure();
    Builder b(module.getContext());
    for (auto [result, argument] : k.inPlace) {
      if (f.getResultTypes()[result] != f.getArgumentTypes()[argument])
        return f.emitError("result ") << result << " is the next value of argument "
                                      << argument << " but has another type",
               failure();
      f.setResultAttr(result, "kiln.in_place", b.getI64IntegerAttr(argument));
    }
    for (auto [result, role] : k.guards)
      f.setResultAttr(result, "kiln.guard",
                      b.getStringAttr(role == KILN_ROLE_CHECK ? "check" : "norm"));
  }
  return success();
}
