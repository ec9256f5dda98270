#include "codegen/InPlaceUpdates.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <algorithm>

using namespace mlir;

/// Whether the runtime may refuse a call of `k` after it ran.
static bool refusable(const kiln::ModelInterface &model, const kiln::KernelSpec &k) {
  for (const kiln::KernelArg &a : k.args)
    if (a.tensor >= 0 && (model.tensors[a.tensor].role == KILN_ROLE_CHECK ||
                          model.tensors[a.tensor].role == KILN_ROLE_GRAD_NORM))
      return true;
  return false;
}

void kiln::planInPlaceUpdates(ModelInterface &model) {
  for (KernelSpec &k : model.kernels) {
    if (refusable(model, k))
      continue;
    std::vector<KernelArg> kept(k.args.begin(), k.args.begin() + k.numArguments);
    for (size_t i = k.numArguments; i < k.args.size(); ++i) {
      const KernelArg &a = k.args[i];
      unsigned read = 0;
      while (read < k.numArguments &&
             !(kept[read].kind == KILN_ARG_TENSOR && kept[read].tensor == a.tensor))
        ++read;
      if (a.kind != KILN_ARG_TENSOR_NEXT || read == k.numArguments) {
        kept.push_back(a);
        continue;
      }
      kept[read].kind = KILN_ARG_TENSOR_UPDATE;
      k.inPlace.emplace_back(static_cast<unsigned>(i - k.numArguments), read);
    }
    k.args = std::move(kept);
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
  }
  return success();
}
