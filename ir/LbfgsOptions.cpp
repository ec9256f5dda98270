#include "ir/LbfgsOptions.h"

#include "ir/FormatNumber.h"

#include <cmath>

using namespace mlir;

namespace kiln::nn {

bool isLbfgs(DictionaryAttr optimizer) {
  auto type = optimizer ? optimizer.getAs<StringAttr>("type") : StringAttr();
  return type && type.getValue() == "LBFGS";
}

FailureOr<LbfgsOptions> readLbfgsOptions(ModuleOp module, DictionaryAttr dict) {
  LbfgsOptions o;
  auto error = [&]() { return module.emitError("nn.optimizer: LBFGS: "); };
  for (StringRef refused : {"param_groups", "cycle_momentum"})
    if (dict.get(refused))
      return error() << (refused == "param_groups"
                             ? "LBFGS doesn't support per-parameter options (parameter groups)"
                             : "cycle_momentum is not supported: LBFGS has no momentum"),
             failure();
  if (module->hasAttr("nn.clip_grad_norm") || module->hasAttr("nn.clip_grad_value"))
    return error() << "gradient clipping is not supported: Kiln clips between the "
                      "backward and a compiled update, and LBFGS's step re-evaluates the "
                      "gradients itself",
           failure();
  for (NamedAttribute a : dict) {
    StringRef key = a.getName().getValue();
    if (key == "type")
      continue;
    if (key == "line_search_fn") {
      auto s = dyn_cast<StringAttr>(a.getValue());
      if (!s || s.getValue() != "strong_wolfe")
        return error() << "only 'strong_wolfe' is supported as line_search_fn", failure();
      o.strongWolfe = true;
      continue;
    }
    bool isInt = key == "max_iter" || key == "max_eval" || key == "history_size";
    if (isInt) {
      auto i = dyn_cast<IntegerAttr>(a.getValue());
      int64_t lo = key == "history_size" ? 1 : 0;
      if (!i || i.getInt() < lo || i.getInt() >= (int64_t(1) << 31))
        return error() << "'" << key << "' must be an integer in [" << lo << ", 2^31)", failure();
      (key == "max_iter" ? o.maxIter : key == "max_eval" ? o.maxEval : o.historySize) = i.getInt();
      continue;
    }
    auto f = dyn_cast<FloatAttr>(a.getValue());
    if (!f || (key != "lr" && key != "tolerance_grad" && key != "tolerance_change"))
      return error() << "unknown or malformed option '" << key << "'", failure();
    double v = f.getValueAsDouble();
    if (key == "lr") {
      if (!(v >= 0) || !std::isfinite(v))
        return error() << "Invalid learning rate: " << formatExact(v), failure();
      o.lr = v;
    } else if (std::isnan(v)) {
      return error() << "'" << key << "' is NaN", failure();
    } else {
      (key == "tolerance_grad" ? o.toleranceGrad : o.toleranceChange) = v;
    }
  }
  if (!dict.get("max_eval"))
    o.maxEval = o.maxIter * 5 / 4;
  return o;
}

} // namespace kiln::nn
