// The optimizer family (NNOptimizerOps.td): verifiers, and the SGD
// constraints shared with the importer and nn-build-train-step.
// nn.optimizer_update's per-optimizer rules (hyper-parameters, states) are
// checked where they live, in passes/optim/ (OptimizerRules.h).
#include "ir/NNBuilders.h"

using namespace mlir;
using namespace kiln::nn;

LogicalResult SgdUpdateOp::verify() {
  auto paramType = getParam().getType();
  if (getGrad().getType() != paramType)
    return emitOpError("grad type ")
           << getGrad().getType() << " differs from param type " << paramType;
  double momentum = getMomentum().convertToDouble();
  bool hasBuffer = static_cast<bool>(getMomentumBuffer());
  bool cycled = static_cast<bool>(getCycledMomentum());
  if ((momentum != 0.0f || cycled) != hasBuffer)
    return emitOpError("a momentum buffer is required iff momentum != 0 or the momentum is "
                       "cycled (momentum = ")
           << momentum << ")";
  if (hasBuffer && getMomentumBuffer().getType() != paramType)
    return emitOpError("momentum buffer type differs from param type");
  if (static_cast<bool>(getNewMomentumBuffer()) != hasBuffer)
    return emitOpError("new_momentum_buffer result must match the buffer "
                       "operand");
  if (getNewParam().getType() != paramType ||
      (hasBuffer && getNewMomentumBuffer().getType() != paramType))
    return emitOpError("results must have the param type ") << paramType;
  std::string problem =
      checkSgdOptions(momentum, getDampening().convertToDouble(),
                      getWeightDecay().convertToDouble(), getNesterov());
  if (!problem.empty())
    return emitOpError(problem);
  return success();
}

std::string kiln::nn::checkSgdOptions(double momentum, double dampening,
                                      double weightDecay, bool nesterov) {
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    return "nesterov requires momentum > 0 and zero dampening";
  if (momentum < 0.0 || weightDecay < 0.0)
    return "momentum and weight_decay must be >= 0";
  return "";
}

LogicalResult OptimizerUpdateOp::verify() {
  auto paramType = getParam().getType();
  if (getOptimizer().empty())
    return emitOpError("needs the optimizer's name");
  if (getGrad().getType() != paramType)
    return emitOpError("grad type ")
           << getGrad().getType() << " differs from param type " << paramType;
  auto scalarType = RankedTensorType::get({}, Float32Type::get(getContext()));
  for (auto [i, state] : llvm::enumerate(getStates()))
    if (state.getType() != paramType && state.getType() != scalarType)
      return emitOpError("state #") << i << " has type " << state.getType()
                                    << ", neither the param type " << paramType
                                    << " nor " << scalarType;
  if (getNewStates().size() != getStates().size())
    return emitOpError("expected one new state per state (")
           << getStates().size() << "), got " << getNewStates().size();
  if (getNewParam().getType() != paramType)
    return emitOpError("new param must have the param type ") << paramType;
  for (auto [i, state] : llvm::enumerate(getStates()))
    if (getNewStates()[i].getType() != state.getType())
      return emitOpError("new state #") << i << " must have its state's type "
                                        << state.getType();
  if (Value rows = getRows())
    if (!isBroadcastableTo(cast<RankedTensorType>(rows.getType()).getShape(),
                           paramType.getShape()))
      return emitOpError("rows type ") << rows.getType()
                                       << " does not broadcast to the param type " << paramType;
  return success();
}
