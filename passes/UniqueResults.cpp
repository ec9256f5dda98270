// kiln-unique-results: before bufferization, every tensor a function returns
// becomes a value of its own.
//
// Why: function results become caller-provided out-parameters
// (buffer-results-to-out-params). MLIR 19's pass crashes when one value is
// returned twice, and a returned function argument or constant would alias
// an input or a read-only global. Such returns are legitimate here: the
// bias gradients of two batch norms feeding one add are the same sum of the
// same incoming gradient (CSE merges them; a ResNet's projection block has
// exactly that), and a parameter that does not reach the loss has the
// constant zero as its gradient.
//
// Rule, per func.return: an operand that is a ranked tensor and (a) already
// appeared as an earlier operand, (b) a block argument, or (c) a constant,
// is replaced by a linalg.copy of it into a fresh tensor.empty.
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_UNIQUERESULTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct UniqueResultsPass : kiln::impl::UniqueResultsBase<UniqueResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      OpBuilder b(ret);
      llvm::SmallPtrSet<Value, 8> seen;
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type)
          continue;
        bool repeated = !seen.insert(v).second;
        if (!repeated && !isa<BlockArgument>(v) && !matchPattern(v, m_Constant()))
          continue;
        Value empty = b.create<tensor::EmptyOp>(ret.getLoc(), type.getShape(),
                                                type.getElementType());
        operand.set(
            b.create<linalg::CopyOp>(ret.getLoc(), v, empty).getResult(0));
      }
    });
  }
};

} // namespace
