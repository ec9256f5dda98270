// What the activation families' files share (Activation.cpp, Softmax.cpp,
// ...): a small builder of primitive nn ops for decompositions written in
// the importer.
#ifndef KILN_FRONTEND_IMPORT_ACTIVATION_H
#define KILN_FRONTEND_IMPORT_ACTIVATION_H

#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

namespace kiln::import {

/// Elementwise nn ops at a call's location, result types inferred (a shape
/// error becomes the call's model-file error). k(v) is an f32 scalar
/// constant, which broadcasts against anything.
struct Ew {
  BuildContext &c;
  mlir::Value k(double v);
  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value sub(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  mlir::Value div(mlir::Value a, mlir::Value b);
  mlir::Value minimum(mlir::Value a, mlir::Value b);
  mlir::Value exp(mlir::Value a);
  mlir::Value log(mlir::Value a);
  mlir::Value log1p(mlir::Value a);
  mlir::Value tanh(mlir::Value a);
  mlir::Value abs(mlir::Value a);
  mlir::Value neg(mlir::Value a);
  mlir::Value cmp(nn::ComparePredicate p, mlir::Value a, mlir::Value b);
  mlir::Value where(mlir::Value mask, mlir::Value a, mlir::Value b);
};

/// `dim` of the call's input (negative counts from the end); fails the call
/// with torch's message when out of range.
int64_t normalisedDim(BuildContext &c, int64_t dim);

/// log_softmax(x) along `dim` (normalised), as (x - m) - log(sum(exp(x - m)))
/// with m = amax(x) detached: subtracting the maximum keeps exp from
/// overflowing, and since the result does not depend on m, no gradient
/// flows through it (Softmax.cpp).
mlir::Value logSoftmax(BuildContext &c, mlir::Value x, int64_t dim);
/// softmax(x) along `dim` (normalised), as exp(x - m) / sum(exp(x - m)),
/// m detached as in logSoftmax. A row of -inf only gives NaN, as torch.
mlir::Value softmax(BuildContext &c, mlir::Value x, int64_t dim);

/// Softmax, LogSoftmax, Softmin, Softmax2d, GLU (Softmax.cpp).
void registerSoftmaxFamily(Registry &r);
/// PReLU, RReLU (Rectifier.cpp).
void registerRectifierFamily(Registry &r);
/// AdaptiveLogSoftmaxWithLoss (AdaptiveSoftmax.cpp).
void registerAdaptiveSoftmaxFamily(Registry &r);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_ACTIVATION_H
