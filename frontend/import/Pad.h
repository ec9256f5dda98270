// Padding built from nn.slice + nn.concat, shared by the convolutions'
// padding modes (Conv.cpp) and the padding layers (Padding.cpp): torch's
// F.pad is separable, so each padded dimension is one nn.concat of side
// pieces around the input, and the gradient comes from the adjoints of
// nn.slice, nn.broadcast_to and nn.concat.
#ifndef KILN_FRONTEND_IMPORT_PAD_H
#define KILN_FRONTEND_IMPORT_PAD_H

#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

namespace kiln::import {

/// Reflection padding is built from one slice per padded row (nn.slice has
/// no negative step): bounded so that a model file cannot ask for millions
/// of ops, and so that compile time stays reasonable (about a minute of
/// LLVM for 64 rows on both sides of a 65x65 input, trained).
constexpr int64_t kMaxReflectPadding = 64;

/// Elements [start, end) of dimension `dim` of x.
inline mlir::Value sliceDim(BuildContext &c, mlir::Value x, int64_t dim,
                            int64_t start, int64_t end) {
  mlir::OpBuilder &b = c.builder();
  auto shape = nn::shapeOf(x);
  llvm::SmallVector<int64_t> lo(shape.size(), 0), hi(shape),
      step(shape.size(), 1);
  lo[dim] = start;
  hi[dim] = end;
  return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(lo),
                               b.getDenseI64ArrayAttr(hi),
                               b.getDenseI64ArrayAttr(step));
}

/// x padded by (lo[i], hi[i]) along dimension firstDim + i, as torch's
/// F.pad(mode=mode, value=value). Preconditions (the caller checks them
/// with its own messages): lo, hi >= 0; reflect: lo, hi < n and at most
/// kMaxReflectPadding; circular: lo, hi <= n. Along one dimension of size n:
///   constant:  value lo times   | x | value hi times
///   reflect:   x[lo], ..., x[1] | x | x[n-2], ..., x[n-1-hi]
///   replicate: x[0] lo times    | x | x[n-1] hi times
///   circular:  x[n-lo:n]        | x | x[0:hi]
inline mlir::Value padSeparable(BuildContext &c, mlir::Value x, int64_t firstDim,
                                llvm::ArrayRef<int64_t> lo,
                                llvm::ArrayRef<int64_t> hi,
                                const std::string &mode, double value = 0.0) {
  mlir::OpBuilder &b = c.builder();
  for (size_t i = 0; i < lo.size(); ++i) {
    int64_t dim = static_cast<int64_t>(i) + firstDim, n = nn::shapeOf(x)[dim];
    if (lo[i] == 0 && hi[i] == 0)
      continue;
    // Side pieces: `count` rows ending at `edge` (constant, replicate: one
    // value or row broadcast), one row per padded index (reflect) or one
    // slice (circular).
    llvm::SmallVector<mlir::Value> pieces;
    auto broadcastTo = [&](mlir::Value v, int64_t count) {
      llvm::SmallVector<int64_t> shape(nn::shapeOf(x));
      shape[dim] = count;
      return c.create<nn::BroadcastToOp>(nn::f32Tensor(b.getContext(), shape), v);
    };
    auto side = [&](int64_t count, bool before) {
      if (count == 0)
        return;
      if (mode == "constant") {
        pieces.push_back(
            broadcastTo(nn::scalarConstant(b, c.loc(), value), count));
      } else if (mode == "circular") {
        pieces.push_back(before ? sliceDim(c, x, dim, n - count, n)
                                : sliceDim(c, x, dim, 0, count));
      } else if (mode == "replicate") {
        int64_t edge = before ? 0 : n - 1;
        pieces.push_back(broadcastTo(sliceDim(c, x, dim, edge, edge + 1), count));
      } else {
        for (int64_t k = 1; k <= count; ++k) {
          int64_t at = before ? count + 1 - k : n - 1 - k;
          pieces.push_back(sliceDim(c, x, dim, at, at + 1));
        }
      }
    };
    side(lo[i], true);
    pieces.push_back(x);
    side(hi[i], false);
    x = c.create<nn::ConcatOp>(mlir::ValueRange(pieces),
                               b.getI64IntegerAttr(dim));
  }
  return x;
}

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_PAD_H
