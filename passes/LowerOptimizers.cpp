// Lowering of optimizer update ops to one fused elementwise linalg.generic
// per parameter (param, grad and state read once, written once).
#include "passes/LowerToLinalg.h"
#include "passes/OptimizerRules.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

// torch.optim.SGD (1.13, _single_tensor_sgd), operation for operation:
//   d = maximize ? -g : g;  d = d + wd * p
//   buf = step == 0 ? d : buf * momentum + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf;  p = p + (-lr) * d
// With a cycled momentum m (a runtime scalar), the same with m, except that
// a step at m == 0 keeps the buffer and d, as torch skips the momentum then.
struct SgdUpdateLowering : OpConversionPattern<SgdUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SgdUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    double momentum = op.getMomentum().convertToDouble();
    double dampening = op.getDampening().convertToDouble();
    double wd = op.getWeightDecay().convertToDouble();
    bool nesterov = op.getNesterov(), maximize = op.getMaximize();
    bool hasBuffer = static_cast<bool>(adaptor.getMomentumBuffer());
    // Scalars are read once, outside the elementwise loop.
    Value negLr = rewriter.create<arith::NegFOp>(
        loc, extractScalar(rewriter, loc, adaptor.getLr()));
    Value cycled, active;
    if (adaptor.getCycledMomentum()) {
      cycled = extractScalar(rewriter, loc, adaptor.getCycledMomentum());
      active = rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, cycled,
                                              f32Const(rewriter, loc, 0.0));
    }
    Value firstStep = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::eq,
        extractScalar(rewriter, loc, adaptor.getStep()),
        rewriter.create<arith::ConstantOp>(loc, rewriter.getI64IntegerAttr(0)));
    SmallVector<Value> inputs{adaptor.getParam(), adaptor.getGrad()};
    if (hasBuffer)
      inputs.push_back(adaptor.getMomentumBuffer());
    auto results = broadcastElementwise(
        rewriter, loc, op.getParam().getType().getShape(), inputs,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value p = a[0], d = a[1];
          if (maximize)
            d = b.create<arith::NegFOp>(l, d);
          if (wd != 0)
            d = b.create<arith::AddFOp>(
                l, d, b.create<arith::MulFOp>(l, f32Const(b, l, wd), p));
          Value buf;
          if (hasBuffer) {
            Value m = cycled ? cycled : f32Const(b, l, momentum);
            Value decayed = b.create<arith::MulFOp>(l, a[2], m);
            Value fresh = b.create<arith::AddFOp>(
                l, decayed,
                b.create<arith::MulFOp>(l, f32Const(b, l, 1 - dampening), d));
            buf = b.create<arith::SelectOp>(l, firstStep, d, fresh);
            Value stepped =
                nesterov
                    ? b.create<arith::AddFOp>(l, d, b.create<arith::MulFOp>(l, m, buf)).getResult()
                    : buf;
            if (active) {
              buf = b.create<arith::SelectOp>(l, active, buf, a[2]);
              d = b.create<arith::SelectOp>(l, active, stepped, d);
            } else {
              d = stepped;
            }
          }
          Value newP = b.create<arith::AddFOp>(
              l, p, b.create<arith::MulFOp>(l, negLr, d));
          if (hasBuffer)
            return {newP, buf};
          return {newP};
        },
        hasBuffer ? 2 : 1);
    rewriter.replaceOp(op, results);
    return success();
  }
};

// nn.optimizer_update: the named optimizer's rule (passes/optim/) emits
// its per-step scalars here, before the loop, and the loop body. Its
// scalar states (0-d, after the tensor states) are read and written by
// that prologue, outside the loop.
struct OptimizerUpdateLowering : OpConversionPattern<OptimizerUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OptimizerUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    const optim::OptimizerRule *rule = optim::lookup(op.getOptimizer());
    if (!rule)
      return op.emitOpError("unknown optimizer '") << op.getOptimizer() << "'";
    optim::Hyper hyper(op.getHyper());
    if (std::string key = hyper.malformed(); !key.empty())
      return op.emitOpError("hyper-parameter '") << key << "' is not a number, flag or pair";
    if (std::string problem = rule->check(hyper); !problem.empty())
      return op.emitOpError(rule->name) << ": " << problem;
    size_t numStates = rule->states(hyper).size();
    size_t numScalars = rule->scalarStates ? rule->scalarStates(hyper).size() : 0;
    if (numStates + numScalars != adaptor.getStates().size())
      return op.emitOpError(rule->name)
             << " keeps " << numStates + numScalars << " state tensors per parameter, got "
             << adaptor.getStates().size();
    ValueRange tensorStates = adaptor.getStates().take_front(numStates);
    ValueRange scalarStates = adaptor.getStates().drop_front(numStates);
    for (auto [i, state] : llvm::enumerate(scalarStates))
      if (cast<RankedTensorType>(state.getType()).getRank() != 0)
        return op.emitOpError(rule->name) << " state #" << numStates + i << " must be a 0-d tensor";
    for (auto [i, state] : llvm::enumerate(tensorStates))
      if (state.getType() != adaptor.getParam().getType())
        return op.emitOpError(rule->name) << " state #" << i << " must have the param's type";
    Location loc = op.getLoc();
    optim::Arith scalars{rewriter, loc};
    Value step = extractScalar(rewriter, loc, adaptor.getStep());
    if (adaptor.getCycledMomentum() && !rule->cycledMomentum)
      return op.emitOpError(rule->name) << " has no hyper-parameter a scheduler can cycle";
    optim::StepScalars s{
        scalars.toF64(extractScalar(rewriter, loc, adaptor.getLr())),
        rewriter.create<arith::SIToFPOp>(loc, rewriter.getF64Type(), step),
        rewriter.create<arith::CmpIOp>(
            loc, arith::CmpIPredicate::eq, step,
            rewriter.create<arith::ConstantOp>(loc, rewriter.getI64IntegerAttr(0))),
        adaptor.getCycledMomentum()
            ? scalars.toF64(extractScalar(rewriter, loc, adaptor.getCycledMomentum()))
            : Value()};
    SmallVector<Value> newScalars;
    for (Value state : scalarStates)
      s.scalarStates.push_back(extractScalar(rewriter, loc, state));
    s.newScalarStates = &newScalars;
    optim::UpdateBody body = rule->prepare(scalars, hyper, s);
    if (newScalars.size() != numScalars)
      return op.emitOpError(rule->name) << " computed " << newScalars.size()
                                        << " new scalar states, expected " << numScalars;
    if (rule->lazyRows != static_cast<bool>(adaptor.getRows()))
      return op.emitOpError(rule->name)
             << (rule->lazyRows ? " updates the rows of a sparse gradient: it needs `rows`"
                                : " takes no `rows` (it updates every element)");
    SmallVector<Value> inputs{adaptor.getParam(), adaptor.getGrad()};
    llvm::append_range(inputs, tensorStates);
    if (adaptor.getRows())
      inputs.push_back(adaptor.getRows()); // broadcast, last
    SmallVector<Value> results = llvm::to_vector(broadcastElementwise(
        rewriter, loc, op.getParam().getType().getShape(), inputs,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          optim::Arith e{b, l};
          if (!adaptor.getRows())
            return body(e, a);
          // Lazy: where the sparse gradient has no entry, the parameter
          // and its states keep their values (torch adds nothing there).
          // `a`: param, grad, states, rows, then the outputs' block
          // arguments; the body reads param, grad and states only.
          SmallVector<Value> updated = body(e, a);
          Value touched = e.gt(a[2 + numStates], e.f32(0));
          for (size_t i = 0; i < updated.size(); ++i)
            updated[i] = e.select(touched, updated[i], i == 0 ? a[0] : a[1 + i]);
          return updated;
        },
        1 + numStates));
    for (Value scalar : newScalars)
      results.push_back(rewriter.create<tensor::FromElementsOp>(
          loc, RankedTensorType::get({}, scalar.getType()), scalar));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void kiln::populateLowerOptimizersPatterns(RewritePatternSet &patterns) {
  patterns.add<SgdUpdateLowering, OptimizerUpdateLowering>(patterns.getContext());
}
