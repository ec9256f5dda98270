// Parameter groups (torch's optimizer.param_groups) as nn-build-train-step
// sees them: which optimizer settings update which parameter, and the
// layout of the optimizer-state arguments that follows.
//
// `nn.optimizer` is either one dictionary (type + hyper-parameters: one
// group of every parameter) or that dictionary with `param_groups`, an
// array of dictionaries, each a group's complete hyper-parameters (lr
// included) and `params`, the names (nn.name) of its parameters. As in
// torch, a parameter is in at most one group, and a parameter in no group
// is not updated (it keeps its value and has no optimizer state).
#ifndef KILN_PASSES_PARAMGROUPS_H
#define KILN_PASSES_PARAMGROUPS_H

#include "passes/Optimizers.h"

#include "mlir/Support/LogicalResult.h"

namespace kiln {

struct ParamGroup {
  std::unique_ptr<Optimizer> optimizer;
  llvm::SmallVector<OptimizerStateSpec> specs; // optimizer->stateSpecs()
  double lr = 0;                                // the initial lr
  /// With cycle_momentum: the initial value of the cycled momentum (or
  /// beta1), a runtime argument like the lr.
  std::optional<double> momentum;
};

/// One optimizer-state argument: state `spec` (an index into its group's
/// specs) of parameter `param` (an index into the parameters).
struct StateSlot {
  unsigned param, spec;
};

struct OptimizerPlan {
  llvm::SmallVector<ParamGroup> groups;
  /// groupOf[k]: the group of parameter k, or -1 when no group has it.
  llvm::SmallVector<int> groupOf;
  /// The state arguments in order: by state name in order of first
  /// appearance over the groups, then by parameter (for one group, all
  /// parameters' first state, then all their second, ...).
  llvm::SmallVector<StateSlot> states;
  /// slotOf[k][s]: the position in `states` of parameter k's state s.
  llvm::SmallVector<llvm::SmallVector<unsigned>> slotOf;

  /// Whether parameter k's update is lazy: it steps only on the rows its
  /// sparse gradient has (SparseAdam), so it needs those rows.
  bool updatesLazily(size_t k) const {
    return groupOf[k] >= 0 && groups[groupOf[k]].optimizer->needsSparseRows();
  }
};

/// The plan for `dict` (the module's nn.optimizer) over parameters named
/// `paramNames`, in argument order. Emits on `module` and fails on an
/// unknown optimizer, bad hyper-parameters, a malformed group, a name that
/// is not a parameter, or a parameter in two groups.
/// `withoutGradient[k]` (when given): parameter k has no gradient (torch's
/// grad None): it is in no group, as torch's optimizers skip it.
mlir::FailureOr<OptimizerPlan> planOptimizer(mlir::ModuleOp module, mlir::DictionaryAttr dict,
                                             llvm::ArrayRef<std::string> paramNames,
                                             llvm::ArrayRef<bool> withoutGradient = {});

} // namespace kiln

#endif // KILN_PASSES_PARAMGROUPS_H
