// kiln-unshare-fills: before bufferization, a linalg.fill whose tensor
// several ops write into (their destination) is cloned for each of them.
//
// Why: CSE merges identical fills, e.g. every zero accumulator a gradient
// starts from. One-shot bufferization then gives the fill one buffer, and
// every further op that writes into it gets a copy of that buffer first:
// W1's train step filled one 128 x 512 buffer with zeros and copied it (256
// KiB written, then 256 KiB read and written) only for the GEMM after it
// to add to those zeros. A fill of its own right before each writer costs
// no more than the copy did, and one that lands right before a contraction
// is folded into its GEMM call (kiln-cpu-gemm-to-runtime: accumulate = 0),
// so it costs nothing at all.
//
// Rule: for a linalg.fill of a tensor.empty with more than one use, each use
// as a destination (a DPS init, or an scf.forall's shared output) in the
// fill's block gets a clone of the fill and of its tensor.empty, inserted
// right before the user; other uses (reads) keep the original, which is
// erased when none is left.
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace kiln {
#define GEN_PASS_DEF_UNSHAREFILLS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `use` is an operand its owner writes into.
bool isDestination(OpOperand &use) {
  Operation *user = use.getOwner();
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(user))
    return dps.isDpsInit(&use);
  if (auto forall = dyn_cast<scf::ForallOp>(user))
    return use.getOperandNumber() >=
           forall.getNumOperands() - forall.getOutputs().size();
  return false;
}

struct UnshareFillsPass : kiln::impl::UnshareFillsBase<UnshareFillsPass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      if (!empty)
        continue; // a fill of a tensor with contents: leave it
      SmallVector<OpOperand *> destinations;
      // Users in the fill's block only: a clone inside a loop body would
      // fill (and allocate) once per iteration.
      for (OpOperand &use : fill->getResult(0).getUses())
        if (isDestination(use) && use.getOwner()->getBlock() == fill->getBlock())
          destinations.push_back(&use);
      for (OpOperand *use : destinations) {
        OpBuilder b(use->getOwner());
        Operation *freshEmpty = b.clone(*empty);
        IRMapping map;
        map.map(empty.getResult(), freshEmpty->getResult(0));
        use->set(b.clone(*fill, map)->getResult(0));
      }
      if (fill->use_empty())
        fill->erase();
      if (empty->use_empty())
        empty->erase();
    }
  }
};

} // namespace
