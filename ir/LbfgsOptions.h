// torch.optim.LBFGS as the `nn.optimizer` module attribute describes it. No
// compiled update implements it: its step calls the loss and gradients (the
// closure) a data-dependent number of times, so the runtime runs torch's
// algorithm around the model's gradients kernel (KILN_OPTIMIZER_LBFGS,
// runtime/lib/lbfgs.cpp). nn-build-train-step validates the attribute and
// builds no train_step; the model interface (codegen/ModelInterface.cpp)
// declares the runtime's state tensors and hands it these options.
#ifndef KILN_IR_LBFGSOPTIONS_H
#define KILN_IR_LBFGSOPTIONS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <cstdint>

namespace kiln::nn {

struct LbfgsOptions {
  double lr = 1;
  int64_t maxIter = 20, maxEval = 25, historySize = 100;
  double toleranceGrad = 1e-7, toleranceChange = 1e-9;
  bool strongWolfe = false;

  /// kiln_model_metadata.optimizer_args (runtime.h, KILN_OPTIMIZER_ARGS).
  std::array<double, 6> metadataArgs() const {
    return {static_cast<double>(maxIter), static_cast<double>(maxEval), toleranceGrad,
            toleranceChange, static_cast<double>(historySize), strongWolfe ? 1.0 : 0.0};
  }
};

/// Whether `nn.optimizer` names LBFGS.
bool isLbfgs(mlir::DictionaryAttr optimizer);

/// The options of an LBFGS `nn.optimizer` {type = "LBFGS", lr, max_iter,
/// max_eval (absent: torch's max_iter * 5 // 4), tolerance_grad,
/// tolerance_change, history_size, line_search_fn = "strong_wolfe" (absent:
/// none)}; absent keys take torch's defaults. Emits an error on `module`
/// and fails for a malformed or out-of-range value, and for what LBFGS
/// cannot combine with: parameter groups (torch refuses them), a scheduler
/// that cycles momentum (LBFGS has none), gradient clipping (Kiln clips
/// between backward and a compiled update; LBFGS's closure has no such
/// point).
mlir::FailureOr<LbfgsOptions> readLbfgsOptions(mlir::ModuleOp module,
                                               mlir::DictionaryAttr optimizer);

} // namespace kiln::nn

#endif // KILN_IR_LBFGSOPTIONS_H
