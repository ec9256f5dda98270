// nn-autodiff: reverse-mode differentiation as a graph transformation.
//
// Algorithm, for a function F marked `nn.differentiate` (one block, first
// result a scalar f32 loss):
//   1. Clone F into F_grad (same arguments).
//   2. Activity: walking forward, a value is active when it is a
//      differentiated argument or a float result of an op with an active
//      operand. Only active operands ever get a gradient, so e.g. the input
//      gradient of a model's first layer is never computed.
//   3. Seed adjoint(loss) = 1 and visit the ops in reverse order. An op with
//      no adjoint on any result does not reach the loss and is skipped; an
//      op that reaches the loss and has active operands must implement
//      GradientOpInterface (error otherwise). Its operand gradients are
//      added (nn.add) to what other uses already contributed (fan-out).
//   4. Return the loss followed by the adjoint of every differentiated
//      argument (zeros when the loss does not depend on it).
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

Value zerosLike(OpBuilder &b, Location loc, Type type) {
  auto t = cast<RankedTensorType>(type);
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), 0.0)));
}

struct AutodiffPass : kiln::impl::AutodiffBase<AutodiffPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<func::FuncOp> targets;
    for (auto f : getOperation().getOps<func::FuncOp>())
      if (f->hasAttr("nn.differentiate"))
        targets.push_back(f);
    for (func::FuncOp f : targets)
      if (failed(differentiate(f)))
        return signalPassFailure();
  }

  bool isDifferentiatedArgument(func::FuncOp f, BlockArgument arg) {
    auto role = f.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "nn.role");
    if (!role || !isFloatTensor(arg))
      return false;
    return role.getValue() == "param" ||
           (wrtInputs && role.getValue() == "input");
  }

  LogicalResult differentiate(func::FuncOp forward) {
    if (!forward.getBody().hasOneBlock())
      return forward.emitError("nn-autodiff: expected a single-block function");
    auto resultTypes = forward.getFunctionType().getResults();
    auto lossType = resultTypes.empty()
                        ? RankedTensorType()
                        : dyn_cast<RankedTensorType>(resultTypes[0]);
    if (!lossType || lossType.getRank() != 0 ||
        !isa<FloatType>(lossType.getElementType()))
      return forward.emitError("nn-autodiff: the first result of '")
             << forward.getSymName()
             << "' must be a scalar float loss (a loss with reduction "
                "'none' cannot be trained)";

    OpBuilder moduleBuilder(forward);
    moduleBuilder.setInsertionPointAfter(forward);
    auto grad = cast<func::FuncOp>(moduleBuilder.clone(*forward));
    grad.setSymName((forward.getSymName() + "_grad").str());
    grad->removeAttr("nn.differentiate");
    grad->removeAttr("nn.loss");

    Block &body = grad.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value loss = ret.getOperand(0);

    SmallVector<BlockArgument> wrt;
    DenseSet<Value> active;
    for (BlockArgument arg : body.getArguments())
      if (isDifferentiatedArgument(grad, arg)) {
        wrt.push_back(arg);
        active.insert(arg);
      }

    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator()) {
      ops.push_back(&op);
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return active.contains(v); }))
        for (Value r : op.getResults())
          if (isFloatTensor(r))
            active.insert(r);
    }

    OpBuilder b(ret);
    DenseMap<Value, Value> adjoint;
    auto accumulate = [&](Value v, Value g) {
      auto [it, inserted] = adjoint.try_emplace(v, g);
      if (!inserted)
        it->second = b.create<AddOp>(g.getLoc(), it->second, g);
    };
    adjoint[loss] = b.create<arith::ConstantOp>(
        loss.getLoc(),
        DenseElementsAttr::get(lossType,
                               b.getFloatAttr(lossType.getElementType(), 1.0)));

    for (Operation *op : llvm::reverse(ops)) {
      SmallVector<Value> resultGrads;
      bool reachesLoss = false;
      for (Value r : op->getResults()) {
        resultGrads.push_back(adjoint.lookup(r));
        reachesLoss |= static_cast<bool>(resultGrads.back());
      }
      if (!reachesLoss)
        continue;
      auto rule = dyn_cast<GradientOpInterface>(op);
      SmallVector<bool> needGrad;
      for (auto [i, operand] : llvm::enumerate(op->getOperands()))
        needGrad.push_back(active.contains(operand) && isFloatTensor(operand) &&
                           (!rule || rule.isDifferentiableOperand(i)));
      if (llvm::none_of(needGrad, [](bool n) { return n; }))
        continue;
      if (!rule)
        return op->emitError("nn-autodiff: '")
               << op->getName() << "' has no gradient rule, but '"
               << forward.getSymName() << "' is differentiated through it";
      SmallVector<Value> operandGrads;
      if (failed(rule.buildGradient(b, resultGrads, needGrad, operandGrads)))
        return failure();
      for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
        if (!needGrad[i])
          continue;
        if (i >= operandGrads.size() || !operandGrads[i])
          return op->emitError("nn-autodiff: gradient rule of '")
                 << op->getName() << "' produced no gradient for operand " << i;
        if (operandGrads[i].getType() != operand.getType())
          return op->emitError("nn-autodiff: gradient rule of '")
                 << op->getName() << "' produced " << operandGrads[i].getType()
                 << " for operand " << i << " of type " << operand.getType();
        accumulate(operand, operandGrads[i]);
      }
    }

    SmallVector<Value> results{loss};
    SmallVector<Type> types{loss.getType()};
    for (BlockArgument arg : wrt) {
      Value g = adjoint.lookup(arg);
      results.push_back(g ? g : zerosLike(b, grad.getLoc(), arg.getType()));
      types.push_back(arg.getType());
    }
    b.create<func::ReturnOp>(ret.getLoc(), results);
    ret.erase();
    grad.setFunctionType(
        FunctionType::get(&getContext(), body.getArgumentTypes(), types));
    grad.removeResAttrsAttr();
    return success();
  }
};

} // namespace
