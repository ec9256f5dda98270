// What the loss families' files share (Loss.cpp, LossPointwise.cpp).
//
// A loss is registered twice: as a training-section loss (EntryKind::Loss,
// operands: what training.loss.inputs names, by default the first model
// outputs then the target) and as its functional form
// (a graph function, F.l1_loss(input, target, ...)), which is how a user
// writes a loss of their own over graph values, `reduction="none"` and a
// reduction of their choice included. One build function serves both; the
// `Site` says where a bad target is reported.
#ifndef KILN_FRONTEND_IMPORT_LOSS_H
#define KILN_FRONTEND_IMPORT_LOSS_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// The ranked tensor type of a loss operand (every graph value has one).
inline mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// torch's reduction="mean" | "sum" | "none".
OptionSpec reductionOption();

/// Where a loss's target comes from: the training section's target (errors
/// at training.target) or a graph value (errors at the call).
enum class LossSite { Training, Graph };

/// Fails at the target's JSON path for `site`.
[[noreturn]] void failTarget(BuildContext &c, LossSite site,
                             const std::string &message);

/// `perElement` reduced as the call's "reduction" option says (mean over
/// every element, sum, or none).
mlir::Value reduceLoss(BuildContext &c, mlir::Value perElement);

/// Losses with one float input and a float target of its shape (L1,
/// Huber, SmoothL1, SoftMargin, BCE, BCEWithLogits, PoissonNLL, KLDiv,
/// MultiLabelSoftMargin) and their functional forms (LossPointwise.cpp).
void registerPointwiseLosses(Registry &r);

/// Losses of several float inputs (MarginRanking, CosineEmbedding,
/// GaussianNLL, TripletMargin, TripletMarginWithDistance) and their
/// functional forms (LossMultiInput.cpp).
void registerMultiInputLosses(Registry &r);

/// MultiMarginLoss and MultiLabelMarginLoss: int64 class-index targets
/// (LossClassMargin.cpp).
void registerClassMarginLosses(Registry &r);

/// CTCLoss and F.ctc_loss: log_probs and int64 targets and lengths
/// (LossCtc.cpp).
void registerCtcLoss(Registry &r);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_LOSS_H
