// The torch.optim optimizers that nn.optimizer_update implements, one rule
// per optimizer, looked up by torch's class name. A rule states what torch
// keeps per parameter (its state tensors), which hyper-parameters it takes
// and checks, and the update itself: scalars computed once per step from
// `lr` and `step` (in f64, as torch computes them in Python), then one
// elementwise body over (param, grad, states...) in f32, operation for
// operation as torch.optim's single-tensor code (1.13). The lowering fuses
// the body into one loop per parameter; nn-build-train-step asks the rule
// for the states. A new optimizer is one file in passes/optim/ and one line
// in OptimizerRules.cpp.
#ifndef KILN_PASSES_OPTIMIZERRULES_H
#define KILN_PASSES_OPTIMIZERRULES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::optim {

/// The hyper-parameters of one optimizer (the `nn.optimizer` dictionary,
/// or nn.optimizer_update's `hyper`): numbers as written (f64), flags,
/// pairs (betas). Missing keys take the rule's default (torch's).
class Hyper {
public:
  explicit Hyper(mlir::DictionaryAttr dict) : dict(dict) {}
  double number(llvm::StringRef key, double dflt) const;
  bool flag(llvm::StringRef key, bool dflt) const;
  /// Element `i` of a pair such as betas=(0.9, 0.999).
  double pairElement(llvm::StringRef key, unsigned i, double dflt) const;
  /// The first key whose value has the wrong kind, or "".
  std::string malformed() const;

private:
  mlir::DictionaryAttr dict;
};

/// Arithmetic for rule bodies and scalar prologues: thin, named wrappers
/// over arith/math so that a rule reads like torch's Python.
struct Arith {
  mlir::OpBuilder &b;
  mlir::Location loc;

  mlir::Value f32(double v);  // the constant rounded to f32, as torch passes
                              // a Python float to a float32 kernel
  mlir::Value f64(double v);
  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value sub(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  mlir::Value div(mlir::Value x, mlir::Value y);
  mlir::Value neg(mlir::Value x);
  mlir::Value sqrt(mlir::Value x);
  mlir::Value abs(mlir::Value x);
  mlir::Value pow(mlir::Value x, mlir::Value y);
  /// NaN-propagating maximum / minimum (torch.maximum, amax, clamp).
  mlir::Value max(mlir::Value x, mlir::Value y);
  mlir::Value min(mlir::Value x, mlir::Value y);
  /// torch.sign: 1, -1 or 0 (0 for NaN too).
  mlir::Value sign(mlir::Value x);
  mlir::Value select(mlir::Value cond, mlir::Value t, mlir::Value f);
  mlir::Value gt(mlir::Value x, mlir::Value y); // ordered >
  mlir::Value lt(mlir::Value x, mlir::Value y); // ordered <
  mlir::Value eq(mlir::Value x, mlir::Value y); // ordered ==
  mlir::Value ne(mlir::Value x, mlir::Value y); // unordered !=
  mlir::Value toF32(mlir::Value f64Value);      // round to nearest
  mlir::Value toF64(mlir::Value f32Value);
};

/// The gradient most optimizers start from, as torch.optim writes it:
/// grad = maximize ? -grad : grad; grad = grad + weight_decay * param
/// (no term when weight_decay == 0).
mlir::Value decayedGrad(Arith &a, mlir::Value param, mlir::Value grad,
                        bool maximize, double weightDecay);

/// One optimizer step's elementwise body: (param, grad, states...) ->
/// (new param, new states...), all f32.
using UpdateBody =
    std::function<llvm::SmallVector<mlir::Value>(Arith &, mlir::ValueRange)>;

/// What the scalar prologue sees: `lr` (f64, from the f32 argument), `step`
/// (f64: the number of completed steps, so torch's step after its
/// increment is step + 1), `firstStep` (i1: step == 0) and, when a
/// scheduler cycles it, `momentum` (f64, from the f32 argument: the value
/// of the hyper-parameter the rule's cycledMomentum names; null otherwise).
struct StepScalars {
  mlir::Value lr, step, firstStep, momentum;
  /// The rule's scalar states before this step (f32, scalarStates order);
  /// the prologue appends their new values to *newScalarStates.
  llvm::SmallVector<mlir::Value> scalarStates;
  llvm::SmallVector<mlir::Value> *newScalarStates = nullptr;
};

/// A state torch keeps per parameter as a 0-d float32 tensor that is not
/// a function of the step count (NAdam's mu_product: a product over every
/// past step's beta1, which a cycling scheduler changes).
struct ScalarState {
  std::string name;
  double initial; // torch's value before the first step
};

struct OptimizerRule {
  std::string name; // torch.optim class name
  /// torch's state keys that are tensors shaped like the parameter, in
  /// order (`step` and the scalar states that depend on the step count
  /// alone, ASGD's eta and mu, are computed from it).
  std::function<std::vector<std::string>(const Hyper &)> states;
  /// torch's other 0-d states, kept as f32 scalars after the tensor states
  /// (unset: none). The prologue reads and updates them.
  std::function<std::vector<ScalarState>(const Hyper &)> scalarStates;
  /// "" when the hyper-parameters are valid, else torch's complaint.
  std::function<std::string(const Hyper &)> check;
  /// Emits the per-step scalars (outside the elementwise loop) and returns
  /// the body that uses them.
  std::function<UpdateBody(Arith &, const Hyper &, const StepScalars &)> prepare;
  /// Set where torch's CyclicLR / OneCycleLR can cycle a hyper-parameter
  /// (`momentum`, or beta1 of `betas`): its value in the hyper-parameters,
  /// the initial value of the runtime scalar that replaces it.
  std::function<double(const Hyper &)> cycledMomentum;
  /// Set where torch's optimizer accepts a sparse gradient (an
  /// Embedding(sparse=True) weight's) and its update then equals the dense
  /// one: "" when it does with these hyper-parameters, else torch's
  /// complaint. Unset: torch's "<name> does not support sparse gradients".
  std::function<std::string(const Hyper &)> sparseGradients;
  /// An optimizer of sparse gradients only (SparseAdam): nn.optimizer_update
  /// then takes `rows` (> 0 where the sparse gradient has an entry), the
  /// body's results apply there only, and a dense gradient is refused.
  bool lazyRows = false;
};

/// Whether `rule` may update a parameter whose gradient is sparse: "" or
/// torch's complaint (OptimizerRule::sparseGradients).
std::string sparseGradientProblem(const OptimizerRule &rule, const Hyper &h);

/// Every rule by name.
const std::map<std::string, OptimizerRule> &rules();
const OptimizerRule *lookup(llvm::StringRef name);

// One registration function per file of passes/optim/.
void registerAdamFamily(std::map<std::string, OptimizerRule> &);
void registerAdaptiveFamily(std::map<std::string, OptimizerRule> &);
void registerRpropAndAsgd(std::map<std::string, OptimizerRule> &);

} // namespace kiln::optim

#endif // KILN_PASSES_OPTIMIZERRULES_H
