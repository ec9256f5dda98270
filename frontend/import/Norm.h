// What the normalization layers share (BatchNorm.cpp, InstanceNorm.cpp,
// Normalization.cpp): normalising with batch statistics is nn.batch_norm
// (one fused forward and backward for every layer, ir/NNNormOps.td); the
// affine maps, running statistics and normalising with given statistics
// (eval mode) are elementwise nn ops.
#ifndef KILN_FRONTEND_IMPORT_NORM_H
#define KILN_FRONTEND_IMPORT_NORM_H

#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

namespace kiln::import {

void registerBatchNormEntries(Registry &r);
void registerInstanceNormEntries(Registry &r);

inline std::string normStr(int64_t v) { return std::to_string(v); }

inline Init normOnes() { return Init{Init::Ones, 0, 0}; }

/// A per-channel [C] value viewed as [C, 1, ..., 1] so that it broadcasts
/// against an [N, C, *] input of `rank` dimensions (channel dimension 1).
inline mlir::Value channelView(BuildContext &c, mlir::Value v, size_t rank) {
  llvm::SmallVector<int64_t> shape{nn::shapeOf(v)[0]};
  shape.append(rank - 2, 1);
  return nn::reshapeTo(c.builder(), c.loc(), v,
                       nn::f32Tensor(c.builder().getContext(), shape));
}

/// `v` (any shape with C elements) as a [C] vector.
inline mlir::Value asVector(BuildContext &c, mlir::Value v, int64_t channels) {
  return nn::reshapeTo(c.builder(), c.loc(), v,
                       nn::f32Tensor(c.builder().getContext(), {channels}));
}

/// Mean of x over `dims`, keeping them as size 1.
inline mlir::Value meanKeep(BuildContext &c, mlir::Value x,
                            llvm::ArrayRef<int64_t> dims) {
  mlir::OpBuilder &b = c.builder();
  return c.create<nn::MeanOp>(x, b.getDenseI64ArrayAttr(dims), b.getUnitAttr());
}

/// A [C] tensor of `value`.
inline mlir::Value channelConstant(BuildContext &c, int64_t channels, double value) {
  mlir::OpBuilder &b = c.builder();
  return b.create<mlir::arith::ConstantOp>(
      c.loc(), mlir::DenseElementsAttr::get(nn::f32Tensor(b.getContext(), {channels}),
                                            b.getF32FloatAttr(value)));
}

/// nn.batch_norm of an [N, C, *] x: normalised with each channel's batch
/// statistics (mean and biased variance over N and *), then `weight` and
/// `bias` per channel (ones and zeros when null). `meanOut` / `varOut`
/// receive the [C] statistics. `sync`: statistics of the data-parallel
/// group's whole batch (SyncBatchNorm; nn.batch_norm's `sync`).
inline mlir::Value batchNormalize(BuildContext &c, mlir::Value x, mlir::Value weight,
                                  mlir::Value bias, double eps,
                                  mlir::Value *meanOut = nullptr,
                                  mlir::Value *varOut = nullptr, bool sync = false) {
  int64_t channels = nn::shapeOf(x)[1];
  mlir::Value y = c.create<nn::BatchNormOp>(
      x, weight ? weight : channelConstant(c, channels, 1.0),
      bias ? bias : channelConstant(c, channels, 0.0), c.builder().getF64FloatAttr(eps),
      sync ? c.builder().getUnitAttr() : mlir::UnitAttr());
  mlir::Operation *op = y.getDefiningOp();
  if (meanOut)
    *meanOut = op->getResult(1);
  if (varOut)
    *varOut = op->getResult(2);
  return y;
}

/// (x - mean) * rsqrt(var + eps) with mean and the biased variance of x
/// over `dims` (torch's normalisation; the variance as the mean of squared
/// deviations). The dimensions not in `dims` must be consecutive: x is
/// viewed as [P, K, Q] with K their product and normalised by nn.batch_norm
/// (K channels), so every normalisation layer shares its fused kernels and
/// backward. `meanOut` / `varOut` receive the statistics (kept dims, the
/// reduced ones as size 1).
inline mlir::Value normalizeOver(BuildContext &c, mlir::Value x,
                                 llvm::ArrayRef<int64_t> dims, double eps,
                                 mlir::Value *meanOut = nullptr,
                                 mlir::Value *varOut = nullptr) {
  mlir::OpBuilder &b = c.builder();
  mlir::MLIRContext *ctx = b.getContext();
  llvm::SmallVector<int64_t> shape(nn::shapeOf(x));
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t first = rank, last = -1;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(dims, d)) {
      first = std::min(first, d);
      last = d;
    }
  int64_t p = 1, k = 1, q = 1;
  llvm::SmallVector<int64_t> statShape;
  for (int64_t d = 0; d < rank; ++d) {
    bool kept = first <= d && d <= last;
    assert((!kept || !llvm::is_contained(dims, d)) && "kept dimensions must be consecutive");
    (kept ? k : d < first ? p : q) *= shape[d];
    statShape.push_back(kept ? shape[d] : 1);
  }
  mlir::Value view = nn::reshapeTo(b, c.loc(), x, nn::f32Tensor(ctx, {p, k, q}));
  mlir::Value mean, var;
  mlir::Value y = batchNormalize(c, view, {}, {}, eps, &mean, &var);
  auto statType = nn::f32Tensor(ctx, statShape);
  if (meanOut)
    *meanOut = nn::reshapeTo(b, c.loc(), mean, statType);
  if (varOut)
    *varOut = nn::reshapeTo(b, c.loc(), var, statType);
  return nn::reshapeTo(b, c.loc(), y, nn::tensorType(x));
}

/// (x - mean) * rsqrt(var + eps) with given statistics (running stats).
inline mlir::Value normalizeWith(BuildContext &c, mlir::Value x,
                                 mlir::Value mean, mlir::Value var, double eps) {
  mlir::Value invStd = c.create<nn::RsqrtOp>(
      c.create<nn::AddOp>(var, nn::scalarConstant(c.builder(), c.loc(), eps)));
  return c.create<nn::MulOp>(c.create<nn::SubOp>(x, mean), invStd);
}

/// Sets the running statistics to torch's update (batch_norm_cpu's
///   running = (1 - factor) * running + factor * batch
/// with the unbiased batch variance, var * n / (n - 1)). `mean` and `var`
/// have C elements; `factor` is an f32 scalar tensor. `sync`: the batch is
/// the data-parallel group's, n per process, so n * world size in all.
inline void updateRunningStats(BuildContext &c, mlir::Value mean, mlir::Value var,
                               int64_t n, mlir::Value factor, int64_t channels,
                               bool sync = false) {
  mlir::OpBuilder &b = c.builder();
  mlir::Location loc = c.loc();
  mlir::Value keep = c.create<nn::SubOp>(nn::scalarConstant(b, loc, 1.0), factor);
  auto blend = [&](const char *name, mlir::Value batch) {
    mlir::Value decayed = c.create<nn::MulOp>(c.buffer(name), keep);
    mlir::Value fresh = c.create<nn::MulOp>(asVector(c, batch, channels), factor);
    c.setBuffer(name, c.create<nn::AddOp>(decayed, fresh));
  };
  blend("running_mean", mean);
  mlir::Value unbiased;
  if (sync) {
    mlir::Value all = c.create<nn::MulOp>(
        b.create<nn::WorldSizeOp>(loc, nn::f32Tensor(b.getContext(), {})).getResult(),
        nn::scalarConstant(b, loc, static_cast<double>(n)));
    mlir::Value correction = c.create<nn::DivOp>(
        all, c.create<nn::SubOp>(all, nn::scalarConstant(b, loc, 1.0)));
    unbiased = c.create<nn::MulOp>(var, correction);
  } else {
    unbiased = c.create<nn::MulOp>(
        var, nn::scalarConstant(b, loc, static_cast<double>(n) / static_cast<double>(n - 1)));
  }
  blend("running_var", unbiased);
}

/// The declarations of _NormBase: weight (ones) and bias (zeros) [C] when
/// `affine`; running_mean (zeros), running_var (ones) [C] and the int64
/// scalar num_batches_tracked when tracking, in torch's state_dict order.
inline void declareNormBase(LayerDecl &decl, int64_t channels, bool affine,
                            bool tracking) {
  if (affine) {
    decl.addParameter("weight", {channels}, normOnes());
    decl.addParameter("bias", {channels}, Init());
  }
  if (tracking) {
    decl.addBuffer("running_mean", {channels}, Init());
    decl.addBuffer("running_var", {channels}, normOnes());
    decl.addBuffer("num_batches_tracked", {}, Init(), /*isInt64=*/true);
  }
}

/// The num_features option; a lazy layer's is 0 when the DSL's forward
/// never called it (its size is unknown).
inline int64_t numFeatures(const Options &o, const std::string &layer) {
  int64_t c = o.getInt("num_features");
  if (c == 0)
    fail(o.pathOf("num_features"),
         layer + " was never called in the traced forward: its num_features, taken from "
                 "its first input, is unknown");
  return c;
}

/// The functional forms' optional [C] operand `index` (F.batch_norm's and
/// F.instance_norm's running_mean, running_var, weight, bias), or null
/// when the call has fewer operands.
inline mlir::Value channelOperand(BuildContext &c, unsigned index, const char *name,
                                  int64_t channels) {
  if (c.operands().size() <= index)
    return {};
  mlir::Value v = c.operands()[index];
  if (nn::shapeOf(v) != llvm::ArrayRef<int64_t>{channels})
    c.fail(std::string(name) + " (input " + normStr(index) + ") must be [" +
           normStr(channels) + "] for the input's " + normStr(channels) +
           " channels, got " + nn::shapeStr(nn::shapeOf(v)));
  return v;
}

/// y * weight + bias per channel for the functional forms, each when given.
inline mlir::Value affineOperands(BuildContext &c, mlir::Value y, size_t rank,
                                  mlir::Value weight, mlir::Value bias) {
  if (weight)
    y = c.create<nn::MulOp>(y, channelView(c, weight, rank));
  if (bias)
    y = c.create<nn::AddOp>(y, channelView(c, bias, rank));
  return y;
}

/// y * weight + bias per channel, when the layer has them.
inline mlir::Value affinePerChannel(BuildContext &c, mlir::Value y, size_t rank) {
  mlir::Value w = c.parameter("weight");
  if (!w)
    return y;
  return c.create<nn::AddOp>(c.create<nn::MulOp>(y, channelView(c, w, rank)),
                             channelView(c, c.parameter("bias"), rank));
}

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_NORM_H
