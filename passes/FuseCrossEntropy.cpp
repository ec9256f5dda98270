// nn-fuse-cross-entropy (Passes.td): a cross_entropy_loss and the
// cross_entropy_loss_backward of the same logits, targets and attributes
// become one nn.cross_entropy_loss_with_grad, so the softmax statistics are
// computed once and one loop yields the loss and the gradient.
#include "passes/Passes.h"

#include "mlir/IR/Dominance.h"

namespace kiln {
#define GEN_PASS_DEF_FUSECROSSENTROPY
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

bool sameLoss(CrossEntropyLossOp forward, CrossEntropyLossBackwardOp backward) {
  return forward.getInput() == backward.getInput() &&
         forward.getTarget() == backward.getTarget() &&
         forward.getReduction() == backward.getReduction() &&
         forward.getLabelSmoothing() == backward.getLabelSmoothing() &&
         forward.getIgnoreIndex() == backward.getIgnoreIndex();
}

/// Where the fused op can stand: before the forward when the backward's
/// incoming gradient is already defined there (the constant 1 of a loss
/// seed), else before the backward when nothing reads the loss before it.
/// Null when neither holds (the gradient depends on the loss value).
Operation *fusedPosition(DominanceInfo &dom, CrossEntropyLossOp forward,
                         CrossEntropyLossBackwardOp backward) {
  if (dom.properlyDominates(backward.getGrad(), forward))
    return forward;
  bool lossReadEarlier = llvm::any_of(forward->getUsers(), [&](Operation *user) {
    return !dom.properlyDominates(backward.getOperation(), user);
  });
  return lossReadEarlier ? nullptr : backward.getOperation();
}

struct FuseCrossEntropyPass
    : kiln::impl::FuseCrossEntropyBase<FuseCrossEntropyPass> {
  using Base::Base;
  void runOnOperation() override {
    DominanceInfo dom(getOperation());
    SmallVector<CrossEntropyLossBackwardOp> backwards;
    getOperation().walk(
        [&](CrossEntropyLossBackwardOp op) { backwards.push_back(op); });
    for (CrossEntropyLossBackwardOp backward : backwards) {
      CrossEntropyLossOp forward;
      for (Operation *user : backward.getInput().getUsers())
        if (auto candidate = dyn_cast<CrossEntropyLossOp>(user))
          if (candidate->getBlock() == backward->getBlock() &&
              sameLoss(candidate, backward))
            forward = candidate;
      if (!forward)
        continue;
      Operation *position = fusedPosition(dom, forward, backward);
      if (!position) {
        if (remarks)
          backward.emitRemark()
              << "fusion: cross_entropy_loss_backward not fused with its "
                 "forward: its incoming gradient is computed from the loss";
        continue;
      }
      OpBuilder b(position);
      auto fused = b.create<CrossEntropyLossWithGradOp>(
          b.getFusedLoc({forward.getLoc(), backward.getLoc()}),
          backward.getGrad(), forward.getInput(), forward.getTarget(),
          forward.getReductionAttr(), forward.getLabelSmoothingAttr(),
          forward.getIgnoreIndexAttr());
      if (remarks)
        fused.emitRemark() << "fusion: cross_entropy_loss and its backward "
                              "computed as one op (softmax statistics once)";
      forward.getResult().replaceAllUsesWith(fused.getLoss());
      backward.getResult().replaceAllUsesWith(fused.getInputGrad());
      forward.erase();
      backward.erase();
    }
  }
};

} // namespace
