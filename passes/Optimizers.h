// The optimizer interface nn-build-train-step is generic over, the way
// nn-autodiff is generic over GradientOpInterface. An optimizer says which
// state tensors each parameter has (torch's state names and initial values)
// and builds one parameter's update from nn ops or a fused update op.
#ifndef KILN_PASSES_OPTIMIZERS_H
#define KILN_PASSES_OPTIMIZERS_H

#include "ir/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <optional>
#include <string>

namespace kiln {

/// One state tensor of a parameter, `<param>.<name>`: shaped like it, or a
/// 0-d f32 tensor (`scalar`).
struct OptimizerStateSpec {
  std::string name; // torch's state key: "momentum_buffer", "exp_avg", ...
  nn::InitKind init = nn::InitKind::zeros; // most of torch's states start at zero
  double value = 0; // the constant of InitKind::constant
  bool scalar = false;
};

class Optimizer {
public:
  virtual ~Optimizer() = default;
  /// Checks the hyper-parameters (emitting on `module`).
  virtual mlir::LogicalResult verify(mlir::ModuleOp module) const = 0;
  /// The state tensors every parameter carries, in argument order.
  virtual llvm::SmallVector<OptimizerStateSpec> stateSpecs() const = 0;
  /// With cycle_momentum (the `nn.optimizer` key a CyclicLR / OneCycleLR
  /// scheduler that cycles momentum sets): the initial value of the
  /// hyper-parameter it cycles (SGD's and RMSprop's momentum, the Adam
  /// family's beta1), which then is a runtime scalar; nullopt otherwise.
  virtual std::optional<double> cycledMomentum() const = 0;
  /// "" when a parameter whose gradient is sparse in torch (the weight of
  /// an Embedding or EmbeddingBag with sparse=True) may use this optimizer,
  /// else torch's complaint. Where "" and !needsSparseRows(), torch's
  /// sparse update equals the dense one, which Kiln then builds.
  virtual std::string sparseGradientProblem() const = 0;
  /// Whether the update takes a sparse gradient's rows and refuses dense
  /// gradients, as torch's SparseAdam.
  virtual bool needsSparseRows() const { return false; }
  /// The new parameter followed by the new state tensors (stateSpecs()
  /// order). `lr` is an f32 scalar tensor, `step` the i64 count of
  /// completed steps, `momentum` the f32 scalar of the cycled momentum
  /// (null unless cycledMomentum()), `rows` > 0 where the sparse gradient
  /// has entries (broadcastable to the param; null unless needsSparseRows()).
  virtual llvm::SmallVector<mlir::Value>
  buildUpdate(mlir::OpBuilder &b, mlir::Location loc, mlir::Value param,
              mlir::Value grad, mlir::ValueRange states, mlir::Value lr,
              mlir::Value step, mlir::Value momentum, mlir::Value rows) const = 0;
};

/// The optimizer that the `nn.optimizer` dictionary describes (`type` plus
/// hyper-parameters). Emits an error on `module` and returns null when the
/// type is unknown or a hyper-parameter has the wrong kind of value.
std::unique_ptr<Optimizer> createOptimizer(mlir::ModuleOp module,
                                           mlir::DictionaryAttr dict);

} // namespace kiln

#endif // KILN_PASSES_OPTIMIZERS_H
