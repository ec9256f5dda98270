// What the packed-sequence functions (PackedSequence.cpp) share with the
// recurrent layers that take a packed sequence (Recurrent.cpp).
//
// A torch.nn.utils.rnn.PackedSequence is, in a model file, two values: its
// data in the padded time-major layout [T, B, *] (zeros past each
// sequence's length) and its int64 lengths [B], in the caller's batch
// order. torch packs the valid steps of the sorted batch into [sum(lengths),
// *]; the values at the valid steps are the same, and every consumer
// (RNN / LSTM / GRU, pad_packed_sequence, unpack_sequence) reads only those,
// so no sort and no scatter is needed and the shapes stay static.
#ifndef KILN_FRONTEND_IMPORT_PACKEDSEQUENCE_H
#define KILN_FRONTEND_IMPORT_PACKEDSEQUENCE_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// Whether a call's operand at `index` is a packed sequence's lengths (an
/// int64 value): RNN / LSTM / GRU then take (data, lengths, states...).
bool isPackedLengths(mlir::ValueRange operands, size_t index);

/// The lengths as f32 [B, 1]: read from a constant 0..steps, so the
/// runtime refuses a length outside [0, steps] before any kernel runs.
mlir::Value packedLengthsColumn(BuildContext &c, mlir::Value lengths, int64_t steps);

/// x[from:to] along `dim` (nn.slice, step 1): the unrolled steps' reads of
/// the recurrent layers and the packed functions' cuts.
mlir::Value sliceAlong(BuildContext &c, mlir::Value x, int64_t dim, int64_t from, int64_t to);

/// Bool [B, 1]: whether step `t` is inside each sequence (t < length),
/// from packedLengthsColumn's value.
mlir::Value packedStepValid(BuildContext &c, mlir::Value lengthsColumn, int64_t t);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_PACKEDSEQUENCE_H
