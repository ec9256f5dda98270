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
//      argument (zeros when the loss does not depend on it), then F's other
//      results as they are (next buffer values: not differentiated).
#include "ir/ArgSignature.h"
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

/// The reverse sweep over one cloned function, step by step (see the
/// algorithm above).
class Differentiator {
public:
  Differentiator(func::FuncOp forward, func::FuncOp grad)
      : forward(forward), grad(grad), body(grad.getBody().front()),
        ret(cast<func::ReturnOp>(body.getTerminator())), b(ret) {}

  /// Steps 2-4 for the differentiated arguments `wrt`.
  LogicalResult run(ArrayRef<BlockArgument> wrt) {
    SmallVector<Operation *> ops = markActive(wrt);
    Value loss = ret.getOperand(0);
    auto lossType = cast<RankedTensorType>(loss.getType());
    adjoint[loss] = b.create<arith::ConstantOp>(
        loss.getLoc(),
        DenseElementsAttr::get(lossType,
                               b.getFloatAttr(lossType.getElementType(), 1.0)));
    for (Operation *op : llvm::reverse(ops))
      if (failed(propagate(op)))
        return failure();
    returnGradients(loss, wrt);
    return success();
  }

private:
  /// Step 2: the ops in order, and every value a differentiated argument
  /// flows into.
  SmallVector<Operation *> markActive(ArrayRef<BlockArgument> wrt) {
    // A frozen parameter (nn.frozen: torch's requires_grad False) is
    // returned a gradient of zeros marked nn.no_gradient, and nothing is
    // differentiated for its sake.
    for (BlockArgument arg : wrt)
      if (!grad.getArgAttr(arg.getArgNumber(), "nn.frozen"))
        active.insert(arg);
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator()) {
      ops.push_back(&op);
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return active.contains(v); }))
        for (Value r : op.getResults())
          if (isFloatTensor(r))
            active.insert(r);
    }
    return ops;
  }

  /// Step 3 for one op: its operand gradients, added to the adjoints.
  LogicalResult propagate(Operation *op) {
    SmallVector<Value> resultGrads;
    for (Value r : op->getResults())
      resultGrads.push_back(adjoint.lookup(r));
    if (llvm::none_of(resultGrads, [](Value g) { return bool(g); }))
      return success(); // does not reach the loss
    auto rule = dyn_cast<GradientOpInterface>(op);
    SmallVector<bool> needGrad;
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      needGrad.push_back(active.contains(operand) && isFloatTensor(operand) &&
                         (!rule || rule.isDifferentiableOperand(i)));
    if (llvm::none_of(needGrad, [](bool n) { return n; }))
      return success();
    if (!rule)
      return op->emitError("nn-autodiff: '")
             << op->getName() << "' has no gradient rule, but '"
             << forward.getSymName() << "' is differentiated through it";
    SmallVector<Value> operandGrads;
    if (failed(rule.buildGradient(b, resultGrads, needGrad, operandGrads)))
      return failure();
    return accumulateAll(op, needGrad, operandGrads);
  }

  /// Checks what a rule built and adds it to the operands' adjoints
  /// (fan-out: several uses sum their contributions).
  LogicalResult accumulateAll(Operation *op, ArrayRef<bool> needGrad,
                              ArrayRef<Value> operandGrads) {
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      if (!needGrad[i])
        continue;
      if (i >= operandGrads.size() || !operandGrads[i])
        return op->emitError("nn-autodiff: gradient rule of '")
               << op->getName() << "' produced no gradient for operand " << i;
      Value g = operandGrads[i];
      if (g.getType() != operand.getType())
        return op->emitError("nn-autodiff: gradient rule of '")
               << op->getName() << "' produced " << g.getType()
               << " for operand " << i << " of type " << operand.getType();
      auto [it, inserted] = adjoint.try_emplace(operand, g);
      if (!inserted)
        it->second = b.create<AddOp>(g.getLoc(), it->second, g);
    }
    return success();
  }

  /// Step 4: return the loss, one gradient per differentiated argument,
  /// then F's other results unchanged (a train-mode forward's next buffer
  /// values, with their result attributes).
  void returnGradients(Value loss, ArrayRef<BlockArgument> wrt) {
    SmallVector<Value> results{loss};
    SmallVector<unsigned> unreached; // result indices
    for (BlockArgument arg : wrt) {
      Value g = adjoint.lookup(arg);
      if (!g)
        unreached.push_back(results.size());
      results.push_back(g ? g : zerosLike(b, grad.getLoc(), arg.getType()));
    }
    SmallVector<DictionaryAttr> extraAttrs;
    for (unsigned i = 1; i < ret.getNumOperands(); ++i) {
      results.push_back(ret.getOperand(i));
      extraAttrs.push_back(grad.getResultAttrDict(i));
    }
    b.create<func::ReturnOp>(ret.getLoc(), results);
    ret.erase();
    grad.setFunctionType(FunctionType::get(grad.getContext(), body.getArgumentTypes(),
                                           ValueRange(results).getTypes()));
    grad.removeResAttrsAttr();
    unsigned firstExtra = results.size() - extraAttrs.size();
    for (auto [k, attrs] : llvm::enumerate(extraAttrs))
      if (attrs)
        grad.setResultAttrs(firstExtra + k, attrs);
    // No differentiable path from the argument to the loss: torch's grad
    // is None there, and its optimizers skip the parameter (no weight
    // decay, no state); nn-build-train-step does the same.
    for (unsigned r : unreached)
      grad.setResultAttr(r, kNoGradientAttr, b.getUnitAttr());
  }

  func::FuncOp forward, grad;
  Block &body;
  func::ReturnOp ret;
  OpBuilder b;
  DenseSet<Value> active;
  DenseMap<Value, Value> adjoint;
};

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
    std::optional<TensorRole> role = roleOf(f, arg.getArgNumber());
    if (!role || !isFloatTensor(arg))
      return false;
    return *role == TensorRole::param || (wrtInputs && *role == TensorRole::input);
  }

  /// Step 1 (checks and the clone), then the sweep.
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

    SmallVector<BlockArgument> wrt;
    for (BlockArgument arg : grad.getBody().front().getArguments())
      if (isDifferentiatedArgument(grad, arg))
        wrt.push_back(arg);
    return Differentiator(forward, grad).run(wrt);
  }
};

} // namespace
